"""Read a Hugging Face BERT checkpoint directory into the project's DNABERT encoder.

A directory as ``save_pretrained`` writes it (or as DNABERT ships it): ``config.json``,
the weights in ``model.safetensors`` or ``pytorch_model.bin`` (or shards listed by
``model.safetensors.index.json`` / ``pytorch_model.bin.index.json``) and, optionally,
DNABERT's ``vocab.txt``. Nothing is fetched from a hub: the directory is read as it is.
Safetensors files are parsed here (8-byte header length, JSON header, raw little-endian
arrays), so no extra package is needed; ``.bin`` files go through ``torch.load`` with
``weights_only=True``.

What maps (``BertModel``, ``BertForMaskedLM`` and the other ``BertFor*`` models, whose keys
start with ``bert.``): post-LayerNorm BERT, i.e. word / absolute position / token-type
embeddings + LayerNorm, ``num_hidden_layers`` layers of self-attention (query, key, value ->
``in_proj``; output dense -> ``out_proj``; its LayerNorm -> ``norm1``), intermediate dense +
GELU (``hidden_act`` ``gelu``, or its tanh approximation ``gelu_new`` /
``gelu_pytorch_tanh`` / ``gelu_fast``) -> ``linear1``, output dense -> ``linear2`` and its
LayerNorm -> ``norm2``, every LayerNorm with the checkpoint's ``layer_norm_eps``; the
masked-LM head ``cls.predictions`` (transform dense + GELU + LayerNorm, decoder tied to the
word embeddings, bias) when present. The project's encoder takes no token-type ids (reads are
one segment, type 0): the type-0 embedding is added to every position embedding, which is
what BERT computes for all-zero ``token_type_ids``.

Dropped, and listed in ``meta["hf"]["unused"]``: the pooler, the next-sentence head and a
task head (``classifier.*``); the project's classifier pools the hidden states itself.
Refused with a one-line :class:`~biometal.errors.ConfigError` naming the directory and the
key: another ``model_type``, custom code (``auto_map``, e.g. DNABERT-2), a decoder or
cross-attention, relative position embeddings, another activation, a missing or misshapen
weight, a weight nothing maps to, an MLM decoder not tied to the word embeddings.
``attention_probs_dropout_prob`` is not kept apart: the encoder has one dropout rate,
``hidden_dropout_prob`` (this changes training only, not eval outputs).
"""

from __future__ import annotations

import json
import logging
import os
import re
import struct
from pathlib import Path

import torch

from biometal.errors import BiometalError, ConfigError
from biometal.ml.dnabert.model import BertConfig, BertMLM

log = logging.getLogger(__name__)

#: Hugging Face ``hidden_act`` -> :attr:`BertConfig.activation`
HF_ACTIVATIONS = {
    "gelu": "gelu",
    "gelu_python": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")
_ST_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
#: keys read and not used: pooler, next-sentence / task heads, non-weight buffers
_UNUSED = re.compile(
    r"^(pooler\.|cls\.seq_relationship\.|classifier\.|qa_outputs\.|"
    r"embeddings\.position_ids$|embeddings\.token_type_ids$)"
)


# ----------------------------------------------------------------------------- files


def read_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """All tensors of a ``.safetensors`` file (the format's header + raw arrays; CPU,
    their stored dtypes). Raises :class:`ConfigError` naming the file on a malformed one."""
    path = Path(path)
    try:
        data = bytearray(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(data) < 8:
        raise ConfigError(f"{path}: not a safetensors file (shorter than its 8-byte header)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ConfigError(f"{path}: not a safetensors file (header of {n} bytes past the end)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a safetensors file (header: {exc})") from None
    if not isinstance(header, dict):
        raise ConfigError(f"{path}: not a safetensors file (header is not a JSON object)")
    start = 8 + n
    out: dict[str, torch.Tensor] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype = _ST_DTYPES[info["dtype"]]
            shape = [int(s) for s in info["shape"]]
            begin, end = (int(o) for o in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"{path}: tensor {name!r}: unsupported or malformed entry {info!r}"
            ) from None
        itemsize = torch.empty(0, dtype=dtype).element_size()
        count = 1
        for s in shape:
            count *= s
        if not 0 <= begin <= end <= len(data) - start or end - begin != count * itemsize:
            raise ConfigError(
                f"{path}: tensor {name!r}: data offsets {begin}..{end} do not hold "
                f"{info['dtype']} {shape} within the file"
            )
        if count == 0:
            out[name] = torch.empty(shape, dtype=dtype)
            continue
        flat = torch.frombuffer(data, dtype=dtype, count=count, offset=start + begin)
        out[name] = flat.reshape(shape)
    return out


def _read_weights_file(path: Path) -> dict[str, torch.Tensor]:
    if path.name.endswith(".safetensors"):
        return read_safetensors(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a torch pickle it cannot read: one line naming the file
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{path}: cannot read the weights: {msg}") from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ConfigError(f"{path}: not a state dict of tensors")
    return state


def read_state_dict(directory: str | os.PathLike) -> tuple[dict[str, torch.Tensor], str]:
    """(the tensors, the weights file name) of a Hugging Face model directory: single
    ``model.safetensors`` first, then ``pytorch_model.bin``, then a sharded index."""
    d = Path(directory)
    for name in WEIGHT_FILES:
        if (d / name).is_file():
            return _read_weights_file(d / name), name
    for name in INDEX_FILES:
        if (d / name).is_file():
            try:
                weight_map = json.loads((d / name).read_text())["weight_map"]
                shards = sorted(set(weight_map.values()))
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise ConfigError(f"{d / name}: not a weights index ({exc})") from None
            state: dict[str, torch.Tensor] = {}
            for shard in shards:
                state.update(_read_weights_file(d / shard))
            return state, name
    raise ConfigError(
        f"{d}: no weights ({', '.join(WEIGHT_FILES + INDEX_FILES)}) in the Hugging Face directory"
    )


def read_config(directory: str | os.PathLike) -> dict:
    """``config.json`` of a Hugging Face model directory, as a dict."""
    d = Path(directory)
    if not d.is_dir():
        raise ConfigError(f"{d}: no such Hugging Face model directory")
    path = d / "config.json"
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing (not a Hugging Face model directory)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: not a JSON object")
    return cfg


# ----------------------------------------------------------------------------- config


def bert_config(cfg: dict, where: str | os.PathLike = "config.json") -> BertConfig:
    """The :class:`BertConfig` of a Hugging Face BERT ``config.json`` (post-norm,
    its eps and GELU); :class:`ConfigError` naming ``where`` and the key for what the
    encoder cannot represent."""

    def bad(key: str, why: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: {why}")

    model_type = cfg.get("model_type", "bert")
    if model_type != "bert":
        raise bad("model_type", f"{model_type!r} is not a BERT model (only 'bert' is read)")
    if cfg.get("auto_map"):
        raise bad("auto_map", "the model needs its own code (e.g. DNABERT-2); not a plain BERT")
    for key in ("is_decoder", "add_cross_attention"):
        if cfg.get(key):
            raise bad(key, "decoders / cross-attention are not supported (encoder only)")
    pos = cfg.get("position_embedding_type", "absolute")
    if pos != "absolute":
        raise bad("position_embedding_type", f"{pos!r} is not supported (absolute only)")
    act = cfg.get("hidden_act", "gelu")
    if not isinstance(act, str) or act not in HF_ACTIVATIONS:
        raise bad("hidden_act", f"{act!r} is not supported ({', '.join(HF_ACTIVATIONS)})")

    def integer(key: str, default: int | None = None, low: int = 1) -> int:
        v = cfg.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise bad(key, f"expected an integer >= {low}, got {v!r}")
        return v

    def number(key: str, default: float, low: float, high: float) -> float:
        v = cfg.get(key, default)
        if isinstance(v, bool) or not isinstance(v, int | float) or not low <= v <= high:
            raise bad(key, f"expected a number in [{low:g}, {high:g}], got {v!r}")
        return float(v)

    hidden = integer("hidden_size")
    heads = integer("num_attention_heads")
    if hidden % heads:
        raise bad("num_attention_heads", f"{heads} does not divide hidden_size {hidden}")
    vocab = integer("vocab_size")
    pad = cfg.get("pad_token_id", 0)
    pad = 0 if pad is None else pad
    if isinstance(pad, bool) or not isinstance(pad, int) or not 0 <= pad < vocab:
        raise bad("pad_token_id", f"expected an id in 0..{vocab - 1}, got {pad!r}")
    return BertConfig(
        vocab_size=vocab,
        max_length=integer("max_position_embeddings", 512),
        hidden=hidden,
        layers=integer("num_hidden_layers"),
        heads=heads,
        ff=integer("intermediate_size"),
        dropout=number("hidden_dropout_prob", 0.1, 0.0, 1.0),
        pad_id=pad,
        norm_first=False,
        layer_norm_eps=number("layer_norm_eps", 1e-12, 0.0, 1.0),
        activation=HF_ACTIVATIONS[act],
    )


# ----------------------------------------------------------------------------- weights


def _rename_legacy(key: str) -> str:
    """TF-era LayerNorm names (``gamma`` / ``beta``) as transformers renames them."""
    if "LayerNorm" in key:
        if key.endswith(".gamma"):
            return key[: -len("gamma")] + "weight"
        if key.endswith(".beta"):
            return key[: -len("beta")] + "bias"
    return key


def map_state_dict(
    hf: dict[str, torch.Tensor], config: BertConfig, where: str | os.PathLike
) -> tuple[dict[str, torch.Tensor], list[str], bool]:
    """(the encoder's state dict entries, the unused Hugging Face keys, whether the
    masked-LM head was present) of a Hugging Face BERT state dict."""
    hf = {_rename_legacy(k): v for k, v in hf.items()}
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in hf else ""
    used: set[str] = set()

    def take(key: str, full: bool = False) -> torch.Tensor:
        name = key if full else prefix + key
        if name not in hf:
            raise ConfigError(f"{where}: missing weight {name!r}")
        used.add(name)
        return hf[name].to(torch.float32)

    out: dict[str, torch.Tensor] = {
        "tokens.weight": take("embeddings.word_embeddings.weight"),
        "norm.weight": take("embeddings.LayerNorm.weight"),
        "norm.bias": take("embeddings.LayerNorm.bias"),
    }
    pos = take("embeddings.position_embeddings.weight")
    tt_key = prefix + "embeddings.token_type_embeddings.weight"
    if tt_key in hf:
        tt = take(tt_key, full=True)
        if tt.ndim != 2 or tt.shape[0] < 1 or pos.ndim != 2 or tt.shape[1] != pos.shape[1]:
            raise ConfigError(f"{where}: {tt_key!r}: shape {tuple(tt.shape)}, want (types, hidden)")
        pos = pos + tt[0]  # type 0 on every position: what BERT adds for a single segment
    out["positions.weight"] = pos
    for i in range(config.layers):
        src = f"encoder.layer.{i}."
        dst = f"encoder.layers.{i}."
        att = src + "attention."
        qkv = ("query", "key", "value")
        out[dst + "self_attn.in_proj_weight"] = torch.cat(
            [take(f"{att}self.{n}.weight") for n in qkv]
        )
        out[dst + "self_attn.in_proj_bias"] = torch.cat([take(f"{att}self.{n}.bias") for n in qkv])
        for ours, theirs in (
            ("self_attn.out_proj", "attention.output.dense"),
            ("norm1", "attention.output.LayerNorm"),
            ("linear1", "intermediate.dense"),
            ("linear2", "output.dense"),
            ("norm2", "output.LayerNorm"),
        ):
            for p in ("weight", "bias"):
                out[f"{dst}{ours}.{p}"] = take(f"{src}{theirs}.{p}")
    has_mlm = any(k.startswith("cls.predictions.") for k in hf)
    if has_mlm:
        t = "cls.predictions.transform."
        for ours, theirs in (("head.0", "dense"), ("head.2", "LayerNorm")):
            for p in ("weight", "bias"):
                out[f"{ours}.{p}"] = take(f"{t}{theirs}.{p}", full=True)
        bias_key = next(
            (k for k in ("cls.predictions.bias", "cls.predictions.decoder.bias") if k in hf),
            "cls.predictions.bias",
        )
        out["bias"] = take(bias_key, full=True)
        used.add("cls.predictions.decoder.bias")
        dec = "cls.predictions.decoder.weight"
        if dec in hf:
            used.add(dec)
            if hf[dec].shape != out["tokens.weight"].shape or not torch.equal(
                hf[dec].to(torch.float32), out["tokens.weight"]
            ):
                raise ConfigError(
                    f"{where}: {dec!r} is not tied to the word embeddings "
                    "(the encoder's masked-LM decoder is the word embedding matrix)"
                )
    unused, unknown = [], []
    for k in hf:
        if k in used:
            continue
        (
            unused if _UNUSED.match(k[len(prefix) :] if k.startswith(prefix) else k) else unknown
        ).append(k)
    if unknown:
        more = f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""
        raise ConfigError(
            f"{where}: weight {unknown[0]!r}{more} has no place in a post-norm BERT encoder "
            f"of {config.layers} layers"
        )
    return out, sorted(unused), has_mlm


def load_hf_bert(directory: str | os.PathLike, *, stride: int = 1) -> tuple[BertMLM, dict]:
    """(encoder in eval mode, metadata) of a Hugging Face BERT directory.

    ``meta``: ``model`` (the :class:`BertConfig` as a dict), ``tokenizer`` (``k``,
    ``stride``, ``vocab``: the token list, from ``vocab.txt``; None without a k-mer
    ``vocab.txt``) and ``hf`` (``dir``, ``weights`` file, ``architectures``, ``mlm_head``:
    whether ``cls.predictions`` was loaded, else the MLM head keeps its initialisation,
    ``unused`` keys).
    """
    from biometal.ml.tokenizer import KmerTokenizer

    d = Path(directory)
    cfg = read_config(d)
    config = bert_config(cfg, d / "config.json")
    hf, weights = read_state_dict(d)
    try:
        mapped, unused, has_mlm = map_state_dict(hf, config, d / weights)
    except RuntimeError as exc:  # e.g. query / key / value of different shapes
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"{d / weights}: inconsistent weight shapes: {msg}") from None
    model = BertMLM(config)
    own = model.state_dict()
    for key, value in mapped.items():
        if tuple(value.shape) != tuple(own[key].shape):
            raise ConfigError(
                f"{d / weights}: weight for {key!r} has shape {tuple(value.shape)}, the "
                f"config.json asks for {tuple(own[key].shape)}"
            )
    if not has_mlm:
        mapped = {**own, **mapped}
    model.load_state_dict(mapped, strict=True)
    model.eval()
    tokenizer = None
    vocab = d / "vocab.txt"
    if vocab.is_file():
        try:
            tok = KmerTokenizer.from_vocab_file(vocab, stride)
        except BiometalError as exc:
            log.info("%s: not a k-mer vocabulary (%s); no tokenizer", vocab, exc)
        else:
            if tok.vocab_size != config.vocab_size:
                raise ConfigError(
                    f"{vocab}: {tok.vocab_size} tokens, config.json vocab_size {config.vocab_size}"
                )
            if tok.pad_id != config.pad_id:
                raise ConfigError(
                    f"{vocab}: [PAD] is id {tok.pad_id}, config.json pad_token_id {config.pad_id}"
                )
            tokenizer = {"k": tok.k, "stride": tok.stride, "vocab": list(tok.vocab)}
    if unused:
        log.info("%s: not used: %s", d, ", ".join(unused))
    meta = {
        "model": config.to_dict(),
        "tokenizer": tokenizer,
        "hf": {
            "dir": os.fspath(d),
            "weights": weights,
            "architectures": cfg.get("architectures"),
            "mlm_head": has_mlm,
            "unused": unused,
        },
    }
    return model, meta


def load_tokenizer(meta: dict):
    """The :class:`~biometal.ml.tokenizer.KmerTokenizer` of :func:`load_hf_bert`'s
    ``meta`` (the directory's own vocabulary order)."""
    from biometal.ml.tokenizer import KmerTokenizer

    tok = meta.get("tokenizer")
    if not tok:
        raise ConfigError(f"{meta['hf']['dir']}: no k-mer vocab.txt: cannot tokenize reads")
    return KmerTokenizer(tok["k"], tok["stride"], tok["vocab"])
