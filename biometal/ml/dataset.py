"""Streaming DNABERT training data: a torch ``IterableDataset`` over FASTQ files or URLs.

Reads are streamed through the foundation reader (plain, gzip, http(s), ``-`` for stdin) in
chunks of ``chunk_reads``; nothing beyond one chunk per worker is held, so memory does not
grow with the input. Each chunk is tokenized in one kernel call
(:class:`~biometal.ml.tokenizer.KmerTokenizer`), masked for MLM and cut into ready batches.

Sharding. Chunks are numbered globally across the inputs (``paths_or_urls`` in order); a
process with ``R`` ranks x ``W`` DataLoader workers has ``R*W`` shards and shard
``rank*W + worker`` takes chunks ``c`` with ``c % (R*W) == rank*W + worker``. Every read is
therefore seen exactly once per epoch over all workers and ranks, whatever their number
(each worker parses the whole stream and tokenizes only its own chunks). The rank and world
size come from the ``rank``/``world_size`` arguments, else from ``torch.distributed`` when it
is initialised, else 0 and 1. Standard input cannot be shared: with more than one shard
``-`` is an error.

Determinism. The random choices of chunk ``c`` in epoch ``e`` (MLM positions, 80/10/10
replacement, reverse-complement augmentation) come from ``numpy.random.default_rng((seed,
e, c))``, so the batches do not depend on the number of workers or ranks, nor on whether a
file is read locally or from a URL. :meth:`DnaBertDataset.set_epoch` moves to the next
epoch.

Batches (``batch_size`` reads, fewer at the end of each chunk-aligned run; dicts of torch
tensors, padded to the longest read of the batch or to ``max_length``):

- ``input_ids`` int64[B, L], ``attention_mask`` int64[B, L] (1 on tokens, 0 on padding);
- ``labels`` int64[B, L]: the original token where MLM selected it, -100 elsewhere.
  Selection: each eligible k-mer token with probability ``mlm_probability`` (with
  ``mlm_span = s > 1``, centres with probability ``mlm_probability / s``, each masking
  the ``s`` tokens around it, DNABERT's contiguous masking); of the selected tokens 80%
  become ``[MASK]``, 10% a random k-mer token, 10% stay;
- ``token_weights`` float32[B, L] when ``return_weights`` (or ``quality_aware="weight"``):
  ``prod(1 - p_error)`` of the token's bases (:func:`biometal.ml.quality.token_weights`);
- ``candidate_ids`` int64[B, L, top], ``candidate_probs`` float32[B, L, top] with
  ``quality_aware="probabilistic"`` (:func:`biometal.ml.quality.candidate_tokens`);
  MLM-selected positions get their input token with probability 1;
- ``read_index`` int64[B] when ``return_read_index``: 0-based index of each read in the
  concatenated inputs.

Quality-aware masking (``quality_aware="mask"`` or ``True``): a k-mer with a base below
``quality_threshold`` enters as ``[MASK]``, is never an MLM target and has label -100.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from biometal._threads import set_numba_threads
from biometal.errors import BiometalError, ConfigError
from biometal.io.fastx import ReadChunk, read_fastq_chunks
from biometal.ml import quality as q
from biometal.ml.tokenizer import KmerTokenizer

IGNORE_INDEX = -100

__all__ = ["DnaBertDataset", "IGNORE_INDEX", "iterate_loader", "mlm_mask"]


def mlm_mask(
    ids: np.ndarray,
    eligible: np.ndarray,
    rng: np.random.Generator,
    *,
    mlm_probability: float,
    mask_id: int,
    kmer_ids: np.ndarray,
    span: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """BERT masking of ``ids`` int32[n, L] where ``eligible`` bool[n, L].

    Returns (input ids int64[n, L], labels int64[n, L] with -100 where not selected).
    See the module docstring for the 80/10/10 rule and ``span``.
    """
    n, length = ids.shape
    if span <= 1:
        selected = rng.random((n, length)) < mlm_probability
    else:
        centres = rng.random((n, length)) < mlm_probability / span
        selected = np.zeros((n, length), bool)
        lo = -(span // 2)
        for d in range(lo, lo + span):
            if d < 0:
                selected[:, :d] |= centres[:, -d:]
            elif d > 0:
                selected[:, d:] |= centres[:, :-d]
            else:
                selected |= centres
    selected &= eligible
    labels = np.where(selected, ids, IGNORE_INDEX).astype(np.int64)
    inputs = ids.astype(np.int64)
    u = rng.random((n, length))
    to_mask = selected & (u < 0.8)
    to_random = selected & (u >= 0.8) & (u < 0.9)
    inputs[to_mask] = mask_id
    n_random = int(to_random.sum())
    if n_random:
        inputs[to_random] = kmer_ids[rng.integers(0, len(kmer_ids), n_random)]
    return inputs, labels


def _worker_error(exc: Exception) -> BiometalError | None:
    """The one-line error a DataLoader worker raised, when it was a BiometalError.

    torch re-raises a worker's exception in the main process (as its own type when that
    takes one message argument, else as a RuntimeError) with the text ``Caught X in
    DataLoader worker process N.`` plus the worker's traceback, ending ``module.X: message``.
    """
    text = str(exc).rstrip()
    if not (text.startswith("Caught ") and "DataLoader worker" in text.split("\n", 1)[0]):
        return None
    name, sep, message = text.splitlines()[-1].partition(": ")
    module, _, cls = name.rpartition(".")
    if not sep or not module:
        return None
    try:
        klass = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError):
        return None
    if isinstance(klass, type) and issubclass(klass, BiometalError):
        return BiometalError(message)
    return None


def iterate_loader(loader: Iterable[Any]) -> Iterator[Any]:
    """Iterate a ``DataLoader``; a user-facing error raised in a worker process (a bad or
    truncated input, a dropped connection: a :class:`~biometal.errors.BiometalError`) is
    raised here as that one-line error instead of torch's RuntimeError with a traceback."""
    it = iter(loader)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except Exception as exc:
            err = _worker_error(exc)
            if err is None:
                raise
            raise err from None
        yield batch


def _distributed() -> tuple[int, int]:
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


class DnaBertDataset(IterableDataset):
    """Streaming DNABERT MLM batches from FASTQ paths or URLs (see the module docstring).

    ``paths_or_urls``: one or several inputs (path, ``.gz``, ``http(s)://``, ``-``).
    ``k``/``stride``/``max_length``: tokenization (``max_length`` tokens per read, specials
    included; longer reads are truncated). ``quality_aware``: False, True/"mask", "weight"
    or "probabilistic"; ``quality_threshold``: Phred threshold of mask/probabilistic.
    ``mlm_probability`` (0 disables masking: labels all -100), ``mlm_span``, ``seed``.
    ``batch_size``: reads per yielded batch (use ``DataLoader(ds, batch_size=None)``).
    ``chunk_reads``: reads parsed and tokenized at a time (rounded up to a multiple of
    ``batch_size``; the unit of sharding). ``max_reads``: use only the first N reads of
    the inputs (0: all). ``reverse_complement``: probability of tokenizing a read's reverse
    complement. ``pad_to_max_length``: pad every batch to ``max_length``.
    ``rank``/``world_size``: distributed shard (default: torch.distributed or 0/1).
    ``tokenizer``: a :class:`KmerTokenizer` to use (e.g. from a vocab.txt) instead of k/stride.
    """

    def __init__(
        self,
        paths_or_urls: str | os.PathLike | Sequence[str | os.PathLike],
        k: int = 6,
        max_length: int = 512,
        stride: int = 1,
        quality_aware: bool | str = False,
        quality_threshold: int = 20,
        mlm_probability: float = 0.15,
        seed: int = 0,
        *,
        batch_size: int = 32,
        chunk_reads: int = 4096,
        mlm_span: int = 1,
        return_weights: bool = False,
        return_read_index: bool = False,
        candidates: int = 4,
        reverse_complement: float = 0.0,
        pad_to_max_length: bool = False,
        max_reads: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        tokenizer: KmerTokenizer | None = None,
        backend: str | None = None,
    ) -> None:
        super().__init__()
        if isinstance(paths_or_urls, str | os.PathLike):
            paths_or_urls = [paths_or_urls]
        self.paths = [os.fspath(p) for p in paths_or_urls]
        if not self.paths:
            raise ConfigError("DnaBertDataset: no input paths or URLs given")
        self.tokenizer = tokenizer or KmerTokenizer(k, stride, backend=backend)
        self.k, self.stride = self.tokenizer.k, self.tokenizer.stride
        if quality_aware is True:
            quality_aware = "mask"
        if quality_aware not in (False, None, "", "none", *q.MODES):
            raise ConfigError(
                f"DnaBertDataset: quality_aware must be False, True or one of "
                f"{', '.join(q.MODES)}; got {quality_aware!r}"
            )
        self.quality_aware = quality_aware if quality_aware in q.MODES else None
        if max_length < 2:
            raise ConfigError(f"DnaBertDataset: max_length must be >= 2, got {max_length}")
        if not 0.0 <= mlm_probability <= 1.0:
            raise ConfigError(
                f"DnaBertDataset: mlm_probability must be in [0, 1], got {mlm_probability}"
            )
        if batch_size < 1 or chunk_reads < 1 or mlm_span < 1 or candidates < 1:
            raise ConfigError(
                "DnaBertDataset: batch_size, chunk_reads, mlm_span and candidates must be >= 1"
            )
        if not 0.0 <= reverse_complement <= 1.0:
            raise ConfigError(
                f"DnaBertDataset: reverse_complement must be in [0, 1], got {reverse_complement}"
            )
        self.max_length = int(max_length)
        self.quality_threshold = int(quality_threshold)
        self.mlm_probability = float(mlm_probability)
        self.mlm_span = int(mlm_span)
        self.seed = int(seed)
        self.batch_size = int(batch_size)
        self.chunk_reads = -(-int(chunk_reads) // self.batch_size) * self.batch_size
        self.return_weights = bool(return_weights) or self.quality_aware == "weight"
        self.return_read_index = bool(return_read_index)
        self.candidates = int(candidates)
        self.reverse_complement = float(reverse_complement)
        self.pad_to_max_length = bool(pad_to_max_length)
        self.max_reads = int(max_reads)
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use the random choices of ``epoch`` (call before iterating, in every rank)."""
        self.epoch = int(epoch)

    def shard(self) -> tuple[int, int]:
        """(this shard, number of shards) for the current process and DataLoader worker."""
        rank, world = self.rank, self.world_size
        if rank is None or world is None:
            d_rank, d_world = _distributed()
            rank = d_rank if rank is None else rank
            world = d_world if world is None else world
        if not 0 <= rank < world:
            raise ConfigError(f"DnaBertDataset: rank {rank} not in 0..world_size-1 ({world})")
        info = get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        return rank * n_workers + worker, world * n_workers

    # ------------------------------------------------------------------ iteration

    def _chunks(self, shard: int, n_shards: int) -> Iterator[tuple[int, int, ReadChunk]]:
        """(global chunk index, index of its first read, chunk) of this shard."""
        c = first = 0
        for path in self.paths:
            for chunk in read_fastq_chunks(path, self.chunk_reads):
                if self.max_reads and first + len(chunk) > self.max_reads:
                    take = self.max_reads - first
                    if take <= 0:
                        return
                    end = int(chunk.offsets[take])
                    chunk = ReadChunk(
                        chunk.codes[:end], chunk.qual[:end], chunk.offsets[: take + 1]
                    )
                if c % n_shards == shard:
                    yield c, first, chunk
                c += 1
                first += len(chunk)
                if self.max_reads and first >= self.max_reads:
                    return

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        shard, n_shards = self.shard()
        if n_shards > 1 and "-" in self.paths:
            raise ConfigError(
                f"DnaBertDataset: standard input ('-') cannot be shared by {n_shards} "
                "workers/ranks; use num_workers=0 and one rank, or a file"
            )
        if get_worker_info() is not None:
            # one core per DataLoader worker, for the worker's life (not restored: the worker
            # process only ever runs this iterator)
            set_numba_threads(1)
        for c, first, chunk in self._chunks(shard, n_shards):
            yield from self._batches(c, first, chunk)

    def _batches(self, c: int, first: int, chunk: ReadChunk) -> Iterator[dict[str, torch.Tensor]]:
        tok = self.tokenizer
        rng = np.random.default_rng((self.seed, self.epoch, c))
        n = len(chunk)
        rc = None
        if self.reverse_complement > 0:
            rc = (rng.random(n) < self.reverse_complement).astype(np.uint8)
        mode = self.quality_aware
        mask_below = self.quality_threshold if mode == "mask" else 0
        toks = tok.encode_chunk(
            chunk, max_length=self.max_length, mask_below=mask_below, reverse_complement=rc
        )
        eligible = q.kmer_positions(toks.n_tokens, self.max_length)
        if mode == "mask":
            eligible &= toks.ids != tok.mask_id
        if self.mlm_probability > 0:
            inputs, labels = mlm_mask(
                toks.ids,
                eligible,
                rng,
                mlm_probability=self.mlm_probability,
                mask_id=tok.mask_id,
                kmer_ids=tok.kmer_ids,
                span=self.mlm_span,
            )
        else:
            inputs = toks.ids.astype(np.int64)
            labels = np.full(inputs.shape, IGNORE_INDEX, np.int64)
        extra: dict[str, np.ndarray] = {}
        if self.return_weights:
            extra["token_weights"] = q.token_weights(
                chunk.qual,
                chunk.offsets,
                tok.k,
                stride=tok.stride,
                max_length=self.max_length,
                rc=rc,
            )
        if mode == "probabilistic":
            cand, prob = q.candidate_tokens(
                chunk.codes,
                chunk.qual,
                chunk.offsets,
                tok.lut,
                toks.ids,
                tok.k,
                threshold=self.quality_threshold,
                top=self.candidates,
                stride=tok.stride,
                rc=rc,
            )
            chosen = labels != IGNORE_INDEX
            cand[chosen] = inputs[chosen][:, None]
            prob[chosen] = 0.0
            prob[chosen, 0] = 1.0
            extra["candidate_ids"] = cand.astype(np.int64)
            extra["candidate_probs"] = prob
        n_tok = toks.n_tokens.astype(np.int64)
        for s in range(0, n, self.batch_size):
            e = min(n, s + self.batch_size)
            width = self.max_length if self.pad_to_max_length else int(n_tok[s:e].max(initial=1))
            cols = np.arange(width)
            # one storage for the three int64 arrays: a DataLoader worker hands the batch
            # over in one shared-memory segment instead of three (fewer IPC round trips)
            block = np.empty((3, e - s, width), np.int64)
            block[0] = inputs[s:e, :width]
            np.less(cols[None, :], n_tok[s:e, None], out=block[1], casting="unsafe")
            block[2] = labels[s:e, :width]
            packed = torch.from_numpy(block)
            batch: dict[str, Any] = {
                "input_ids": packed[0],
                "attention_mask": packed[1],
                "labels": packed[2],
            }
            for key, arr in extra.items():
                batch[key] = torch.from_numpy(np.ascontiguousarray(arr[s:e, :width]))
            if self.return_read_index:
                batch["read_index"] = torch.arange(first + s, first + e, dtype=torch.int64)
            yield batch

    def __repr__(self) -> str:
        return (
            f"DnaBertDataset({self.paths!r}, k={self.k}, stride={self.stride}, "
            f"max_length={self.max_length}, quality_aware={self.quality_aware!r})"
        )
