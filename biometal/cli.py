"""The ``biometal`` command: the library's standalone tools, one subcommand each.

Each handler parses nothing and decides nothing: it turns the options into one call of a
library function (imported inside the handler, so that ``biometal --help`` does not load
numpy, numba or pandas). Errors in the user's input (:class:`biometal.errors.BiometalError`,
:class:`biometal.kernels.BackendError`, a file that cannot be opened or written) end the
command with one line ``biometal SUB: error: MESSAGE`` on stderr and exit status 1; usage
errors exit 2 (argparse); Ctrl-C exits 130. Outputs are written to a temporary name and
renamed when complete, so a failed run leaves no partial file.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Callable, Sequence

from biometal import __version__
from biometal._startup import keep_freed_memory, prepare_numba

PROG = "biometal"

#: commands that call no BLAS (numpy's matrix products are in the ML commands and the
#: RNA-seq matrices step): numpy's OpenBLAS, and scipy's that numba's start-up loads, start
#: one thread, not a pool per core that spins on import, unless OPENBLAS_NUM_THREADS is set
#: (~0.05 s of CPU on 2 cores, README "Case study: population calling"; `biometal
#: fastmap`: ~0.2 s, README "Seed filter")
NO_BLAS = frozenset(
    {"pileup", "call", "joint", "index", "quant", "fmindex", "fastmap", "align", "tokenize"}
    | {"vcf", "intervals", "coverage", "config", "trim", "assemble"}
)
#: short per-sample jobs: glibc keeps their freed memory (biometal._startup.keep_freed_memory)
SHORT_JOBS = frozenset({"pileup", "call", "joint"})

EXIT_OK = 0
EXIT_ERROR = 1  # bad input: a missing or malformed file, an unusable backend, ...
EXIT_USAGE = 2  # bad command line (argparse)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
EXIT_BROKEN_PIPE = 141  # standard output closed early, e.g. `| head` (128 + SIGPIPE)

EXIT_CODES = f"""exit status:
  {EXIT_OK}    success
  {EXIT_ERROR}    error in the input: a missing, unreadable or malformed file, an unusable
       compute backend (one line on stderr: 'biometal COMMAND: error: MESSAGE')
  {EXIT_USAGE}    command-line usage error (unknown option, missing or invalid argument)
  {EXIT_INTERRUPTED}  interrupted (Ctrl-C); no partial output file is left behind
  {EXIT_BROKEN_PIPE}  standard output was closed before the command finished (e.g. '| head')"""

DESCRIPTION = """\
biometal: streaming, GPU-accelerated (Metal; numba on the CPU) genomics tools.

'-' stands for standard input where a command reads FASTA/FASTQ and for standard output
where it writes text. Compressed (gzip/BGZF) inputs are recognised by content."""

EPILOG = f"""\
Run 'biometal COMMAND --help' for the options of a command.

environment:
  BIOMETAL_BACKEND   compute backend when --backend is not given: auto | cpu | metal

{EXIT_CODES}"""


# ------------------------------------------------------------------ argument types


def _int_range(lo: int, hi: int | None = None, odd: bool = False) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < lo or (hi is not None and value > hi) or (odd and value % 2 == 0):
            want = f">= {lo}" if hi is None else f"in {lo}..{hi}"
            raise argparse.ArgumentTypeError(
                f"expected an {'odd ' if odd else ''}integer {want}, got {value}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in 0..1, got {value}")
    return value


def _sizes(text: str) -> list[int]:
    try:
        sizes = [int(b) for b in text.split(",")]
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers a,b,..., got {text!r}")
    return sizes


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {value}")
    return value


def _file_out(text: str) -> str:
    """An output that must be a file (binary or indexed outputs): '-' is refused."""
    if text == "-":
        raise argparse.ArgumentTypeError("this output must be a file name, not '-'")
    return text


def _threads(args: argparse.Namespace) -> int:
    """--threads, or every core this process may use."""
    if args.threads is not None:
        return args.threads
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS
        return max(1, os.cpu_count() or 1)


# ------------------------------------------------------------------ shared options


def _common() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log progress and run statistics to stderr",
    )
    return p


def _threads_opt() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "-t",
        "--threads",
        type=_int_range(1),
        default=None,
        metavar="N",
        help="CPU threads (numba kernels, compression); default: all cores",
    )
    return p


def _backend_opt() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(
        "--backend",
        choices=("auto", "cpu", "metal"),
        default=None,
        help="compute backend of the kernel: metal (Apple GPU), cpu (numba) or auto "
        "(metal when available); default: $BIOMETAL_BACKEND, else auto",
    )
    return p


def _pileup_filters(p: argparse.ArgumentParser, min_mapq: int) -> None:
    from_engine = "UNMAP,SECONDARY,QCFAIL,DUP"  # biometal.pileup.engine.DEFAULT_EXCLUDE
    g = p.add_argument_group("read and base filters (as samtools mpileup)")
    g.add_argument(
        "-q",
        "--min-mapq",
        type=_int_range(0),
        default=min_mapq,
        metavar="INT",
        help=f"skip reads with mapping quality below INT (default: {min_mapq})",
    )
    g.add_argument(
        "-Q",
        "--min-baseq",
        type=_int_range(0),
        default=13,
        metavar="INT",
        help="skip bases with base quality below INT (default: 13)",
    )
    g.add_argument(
        "--ff",
        default=from_engine,
        metavar="FLAGS",
        help=f"skip reads with any of these SAM flags, comma-separated names "
        f"(default: {from_engine})",
    )
    g.add_argument(
        "--rf",
        default="",
        metavar="FLAGS",
        help="keep only reads with at least one of these SAM flags (default: no filter)",
    )
    g.add_argument(
        "-A",
        "--count-orphans",
        action="store_true",
        help="keep paired reads that are not in a proper pair",
    )
    g.add_argument(
        "--region-size",
        type=_int_range(1000),
        default=100_000,
        metavar="BP",
        help="reference positions per kernel call; bounds memory (default: 100000)",
    )


def _calling_options(p: argparse.ArgumentParser, *, joint: bool = False) -> None:
    """The calling options; ``joint``: with the joint step's own (``biometal joint``).
    Their defaults are :class:`~biometal.variants.params.CallParams`'."""
    from biometal.variants.params import CallParams as D

    g = p.add_argument_group("calling")
    g.add_argument(
        "--min-depth",
        type=_int_range(0),
        default=D.min_depth,
        metavar="N",
        help=f"FILTER LowDepth below N reads (default: {D.min_depth})",
    )
    g.add_argument(
        "--min-alt-reads",
        type=_int_range(1),
        default=D.min_alt_reads,
        metavar="N",
        help=f"fewest ALT reads for a candidate (default: {D.min_alt_reads})",
    )
    g.add_argument(
        "--min-af",
        type=_fraction,
        default=D.min_af,
        metavar="F",
        help=f"smallest ALT fraction for a candidate (default: {D.min_af:g})",
    )
    g.add_argument(
        "--min-qual",
        type=float,
        default=D.min_qual,
        metavar="Q",
        help=f"LowQual below this QUAL (default: {D.min_qual:g})",
    )
    if joint:
        g.add_argument(
            "--joint-min-qual",
            type=float,
            default=D.joint_min_qual,
            metavar="Q",
            help=f"joint genotyping: LowQual below this QUAL (default: {D.joint_min_qual:g})",
        )
    g.add_argument(
        "--theta",
        type=float,
        default=D.theta,
        metavar="P",
        help=f"SNP heterozygosity prior (default: {D.theta:g})",
    )
    g.add_argument(
        "--indel-theta",
        type=float,
        default=D.indel_theta,
        metavar="P",
        help=f"indel heterozygosity prior (default: {D.indel_theta:g})",
    )
    g.add_argument(
        "--indel-error",
        type=float,
        default=D.indel_error,
        metavar="P",
        help=f"per-read indel error rate (default: {D.indel_error:g})",
    )
    g.add_argument(
        "--overdispersion",
        type=float,
        default=D.overdispersion,
        metavar="RHO",
        help=f"beta-binomial overdispersion of sequencing errors (default: {D.overdispersion:g})",
    )
    g.add_argument(
        "--max-error-pvalue",
        type=_fraction,
        default=D.max_error_pvalue,
        metavar="P",
        help=f"ErrorLike when the beta-binomial P is above this (default: {D.max_error_pvalue:g})",
    )
    g.add_argument("--no-snps", action="store_true", help="do not call SNPs")
    g.add_argument("--no-indels", action="store_true", help="do not call indels")


def _pileup_params(args: argparse.Namespace):
    from biometal.pileup.engine import PileupParams

    return PileupParams(
        min_mapq=args.min_mapq,
        min_baseq=args.min_baseq,
        exclude_flags=tuple(f for f in args.ff.split(",") if f.strip()),
        include_flags=tuple(f for f in args.rf.split(",") if f.strip()),
        count_orphans=args.count_orphans,
        region_size=args.region_size,
        backend=args.backend,
        threads=_threads(args),
    )


# ------------------------------------------------------------------ handlers


def _run_pileup(args: argparse.Namespace) -> None:
    from biometal.pileup.tsv import write_pileup_tsv

    write_pileup_tsv(
        args.bam,
        args.out,
        _pileup_params(args),
        reference=args.reference,
        all_positions=args.all_positions,
        compresslevel=args.compress_level,
    )


def _calling_params(args: argparse.Namespace):
    from biometal.variants.call import CallParams

    return CallParams(
        min_depth=args.min_depth,
        min_alt_reads=args.min_alt_reads,
        min_af=args.min_af,
        min_qual=args.min_qual,
        **({"joint_min_qual": args.joint_min_qual} if "joint_min_qual" in args else {}),
        theta=args.theta,
        indel_theta=args.indel_theta,
        indel_error=args.indel_error,
        overdispersion=args.overdispersion,
        max_error_pvalue=args.max_error_pvalue,
        snps=not args.no_snps,
        indels=not args.no_indels,
    )


def _bgzf_vcf_name(out: str) -> None:
    """A bgzipped, indexed VCF goes to a name that says so (``biometal joint REF j.vcf``
    wrote BGZF and a .tbi under a plain ``.vcf`` name)."""
    from biometal.errors import BiometalError

    if not out.endswith((".gz", ".bgz")):
        raise BiometalError(
            f"{out}: the VCF is written bgzipped with a .tbi index; name it OUT.vcf.gz"
        )


def _run_call(args: argparse.Namespace) -> None:
    from biometal.variants.call import call_variants

    _bgzf_vcf_name(args.out)
    call_variants(
        args.bam,
        args.reference,
        args.out,
        sample=args.sample,
        pileup=_pileup_params(args),
        calling=_calling_params(args),
    )


def _run_joint(args: argparse.Namespace) -> None:
    from biometal.errors import BiometalError
    from biometal.io.bam import check_bam
    from biometal.variants.call import bam_sample_name
    from biometal.variants.cohort_report import gvcf_joint_job
    from biometal.variants.gvcf import GvcfParams

    _bgzf_vcf_name(args.out)
    args.threads = 1  # one thread: the job is many short kernel calls (see the help)
    if args.samples:
        samples = _csv(args.samples)
        if len(samples) != len(args.bams):
            raise BiometalError(f"--samples: {len(samples)} names for {len(args.bams)} BAMs")
    else:
        samples = [bam_sample_name(b, check_bam(b, args.reference).read_groups) for b in args.bams]
    gvcf_dir = args.gvcf_dir or os.path.dirname(args.out) or "."
    cpu = args.cpu_dir
    # a sample name is text (an @RG SM may hold '/' or spaces), not a path: its file name
    # keeps letters, digits and _ . + - (the workflow's names are unchanged) and nothing
    # leaves --gvcf-dir / --cpu-dir
    stems = [re.sub(r"[^A-Za-z0-9_.+-]", "_", s).lstrip(".") or "sample" for s in samples]
    if len(set(stems)) < len(stems) == len(set(samples)):  # (equal names: checked later)
        raise BiometalError(
            f"samples {', '.join(samples)}: two of them give the same file name "
            f"({', '.join(stems)}); name them with --samples"
        )
    gvcf_joint_job(
        args.bams,
        samples,
        args.reference,
        [os.path.join(gvcf_dir, f"{s}.g.vcf.gz") for s in stems],
        [os.path.join(cpu, f"gvcf_{s}.json") for s in stems] if cpu else None,
        args.out,
        os.path.join(cpu, "joint.json") if cpu else None,
        pileup=_pileup_params(args),
        calling=_calling_params(args),
        gvcf=GvcfParams(gq_bands=tuple(args.gq_bands), evidence_min_alt=args.evidence_min_alt),
        backend=args.backend,
    )


def _run_index(args: argparse.Namespace) -> None:
    from biometal.rnaseq.index import index_transcriptome

    index_transcriptome(args.transcripts, args.index, args.stats, k=args.k)


def _run_quant(args: argparse.Namespace) -> None:
    from biometal.rnaseq.quant import quantify_sample

    quantify_sample(
        args.index,
        args.reads1,
        args.reads2,
        args.output,
        args.info,
        sample=args.sample or "",
        chunk_reads=args.chunk_reads,
        fragment_mean=args.fragment_mean,
        fragment_sd=args.fragment_sd,
        threads=_threads(args),
        single_overhang=args.single_overhang,
    )


def _run_fmindex(args: argparse.Namespace) -> None:
    from biometal.align.smem import fm_index_file

    fm_index_file(args.reference, args.index, seed=args.seed)


def _run_fastmap(args: argparse.Namespace) -> None:
    from biometal.align.smem import fastmap_file

    fastmap_file(
        args.index,
        args.reads,
        args.output,
        min_len=args.min_len,
        min_intv=args.min_intv,
        max_positions=args.max_positions,
        batch=args.batch,
        threads=_threads(args),
    )


def _run_align(args: argparse.Namespace) -> None:
    from biometal.align.files import align_files
    from biometal.align.scoring import Scoring

    scoring = Scoring(
        match=args.match,
        mismatch=args.mismatch,
        gap_open=args.gap_open,
        gap_extend=args.gap_extend,
    )
    align_files(
        args.queries,
        args.targets,
        args.output,
        scoring=scoring,
        mode=args.mode,
        band=args.band,
        traceback=not args.no_traceback,
        batch=args.batch,
        backend=args.backend,
        threads=_threads(args),
    )


def _run_tokenize(args: argparse.Namespace) -> None:
    from biometal.ml.tokenizer import KmerTokenizer, tokenize_file

    if args.vocab:
        tok = KmerTokenizer.from_vocab_file(args.vocab, args.stride, backend=args.backend)
    else:
        tok = KmerTokenizer(args.k, args.stride, backend=args.backend)
    if args.save_vocab:
        tok.save_vocabulary(args.save_vocab)
    tokenize_file(
        args.reads,
        args.output,
        tok,
        max_length=args.max_length,
        add_special_tokens=not args.no_special_tokens,
        mask_below=args.mask_below,
        chunk_reads=args.chunk_reads,
        threads=_threads(args),
    )


def _run_recalibrate(args: argparse.Namespace) -> None:
    from biometal.readqc.recalibrate import bqsr_recalibrate

    res = bqsr_recalibrate(
        args.fastq,
        args.output,
        table=args.table,
        bam=args.bam,
        reference=args.reference,
        known_sites=args.known_sites,
        save_table=args.save_table,
        max_bases=args.max_bases,
        mate=args.mate - 1,
        q_max=args.q_max,
        chunk_reads=args.chunk_reads,
    )
    logging.getLogger("biometal").info("recalibrate: %s", res)


def _run_qc(args: argparse.Namespace) -> None:
    from biometal.qc import sample_qc

    sample = args.sample
    if not sample:
        first = os.path.basename(args.fastq[0])
        sample = "stdin" if args.fastq[0] == "-" else first.split(".", 1)[0] or first
    sample_qc(
        sample,
        args.fastq,
        args.output,
        args.hist,
        quality_threshold=args.quality_threshold,
        chunk_reads=args.chunk_reads,
        backend=args.backend,
        threads=_threads(args),
    )


def _run_trim(args: argparse.Namespace) -> None:
    from biometal.readqc.adapters import trim_pairs, trim_single

    if (args.fastq2 is None) != (args.paired_output is None):
        from biometal.errors import BiometalError

        raise BiometalError("paired reads need both a second FASTQ and -p/--paired-output")
    if args.fastq2 is None:
        stats = trim_single(
            args.fastq,
            args.output,
            args.adapter,
            error_rate=args.error_rate,
            min_overlap=args.overlap,
            poly_g=args.poly_g,
            quality_cutoff=args.quality_cutoff,
            chunk_reads=args.chunk_reads,
            threads=_threads(args),
        )
    else:
        stats = trim_pairs(
            args.fastq,
            args.fastq2,
            args.output,
            args.paired_output,
            args.adapter,
            args.adapter2,
            poly_g=args.poly_g,
            quality_cutoff=args.quality_cutoff,
            chunk_reads=args.chunk_reads,
            threads=_threads(args),
        )
    logging.getLogger("biometal.cli").info("%s", " ".join(f"{k}={v}" for k, v in stats.items()))


def _run_vcf(args: argparse.Namespace) -> None:
    from biometal.io.vcf import write_query

    n = write_query(
        args.vcf,
        args.output,
        info=_csv(args.info),
        format=_csv(args.format),
        gt=not args.no_gt,
        region=_csv(args.region) or None,
        samples=_csv(args.samples) or None,
    )
    logging.getLogger("biometal.cli").info("records=%d", n)


def _run_intervals(args: argparse.Namespace) -> None:
    from biometal.errors import BiometalError
    from biometal.io.sinks import write_text_output
    from biometal.regions import intervals as ops
    from biometal.regions import read_bed, read_genome, write_bed

    strand = "same" if args.same_strand else "opposite" if args.opposite_strand else None
    a = read_bed(args.a)
    needs_b = args.op in ("intersect", "subtract", "closest", "coverage")
    if needs_b != (args.b is not None):
        raise BiometalError(f"intervals {args.op}: " + ("needs B.bed" if needs_b else "takes no B"))
    b = read_bed(args.b) if needs_b else None
    if args.op == "intersect":
        res = ops.intersect(a, b, mode=args.mode, strand=strand)
    elif args.op == "merge":
        cols = tuple(int(c) for c in _csv(args.columns))
        res = ops.merge(
            a,
            distance=args.distance,
            strand=strand is not None,
            columns=cols,
            ops=tuple(_csv(args.operation)),
        )
    elif args.op == "subtract":
        res = ops.subtract(a, b, strand=strand, whole=args.whole)
    elif args.op == "complement":
        if args.genome is None:
            raise BiometalError("intervals complement: needs -g GENOME (chrom sizes or .fai)")
        res = ops.complement(a, read_genome(args.genome))
    elif args.op == "closest":
        res = ops.closest(a, b, strand=strand, ties=args.ties)
    else:
        res = ops.coverage(a, b, strand=strand, counts_only=args.counts)
    if args.output == "-":  # bytes through the stdout sink: '| head' gives exit status 141
        write_text_output(args.output, "".join(line + "\n" for line in res.lines()))
    else:
        write_bed(res, args.output)
    logging.getLogger("biometal.cli").info("records=%d a_sorted=%s", len(res), a.is_sorted)


def _run_assemble(args: argparse.Namespace) -> None:
    from biometal.assembly.example_assembler import AssemblyParams, assemble_files

    stats = assemble_files(
        args.reads,
        f"{args.out}.fa",
        f"{args.out}.gfa",
        f"{args.out}.json",
        AssemblyParams(k=args.k, min_count=args.min_count, min_contig=args.min_contig),
        backend=args.backend,
    )
    logging.getLogger("biometal.cli").info(
        "k=%d threshold=%d contigs=%d", stats["k"], stats["threshold"], stats["contigs"]
    )


def _run_warmup(args: argparse.Namespace) -> None:
    from biometal.warmup import warmup

    warmup(args.sections)


def _run_coverage(args: argparse.Namespace) -> None:
    from biometal.regions.coverage import region_coverage, write_coverage_tsv

    flags: int | str = int(args.flag) if args.flag.isdigit() else args.flag
    df = region_coverage(
        args.bam,
        args.bed,
        mode=args.mode,
        min_mapq=args.min_mapq,
        flag_filter=flags if isinstance(flags, int) else _csv(flags),
        thresholds=[int(t) for t in _csv(args.threshold)],
        fast=args.fast,
        bedcov_no_del=args.no_del,
        clip=args.clip,
        backend=args.backend,
        threads=_threads(args),
    )
    write_coverage_tsv(df, args.out)
    logging.getLogger("biometal.cli").info("regions=%d", len(df))


def _run_classify_build(args: argparse.Namespace) -> None:
    from biometal.ml.kmer_classify import KmerClassifier, read_class_map

    clf = KmerClassifier.build(
        args.fasta,
        args.k,
        group=args.group,
        per_file=args.per_file,
        class_map=read_class_map(args.map) if args.map else None,
    )
    clf.save(args.output)
    logging.getLogger("biometal.cli").info(
        "classes=%d kmers=%d shared=%d", len(clf.classes), len(clf.keys), clf.n_shared
    )


def _run_classify_reads(args: argparse.Namespace) -> None:
    from biometal.ml.kmer_classify import classify_files

    counts = classify_files(
        args.index,
        args.reads1,
        args.reads2,
        args.output,
        min_hits=args.min_hits,
        chunk_reads=args.chunk_reads,
        threads=_threads(args),
    )
    total = sum(counts.values())
    unit = "read" if args.reads2 is None else "pair"
    per_class = ", ".join(f"{name} {n}" for name, n in counts.items())
    sys.stderr.write(f"{PROG} {args.command}: {total} {unit}s: {per_class}\n")


def _run_dnabert_export(args: argparse.Namespace) -> None:
    import json
    import shutil

    try:
        from biometal.ml.dnabert.export import export_all, load_any
    except ImportError as exc:  # the core install: no torch / onnx
        from biometal.errors import BiometalError

        raise BiometalError(f"needs the ml extra (pip install 'biometal[ml]'): {exc}") from None

    outputs = [args.onnx, args.mlpackage, args.mlpackage_int8, args.report]
    new = [p for p in outputs if p is not None and not os.path.lexists(p)]
    try:
        report = export_all(
            load_any(args.hf_dir or args.checkpoint),
            args.onnx,
            args.mlpackage,
            args.mlpackage_int8,
            args.report,
            batch_sizes=args.batch_sizes,
            atol=args.atol,
            length=args.length,
        )
    except BaseException:
        # a failed check comes after the ONNX file is written: leave none of this run's files
        for path in new:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            elif os.path.lexists(path):
                os.remove(path)
        raise
    sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n")


def _csv(text: str | None) -> list[str]:
    return [x for x in (text or "").split(",") if x]


def _run_config(args: argparse.Namespace) -> None:
    import yaml

    from biometal.config import load_configs
    from biometal.workflow import plan_workflow

    base = os.path.join(args.workflow, "config", "config.yaml")
    files = ([base] if os.path.isfile(base) else []) + list(args.configfile)
    config = load_configs(files)
    plan = plan_workflow(config)  # sample sheets and file settings, as the Snakefile checks
    for note in plan.notes:
        logging.getLogger("biometal.cli").warning("%s", note.removeprefix("note: "))
    text = yaml.safe_dump(config, sort_keys=False, default_flow_style=None)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        from biometal.io.atomic import atomic_path

        with atomic_path(args.output) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)


# ------------------------------------------------------------------ parser


class _Unused:
    """Stands in for the parser of a command this process does not run (see
    :func:`build_parser`'s ``only``): every call that would add to it does nothing."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: self


class _OnlySub:
    """A subparsers action that builds one command's parser in full and lists the others
    by name and summary alone (they stay valid choices, so an unknown command gets the
    same error and ``biometal --help`` the same list)."""

    def __init__(self, sub, only: str) -> None:
        self.sub, self.only = sub, only

    def add_parser(self, name: str, **kwargs):
        if name == self.only:
            return self.sub.add_parser(name, **kwargs)
        self.sub.add_parser(name, help=kwargs.get("help"), add_help=False)
        return _Unused()


def _subparser(sub, name: str, summary: str, description: str, parents: list, handler):
    if isinstance(sub, _Unused) or (isinstance(sub, _OnlySub) and name != sub.only):
        return sub.add_parser(name, help=summary)  # (not built: no parents made)
    if isinstance(sub, _OnlySub):
        sub = sub.sub
    p = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=EXIT_CODES,
        parents=[_common(), *parents],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.set_defaults(handler=handler)
    return p


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser of ``biometal`` and its subcommands.

    ``only``: build that command's parser in full and the others' by name and summary
    alone (:class:`_OnlySub`), which is all a process that runs one command needs: the
    full parser of every command is ~1,500 argparse calls, 10-15 ms of every start
    (``python -X importtime`` and cProfile of ``python -m biometal.pileup`` on a tiny
    BAM). The parse, and the help of ``only`` and of ``biometal``, are the same.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"{PROG} {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(
        dest="command",
        metavar="COMMAND",
        title="commands",
        help="run 'biometal COMMAND --help' for its options",
    )
    if only is not None:
        sub = _OnlySub(sub, only)
    th, be = _threads_opt(), _backend_opt()
    mem_chunk = "reads per streamed chunk; bounds memory (default: %(default)s)"

    # pileup ---------------------------------------------------------------------------
    p = _subparser(
        sub,
        "pileup",
        "per-position base counts of a BAM (bgzipped TSV, equal to samtools mpileup)",
        "Pileup of a coordinate-sorted, indexed BAM: per reference position the depth, "
        "A/C/G/T/N\ncounts, deletions, skips, insertions, strand counts, mean base and "
        "mapping quality and\nthe indel alleles, through the pileup kernel (Metal or "
        "numba), in bounded memory.\nOUT is a TSV with a documented header: bgzipped "
        "when it ends in .gz or .bgz\n(tabix -s1 -b2 -e2 OUT indexes it), else plain text; "
        "'-' writes it to standard output."
        "\n\nexample:\n  biometal pileup results/align/sim.bam results/data/reference.fa "
        "sim.pileup.tsv.gz",
        [th, be],
        _run_pileup,
    )
    p.add_argument("bam", metavar="BAM", help="coordinate-sorted BAM with its index (.bai/.csi)")
    p.add_argument("reference", metavar="REFERENCE", help="reference FASTA (with or without .fai)")
    p.add_argument(
        "out", metavar="OUT", help="output TSV (.tsv.gz: bgzipped; other names: plain), or '-'"
    )
    _pileup_filters(p, min_mapq=0)
    p.add_argument(
        "-a",
        "--all-positions",
        action="store_true",
        help="also write the positions no read covers, with depth 0 (every position of "
        "every contig; without -a: the positions reads cover, as samtools mpileup)",
    )
    p.add_argument(
        "--compress-level",
        type=_int_range(0, 9),
        default=1,
        metavar="0-9",
        help="BGZF compression level of a .gz / .bgz OUT (default: 1)",
    )

    # call -----------------------------------------------------------------------------
    p = _subparser(
        sub,
        "call",
        "SNP and indel calls of a BAM (bgzipped, indexed VCF 4.3)",
        "Variant calling from the streaming pileup: binomial and beta-binomial tests per "
        "site,\ndiploid genotype likelihoods, FILTER LowQual / ErrorLike / LowDepth. Writes "
        "OUT\n(bgzipped VCF 4.3) and OUT.tbi.\n\nexample:\n  biometal call "
        "results/align/sim.bam results/data/reference.fa sim.vcf.gz",
        [th, be],
        _run_call,
    )
    p.add_argument("bam", metavar="BAM", help="coordinate-sorted BAM with its index")
    p.add_argument("reference", metavar="REFERENCE", help="reference FASTA")
    p.add_argument("out", metavar="OUT", type=_file_out, help="output VCF (.vcf.gz) + .tbi")
    p.add_argument(
        "--sample",
        default=None,
        help="sample name in the VCF (default: the BAM's read-group SM, else its file name)",
    )
    _pileup_filters(p, min_mapq=20)
    _calling_options(p)

    # joint ----------------------------------------------------------------------------
    p = _subparser(
        sub,
        "joint",
        "gVCF of each BAM and their joint VCF (genotype priors from the cohort)",
        "Population calling: the gVCF of every BAM (site statistics at every position, site\n"
        "records where reads show an ALT, reference blocks banded by GQ; bgzipped + .tbi),\n"
        "then joint genotyping of all of them into OUT (multi-sample VCF: GT, GQ, AD, DP,\n"
        "PL per sample, cohort allele frequencies as genotype priors; + OUT.tbi). Runs on\n"
        "one thread, in one process (as bcftools mpileup | bcftools call -m does).\n\n"
        "example:\n  biometal joint ref.fa joint.vcf.gz s1.bam s2.bam s3.bam",
        [be],
        _run_joint,
    )
    p.add_argument("reference", metavar="REFERENCE", help="reference FASTA")
    p.add_argument("out", metavar="OUT", type=_file_out, help="joint VCF (.vcf.gz) + .tbi")
    p.add_argument(
        "bams", metavar="BAM", nargs="+", help="coordinate-sorted BAMs with their indexes"
    )
    p.add_argument(
        "--samples",
        metavar="NAMES",
        help="sample names, comma-separated, one per BAM (default: each BAM's read-group "
        "SM, else its file name)",
    )
    p.add_argument(
        "--gvcf-dir",
        metavar="DIR",
        help="where the gVCFs go, as SAMPLE.g.vcf.gz (characters other than letters, digits "
        "and _.+- as _; default: OUT's folder)",
    )
    p.add_argument(
        "--cpu-dir",
        metavar="DIR",
        help="also write each part's CPU seconds as JSON there: gvcf_SAMPLE.json (the "
        "first includes the start-up) and joint.json",
    )
    _pileup_filters(p, min_mapq=20)
    _calling_options(p, joint=True)
    from biometal.variants.params import GvcfParams as G

    g = p.add_argument_group("gVCF")
    g.add_argument(
        "--gq-bands",
        type=_sizes,
        default=list(G.gq_bands),
        metavar="GQS",
        help="lower GQ bounds of the reference-block bands, comma-separated (default: "
        f"{','.join(map(str, G.gq_bands))})",
    )
    g.add_argument(
        "--evidence-min-alt",
        type=_int_range(1),
        default=G.evidence_min_alt,
        metavar="N",
        help="a site record where at least N reads show one non-reference base (default: "
        f"{G.evidence_min_alt})",
    )

    # index ----------------------------------------------------------------------------
    p = _subparser(
        sub,
        "index",
        "k-mer index of a transcriptome for 'biometal quant'",
        "Build the k-mer index of a transcript FASTA (canonical k-mers -> equivalence "
        "classes,\ncompacted into unitigs), self-check it and save it (.npz).\n\nexample:\n"
        "  biometal index results/data/transcriptome/transcripts.fa transcripts.idx.npz",
        [],
        _run_index,
    )
    p.add_argument("transcripts", metavar="TRANSCRIPTS", help="transcript FASTA (plain or gzip)")
    p.add_argument("index", metavar="INDEX", type=_file_out, help="output index (.npz)")
    p.add_argument(
        "-k",
        type=_int_range(3, 31, odd=True),
        default=31,
        help="k-mer length, odd, 3..31 (default: 31)",
    )
    p.add_argument(
        "--stats", metavar="JSON", default=None, help="also write build statistics as JSON"
    )

    # quant ----------------------------------------------------------------------------
    p = _subparser(
        sub,
        "quant",
        "transcript abundances of RNA-seq reads (pseudoalignment + EM, like kallisto)",
        "Pseudoalign single-end (READS1) or paired-end (READS1 READS2) reads against an "
        "index from\n'biometal index' and estimate counts and TPM with the EM. Output TSV: "
        "transcript_id,\nlength, effective_length, est_counts, tpm.\n\nexample:\n"
        "  biometal quant transcripts.idx.npz results/data/rnaseq/rna01_R1.fastq.gz "
        "results/data/rnaseq/rna01_R2.fastq.gz -o rna01.quant.tsv",
        [th],
        _run_quant,
    )
    p.add_argument("index", metavar="INDEX", help="index written by 'biometal index'")
    p.add_argument("reads1", metavar="READS1", help="FASTQ (plain/gzip), or '-' for stdin")
    p.add_argument(
        "reads2", metavar="READS2", nargs="?", default=None, help="mate FASTQ for paired reads"
    )
    p.add_argument(
        "-o", "--output", default="-", metavar="TSV", help="output table, '-' for stdout (default)"
    )
    p.add_argument("--info", metavar="JSON", default=None, help="also write run information")
    p.add_argument("--sample", default=None, help="sample name recorded in --info")
    p.add_argument(
        "--fragment-mean",
        type=float,
        default=250.0,
        metavar="BP",
        help="fragment length mean for single-end reads, and pairs too few to estimate it "
        "(default: 250)",
    )
    p.add_argument(
        "--fragment-sd",
        type=float,
        default=40.0,
        metavar="BP",
        help="fragment length standard deviation (default: 40)",
    )
    p.add_argument(
        "--single-overhang",
        action="store_true",
        help="single-end: keep transcripts where the fragment would overhang the end",
    )
    p.add_argument("--chunk-reads", type=_int_range(1), default=65536, metavar="N", help=mem_chunk)

    # fmindex --------------------------------------------------------------------------
    p = _subparser(
        sub,
        "fmindex",
        "FM-index of a reference for 'biometal fastmap'",
        "Build the FMD-index (both strands, BWA's text) of a reference FASTA and save it "
        "(.npz).\nNon-ACGT bases become pseudo-random bases drawn from --seed, as in BWA. "
        "REFERENCE may also\nbe the prefix of an existing 'bwa index' (its files are "
        "converted, no suffix array is built).\n\nexample:\n  biometal fmindex "
        "results/data/reference.fa reference.fm.npz",
        [],
        _run_fmindex,
    )
    p.add_argument(
        "reference", metavar="REFERENCE", help="reference FASTA (plain or gzip) or bwa prefix"
    )
    p.add_argument("index", metavar="INDEX", type=_file_out, help="output index (.npz)")
    p.add_argument(
        "--seed", type=int, default=11, help="seed of the N replacement bases (default: 11)"
    )

    # fastmap --------------------------------------------------------------------------
    p = _subparser(
        sub,
        "fastmap",
        "super-maximal exact matches (SMEMs) of reads, as 'bwa fastmap' prints them",
        "SMEMs of every read against a reference, equal to 'bwa fastmap' with the same "
        "options:\nSQ line per read, 'EM start end occurrences positions' per SMEM, '//'. "
        "INDEX is a file\nfrom 'biometal fmindex', the prefix (or .bwt file) of a 'bwa index', "
        "or a FASTA (then indexed\nin memory for this run only).\n\nexample:\n  "
        "biometal fastmap reference.fm.npz "
        "results/data/reads/sim_R1.fastq.gz -o sim_R1.smems.txt",
        [th],
        _run_fastmap,
    )
    p.add_argument("index", metavar="INDEX", help="'biometal fmindex' output, or a FASTA")
    p.add_argument("reads", metavar="READS", help="FASTA or FASTQ (plain/gzip), '-' for stdin")
    p.add_argument(
        "-o", "--output", default="-", metavar="OUT", help="output text, '-' for stdout (default)"
    )
    p.add_argument(
        "-l",
        "--min-len",
        type=_int_range(1),
        default=17,
        metavar="INT",
        help="shortest SMEM to report (bwa fastmap -l; default: 17)",
    )
    p.add_argument(
        "-w",
        "--max-positions",
        type=_int_range(0),
        default=20,
        metavar="INT",
        help="print positions of SMEMs with at most INT occurrences (bwa -w; default: 20)",
    )
    p.add_argument(
        "-i",
        "--min-intv",
        type=_int_range(1),
        default=1,
        metavar="INT",
        help="fewest occurrences of an SMEM (bwa fastmap -i; default: 1)",
    )
    p.add_argument(
        "--batch",
        type=_int_range(1),
        default=16384,
        metavar="N",
        help="reads per batch; bounds memory (default: 16384)",
    )

    # align ----------------------------------------------------------------------------
    p = _subparser(
        sub,
        "align",
        "pairwise alignment of query vs target sequences (local, global, semiglobal)",
        "Align query i against target i (or every query against the target when TARGETS "
        "holds one\nrecord) with affine gaps: a gap of length k costs gap-open + (k-1) * "
        "gap-extend\n(parasail's convention). Output TSV: query, target, score, query_start, "
        "query_end,\ntarget_start, target_end (0-based, half-open), query_length, "
        "target_length, cigar.\n\nexample:\n  biometal align results/data/reads/sim_R1.fastq.gz"
        " results/data/reads/sim_R2.fastq.gz\n    --mode global -o pairs.tsv",
        [th, be],
        _run_align,
    )
    p.add_argument("queries", metavar="QUERIES", help="FASTA or FASTQ (plain/gzip), '-' for stdin")
    p.add_argument("targets", metavar="TARGETS", help="FASTA or FASTQ (plain/gzip)")
    p.add_argument(
        "-o", "--output", default="-", metavar="TSV", help="output table, '-' for stdout (default)"
    )
    p.add_argument(
        "-m",
        "--mode",
        choices=("local", "global", "semiglobal", "extension"),
        default="local",
        help="local (Smith-Waterman), global (Needleman-Wunsch), semiglobal (the whole "
        "query within the target), extension (anchored at both starts); default: local",
    )
    p.add_argument("--match", type=int, default=2, help="match score (default: 2)")
    p.add_argument("--mismatch", type=int, default=-3, help="mismatch score (default: -3)")
    p.add_argument(
        "--gap-open",
        type=_int_range(1),
        default=5,
        metavar="INT",
        help="penalty of a gap's first base (default: 5)",
    )
    p.add_argument(
        "--gap-extend",
        type=_int_range(0),
        default=2,
        metavar="INT",
        help="penalty of each further gap base (default: 2)",
    )
    p.add_argument(
        "--band",
        type=_int_range(0),
        default=None,
        metavar="W",
        help="banded alignment: only cells with |i - j| <= W (default: full matrix)",
    )
    p.add_argument(
        "--no-traceback",
        action="store_true",
        help="scores and end coordinates only (faster; no CIGAR, starts -1 where unknown)",
    )
    p.add_argument(
        "--batch",
        type=_int_range(1),
        default=4096,
        metavar="N",
        help="pairs aligned per kernel call (default: 4096)",
    )

    # tokenize -------------------------------------------------------------------------
    p = _subparser(
        sub,
        "tokenize",
        "DNABERT-style overlapping k-mer token ids of reads (.npy or TSV)",
        "Token ids of every read: [CLS] k-mers [SEP], truncated to --max-length and padded "
        "with\n[PAD], in DNABERT's vocabulary layout (or --vocab). OUT ending in .npy: an "
        "int32\n[reads, max-length] array; otherwise a TSV of read, n_tokens and the "
        "space-separated ids.\n\nexample:\n  biometal tokenize -k 6 --max-length 64 "
        "results/data/metagenome/meta_R1.fastq.gz -o meta_R1.tokens.npy",
        [th, be],
        _run_tokenize,
    )
    p.add_argument("reads", metavar="READS", help="FASTQ (plain/gzip), '-' for stdin")
    p.add_argument(
        "-o",
        "--output",
        default="-",
        metavar="OUT",
        help="OUT.npy, OUT.tsv[.gz], or '-' for a TSV on stdout (default)",
    )
    p.add_argument("-k", type=_int_range(1, 8), default=6, help="k-mer length, 1..8 (default: 6)")
    p.add_argument(
        "--stride",
        type=_int_range(1),
        default=1,
        metavar="N",
        help="bases between k-mer starts, at most k (default: 1)",
    )
    p.add_argument(
        "--vocab",
        metavar="FILE",
        default=None,
        help="vocabulary file (DNABERT vocab.txt, or its directory); sets k",
    )
    p.add_argument(
        "--save-vocab", metavar="FILE", default=None, help="also write the vocabulary used"
    )
    p.add_argument(
        "--max-length",
        type=_int_range(1),
        default=512,
        metavar="N",
        help="tokens per read, specials included (default: 512)",
    )
    p.add_argument(
        "--mask-below",
        type=_int_range(0),
        default=0,
        metavar="Q",
        help="k-mers with a base quality below Q become [MASK] (default: 0, off)",
    )
    p.add_argument("--no-special-tokens", action="store_true", help="leave out [CLS] and [SEP]")
    p.add_argument("--chunk-reads", type=_int_range(1), default=65536, metavar="N", help=mem_chunk)

    # vcf ------------------------------------------------------------------------------
    p = _subparser(
        sub,
        "vcf",
        "VCF / VCF.gz / BCF records as tab-separated text, as bcftools query prints them",
        "Stream the records of a VCF, bgzipped VCF or BCF (biometal.io.vcf.read_vcf) and "
        "print\nCHROM POS ID REF ALT QUAL FILTER, the --info fields, then per sample GT and "
        "the\n--format fields, tab-separated, as 'bcftools query' prints them with\n"
        "  -f '%CHROM\\t%POS\\t%ID\\t%REF\\t%ALT\\t%QUAL\\t%FILTER[\\t%INFO/K][\\t%GT[\\t%F]]\\n'\n"
        "--region needs the file's .tbi/.csi index (a plain VCF is scanned).\n\nexample:\n"
        "  biometal vcf results/cli/sim.vcf.gz -i DP -o results/cli/sim.vcf.tsv",
        [],
        _run_vcf,
    )
    p.add_argument("vcf", metavar="VCF", help="VCF, VCF.gz (bgzip or gzip) or BCF file")
    p.add_argument("-i", "--info", metavar="K,..", help="INFO fields to print, comma-separated")
    p.add_argument("-F", "--format", metavar="K,..", help="FORMAT fields (besides GT) to print")
    p.add_argument("--no-gt", action="store_true", help="leave out the GT columns")
    p.add_argument(
        "-r", "--region", metavar="REG,..", help="chr, chr:pos or chr:beg-end (1-based), comma-sep"
    )
    p.add_argument("-s", "--samples", metavar="S,..", help="samples to print, in this order")
    p.add_argument(
        "-o", "--output", default="-", metavar="TSV", help="output ('-': stdout; .gz: gzip)"
    )

    # intervals ------------------------------------------------------------------------
    p = _subparser(
        sub,
        "intervals",
        "bedtools-style interval operations on BED files (output equal to bedtools 2.30)",
        "Run OP on BED files (sorted or not; sorted inside) and print BED as bedtools does:\n"
        "  intersect A B  (--mode default|wa|wb|wawb|u|v|c = -wa, -wb, -wa -wb, -u, -v, -c)\n"
        "  merge A        (-d N, -s, -c COLS --operation count,sum,min,max,mean,collapse,...)\n"
        "  subtract A B   (-A: drop A records with any overlap)\n"
        "  complement A -g GENOME\n"
        "  closest A B    (-d distances always printed; -t all|first|last)\n"
        "  coverage A B   (--counts: the count only)\n"
        "-s / -S: same / opposite strand only (a '.' strand then matches nothing).\n"
        "Zero-length intervals [s, s) follow the half-open rule (bedtools widens them).\n\n"
        "example:\n  biometal intervals merge results/cli/a.bed -c 4 --operation count",
        [],
        _run_intervals,
    )
    p.add_argument(
        "op",
        choices=("intersect", "merge", "subtract", "complement", "closest", "coverage"),
        help="the operation",
    )
    p.add_argument("a", metavar="A.bed", help="BED file A (plain or gzip)")
    p.add_argument("b", metavar="B.bed", nargs="?", default=None, help="BED file B")
    grp = p.add_mutually_exclusive_group()
    grp.add_argument("-s", dest="same_strand", action="store_true", help="same strand only")
    grp.add_argument("-S", dest="opposite_strand", action="store_true", help="opposite strand")
    p.add_argument(
        "--mode",
        default="default",
        choices=("default", "wa", "wb", "wawb", "u", "v", "c"),
        help="intersect output (default: the overlapping part with A's fields)",
    )
    p.add_argument("-d", "--distance", type=int, default=0, metavar="N", help="merge: max gap")
    p.add_argument("-c", "--columns", metavar="C,..", help="merge: columns to summarise")
    p.add_argument("--operation", metavar="OP,..", help="merge: one op per -c column")
    p.add_argument("-A", dest="whole", action="store_true", help="subtract: whole A records")
    p.add_argument("-g", "--genome", metavar="GENOME", help="complement: chrom sizes / .fai")
    p.add_argument(
        "-t", "--ties", default="all", choices=("all", "first", "last"), help="closest ties"
    )
    p.add_argument("--counts", action="store_true", help="coverage: only the count")
    p.add_argument(
        "-o", "--output", default="-", metavar="BED", help="output ('-': stdout, the default)"
    )

    # coverage -------------------------------------------------------------------------
    p = _subparser(
        sub,
        "coverage",
        "per-region depth and base counts of a BED over a BAM (equal to mosdepth / bedcov)",
        "Per region of BED (any order; output in BED order): length, sum of per-base depth,\n"
        "mean depth, bases with depth >= each --threshold, and A C G T N del entries. Only\n"
        "the regions' reads are read, through the BAM index.\n"
        "  --mode mosdepth: aligned bases, overlapping mates counted once = `mosdepth --by\n"
        "                   BED` (mean with 2 decimals, -T thresholds); --fast = mosdepth -x\n"
        "  --mode bedcov:   every base a read spans (D, N too) = `samtools bedcov` sum;\n"
        "                   --no-del = bedcov -j (and bedcov -d's counts)\n"
        "A region off its contig's end or on a contig not in the BAM is an error (--clip:\n"
        "count it as the tools do, depth 0 past the end).\n\n"
        "example:\n  biometal coverage results/align/sim.bam results/cli/a.bed "
        "results/cli/a.coverage.tsv -T 1,10",
        [_threads_opt(), _backend_opt()],
        _run_coverage,
    )
    p.add_argument("bam", metavar="BAM", help="coordinate-sorted BAM with its index (.bai/.csi)")
    p.add_argument("bed", metavar="BED", help="regions (BED3+, plain or gzip)")
    p.add_argument(
        "out",
        metavar="OUT.tsv",
        help="output TSV ('#' header line; .gz: gzip; '-': standard output)",
    )
    p.add_argument("--mode", default="mosdepth", choices=("mosdepth", "bedcov"), help="depth rule")
    p.add_argument(
        "-Q", "--min-mapq", type=_int_range(0), default=0, metavar="Q", help="drop MAPQ < Q"
    )
    p.add_argument(
        "-F",
        "--flag",
        default="1796",
        metavar="FLAGS",
        help="drop reads with any of these flag bits (integer or names; default 1796)",
    )
    p.add_argument(
        "-T", "--threshold", metavar="T,..", help="also count bases with depth >= each T"
    )
    p.add_argument("-x", "--fast", action="store_true", help="mosdepth -x: read start to end")
    p.add_argument("-j", "--no-del", action="store_true", help="bedcov -j: D and N not counted")
    p.add_argument("--clip", action="store_true", help="allow regions off the contig's end")

    # config ---------------------------------------------------------------------------
    p = _subparser(
        sub,
        "config",
        "check workflow config files and print the config the workflow would run with",
        "Layer FILEs on the workflow's default config (WORKFLOW/config/config.yaml) as\n"
        "'snakemake --configfile FILE...' does, validate against the schema (defaults "
        "filled in)\nand read the sample sheets they name, then print the result as YAML. "
        "A mistake is one\nline naming the file and line or the config key. Snakemake "
        "itself reports a missing or\nunparsable --configfile with a traceback before the "
        "workflow is read: check it here first.\n\nexample:\n  biometal config "
        "config/1000g.yaml",
        [],
        _run_config,
    )
    p.add_argument("configfile", metavar="FILE", nargs="*", help="YAML config files, in order")
    p.add_argument(
        "-w",
        "--workflow",
        default=".",
        metavar="DIR",
        help="the workflow's directory, whose config/config.yaml is the base (default: .)",
    )
    p.add_argument(
        "-o", "--output", default="-", metavar="YAML", help="where to write it ('-': stdout)"
    )

    # recalibrate ----------------------------------------------------------------------
    p = _subparser(
        sub,
        "recalibrate",
        "BQSR-style base-quality recalibration (fit a table from a BAM, apply to FASTQ)",
        "Fits an empirical error table by reported quality x cycle x dinucleotide context "
        "(GATK\nBaseRecalibrator's covariates, hierarchical shrinkage) from the aligned bases "
        "of a BAM at\npositions not in --known-sites, or loads one (--table), and rewrites "
        "the qualities of\nFASTQ into -o (gzip when the name ends in .gz), streaming. "
        "--save-table writes the\ntable (TSV of counts).\n\nexample:\n  biometal "
        "recalibrate results/data/reads/sim_R1.fastq.gz --bam results/align/sim.bam "
        "\\\n    --reference results/data/reference.fa -o sim_R1.recal.fastq.gz",
        [],
        _run_recalibrate,
    )
    p.add_argument(
        "fastq", metavar="FASTQ", nargs="?", default=None, help="FASTQ to recalibrate (optional)"
    )
    p.add_argument(
        "-o", "--output", type=_file_out, default=None, metavar="FASTQ", help="recalibrated FASTQ"
    )
    p.add_argument("--table", default=None, metavar="TSV", help="use this saved table")
    p.add_argument("--bam", default=None, help="fit the table from this coordinate-sorted BAM")
    p.add_argument("--reference", default=None, metavar="FASTA", help="reference of --bam")
    p.add_argument(
        "--known-sites",
        default=None,
        metavar="VCF",
        help="variants whose positions are left out of the fit (default: none)",
    )
    p.add_argument("--save-table", default=None, metavar="TSV", help="write the table here")
    p.add_argument(
        "--max-bases",
        type=_int_range(1),
        default=None,
        metavar="N",
        help="fit from the first N aligned bases only (default: all)",
    )
    p.add_argument(
        "--mate",
        type=_int_range(1, 2),
        default=1,
        metavar="1|2",
        help="the FASTQ holds read 1 / single reads (1) or read 2 (2) (default: 1)",
    )
    p.add_argument(
        "--q-max",
        type=_int_range(2, 93),
        default=60,
        metavar="Q",
        help="highest quality written (default: 60)",
    )
    p.add_argument("--chunk-reads", type=_int_range(1), default=50_000, metavar="N", help=mem_chunk)

    # qc -------------------------------------------------------------------------------
    p = _subparser(
        sub,
        "qc",
        "read statistics of FASTQ files (length, GC, N, quality)",
        "Per FASTQ file (labelled R1, R2, ... in the order given): reads, bases, lengths, "
        "GC and\nN fractions, mean quality and the fraction of bases under "
        "--quality-threshold, through\nthe read_stats kernel; --hist adds GC and "
        "mean-quality histograms.\n\nexample:\n  biometal qc results/data/reads/"
        "sim_R1.fastq.gz results/data/reads/sim_R2.fastq.gz",
        [th, be],
        _run_qc,
    )
    p.add_argument(
        "fastq", metavar="FASTQ", nargs="+", help="FASTQ files (plain/gzip), '-' for stdin"
    )
    p.add_argument(
        "-o", "--output", default="-", metavar="TSV", help="summary table, '-' for stdout (default)"
    )
    p.add_argument("--hist", metavar="TSV", default=None, help="also write the histograms")
    p.add_argument("--sample", default=None, help="sample column (default: the first file's name)")
    p.add_argument(
        "-Q",
        "--quality-threshold",
        type=_int_range(0),
        default=20,
        metavar="Q",
        help="count bases with quality below Q as low quality (default: 20)",
    )
    p.add_argument("--chunk-reads", type=_int_range(1), default=65536, metavar="N", help=mem_chunk)

    # trim -----------------------------------------------------------------------------
    p = _subparser(
        sub,
        "trim",
        "cut adapter read-through from single or paired reads (FASTQ out)",
        "Single reads: the 3' adapter is found by semi-global alignment as cutadapt does\n"
        "(-e edits per adapter base, partial adapters of -O bases or more at the 3' end).\n"
        "Pairs: the insert is found from the mate overlap confirmed by both adapters (as\n"
        "Atropos' insert mode / AdapterRemoval), and both mates are cut to it; mates must\n"
        "list the same reads in the same order. Output is gzip when its name ends in .gz.\n"
        "\nexample:\n  biometal trim results/data/metagenome/meta_R1.fastq.gz "
        "results/data/metagenome/meta_R2.fastq.gz -o results/cli/meta_R1.trim.fastq.gz "
        "-p results/cli/meta_R2.trim.fastq.gz",
        [th],
        _run_trim,
    )
    p.add_argument("fastq", metavar="FASTQ", help="reads (R1 of pairs), plain/gzip; '-' stdin")
    p.add_argument("fastq2", metavar="FASTQ2", nargs="?", default=None, help="R2 of pairs")
    p.add_argument(
        "-o", "--output", required=True, type=_file_out, metavar="FASTQ", help="trimmed reads (R1)"
    )
    p.add_argument(
        "-p",
        "--paired-output",
        default=None,
        type=_file_out,
        metavar="FASTQ",
        help="trimmed R2 (pairs only)",
    )
    p.add_argument(
        "-a",
        "--adapter",
        default="AGATCGGAAGAGCACACGTCTGAACTCCAGTCA",
        metavar="SEQ",
        help="3' adapter of R1 / single reads (default: TruSeq, %(default)s)",
    )
    p.add_argument(
        "-A",
        "--adapter2",
        default="AGATCGGAAGAGCGTCGTGTAGGGAAAGAGTGT",
        metavar="SEQ",
        help="3' adapter of R2 (default: TruSeq, %(default)s)",
    )
    p.add_argument(
        "-e",
        "--error-rate",
        type=_fraction,
        default=0.1,
        metavar="E",
        help="single reads: edits allowed per aligned adapter base, as cutadapt -e "
        "(default: %(default)s)",
    )
    p.add_argument(
        "-O",
        "--overlap",
        type=_int_range(1),
        default=3,
        metavar="N",
        help="single reads: shortest partial adapter cut at the 3' end (default: %(default)s)",
    )
    p.add_argument(
        "--poly-g",
        type=_int_range(0),
        default=0,
        metavar="N",
        help="also cut a 3' poly-G tail of N bases or more (default: 0, off)",
    )
    p.add_argument(
        "-q",
        "--quality-cutoff",
        type=_int_range(0),
        default=0,
        metavar="Q",
        help="first cut each read's low-quality 3' end as cutadapt -q Q does (both mates; "
        "default: 0, off)",
    )
    p.add_argument("--chunk-reads", type=_int_range(1), default=65536, metavar="N", help=mem_chunk)

    # assemble -------------------------------------------------------------------------
    p = _subparser(
        sub,
        "assemble",
        "de Bruijn graph assembly of short reads: contigs FASTA + GFA 1 + statistics",
        "Counts canonical k-mers (kmer_count kernel, Metal or numba; k <= 63), keeps those "
        "above the\nhistogram's first valley, builds the compacted de Bruijn graph, clips "
        "tips, pops bubbles,\nremoves weak connections and chains unitigs into contigs "
        "(biometal.assembly.example_assembler).\nWrites OUT.fa (contigs, longest first), "
        "OUT.gfa (the graph) and OUT.json (histogram,\nthreshold, graph size per step). "
        "Two files are mates (R1 R2): their pairs join\ncontigs through repeats shorter "
        "than the insert; one file: single reads.\n\nexample:\n  biometal assemble "
        "reads_R1.fastq.gz reads_R2.fastq.gz -o asm",
        [be],
        _run_assemble,
    )
    p.add_argument("reads", metavar="READS", nargs="+", help="FASTQ files (plain or gzip)")
    p.add_argument("-o", "--out", required=True, metavar="OUT", help="output prefix")
    p.add_argument(
        "-k",
        type=_int_range(0, 63),
        default=0,
        help="k-mer length, odd, 1..63 (default 0: the largest odd k in 31..63 keeping depth "
        ">= 12)",
    )
    p.add_argument(
        "--min-count",
        type=_int_range(0),
        default=0,
        metavar="N",
        help="solid k-mer threshold (default 0: the histogram's first valley)",
    )
    p.add_argument(
        "--min-contig",
        type=_int_range(0),
        default=200,
        metavar="BP",
        help="shortest contig written to OUT.fa (default: %(default)s)",
    )

    # warmup ---------------------------------------------------------------------------
    p = _subparser(
        sub,
        "warmup",
        "compile the numba kernels once (make setup runs it), so jobs load compiled code",
        "Runs the library paths of the workflow's timed jobs on small simulated inputs, so "
        "that numba\ncompiles and caches their kernels now rather than inside the first "
        "job (biometal.warmup).\nA section that fails is reported and skipped; the exit "
        "status is 0 unless a name is unknown.\n\nexample:\n  biometal warmup\n  "
        "biometal warmup assembly",
        [],
        _run_warmup,
    )
    p.add_argument(
        "sections", nargs="*", metavar="SECTION", help="default: all (assembly, quant, cohort)"
    )

    # classify -------------------------------------------------------------------------
    p = (sub.sub if isinstance(sub, _OnlySub) and sub.only == "classify" else sub).add_parser(
        "classify",
        help="exact k-mer read classifier (Kraken-style): build an index, classify reads",
        description="An exact k-mer classifier (biometal.ml.kmer_classify): 'build' indexes "
        "every canonical\nk-mer (k <= 31) of reference FASTAs with its class, a k-mer of "
        "several classes going to\nthe root (flat-taxonomy LCA); 'reads' gives each read "
        "(or pair, the k-mers of both mates\ntogether) the class with the most "
        "class-specific k-mer hits (unclassified below\n--min-hits or on a tie), streaming "
        "the FASTQ. Output TSV: read, class, hits (the best\nclass's), shared_hits, kmers; "
        "reads per class on stderr.\n\nexample:\n  biometal classify build "
        "results/data/metagenome/genomes.fa -o meta.kmers.npz\n  biometal classify reads "
        "results/data/metagenome/meta_R1.fastq.gz \\\n    "
        "results/data/metagenome/meta_R2.fastq.gz --index meta.kmers.npz -o meta.classes.tsv",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    modes = p.add_subparsers(
        dest="mode", metavar="MODE", title="modes", required=True, help="build or reads"
    )
    q = _subparser(
        modes,
        "build",
        "index reference FASTAs (classes: a FASTA each, a contig table, or contig names)",
        "Index the canonical k-mers of FASTA files; a k-mer of one class keeps it, one of "
        "several\ngoes to the root. The class of a record: its FASTA's name without "
        ".fa/.fasta/.fna[.gz]\n(--per-file), its class in a contig<TAB>class table (--map), "
        "or its ID with --group\nremoved (default '_c\\d+$': genome1_c2 -> genome1; '' one "
        "class per record).\n\nexample:\n  biometal classify build genomeA.fa genomeB.fa "
        "--per-file -k 31 -o index.npz",
        [],
        _run_classify_build,
    )
    q.add_argument("fasta", metavar="FASTA", nargs="+", help="reference FASTA (plain or gzip)")
    q.add_argument(
        "-o", "--output", required=True, type=_file_out, metavar="INDEX", help="index (.npz)"
    )
    q.add_argument(
        "-k", type=_int_range(1, 31), default=31, help="k-mer length, 1..31 (default: 31)"
    )
    cls = q.add_mutually_exclusive_group()
    cls.add_argument("--per-file", action="store_true", help="one class per FASTA file")
    cls.add_argument("--map", metavar="TSV", default=None, help="contig<TAB>class table")
    cls.add_argument(
        "--group",
        default=r"_c\d+$",
        metavar="REGEX",
        help="class = record ID with REGEX removed (default: %(default)s)",
    )
    q = _subparser(
        modes,
        "reads",
        "classify single or paired FASTQ reads against an index (TSV out)",
        "Classify every read of READS1 (or pair of READS1 READS2: mates checked, k-mers of "
        "both\ncounted together) against an index from 'classify build', streaming "
        "--chunk-reads reads\nat a time. Output TSV (header line): read, class "
        "('unclassified' below --min-hits or\non a tie), hits (the best class's specific "
        "k-mer hits), shared_hits (k-mers of several\nclasses), kmers (looked up). One "
        "summary line on stderr: reads per class.\n\nexample:\n  biometal classify reads "
        "R1.fastq.gz R2.fastq.gz --index index.npz -o assignments.tsv",
        [th],
        _run_classify_reads,
    )
    q.add_argument("reads1", metavar="READS1", help="FASTQ (plain/gzip), '-' for stdin")
    q.add_argument(
        "reads2", metavar="READS2", nargs="?", default=None, help="mate FASTQ for paired reads"
    )
    q.add_argument(
        "-x", "--index", required=True, metavar="INDEX", help="index from 'classify build'"
    )
    q.add_argument(
        "-o", "--output", default="-", metavar="TSV", help="output ('-': stdout; .gz: gzip)"
    )
    q.add_argument(
        "--min-hits",
        type=_int_range(1),
        default=1,
        metavar="N",
        help="fewest class-specific k-mer hits to classify a read (default: 1)",
    )
    q.add_argument("--chunk-reads", type=_int_range(1), default=65536, metavar="N", help=mem_chunk)

    # dnabert-export -------------------------------------------------------------------
    p = _subparser(
        sub,
        "dnabert-export",
        "export a DNABERT encoder or classifier to ONNX (checked against torch) and Core ML",
        "Export a project checkpoint (.pt: an MLM encoder -> 'hidden' states, or a "
        "fine-tuned\nclassifier -> 'logits') or a Hugging Face BERT directory (config.json + "
        "weights +\nvocab.txt) to ONNX: input 'input_ids' int32 (B, L), dynamic batch, "
        "fixed length L. ONNX\nRuntime is compared with torch at every --batch-sizes "
        "(tolerance --atol). --mlpackage /\n--mlpackage-int8 also write Core ML ML programs "
        "(float16 / INT8 weights; validated by\ntheir specs on Linux). Prints the report "
        "(JSON). Needs the ml extra (torch, onnx,\nonnxruntime; coremltools for Core ML)."
        "\n\nexample:\n  biometal dnabert-export --checkpoint "
        "results/dnabert/models/standard.pt --onnx standard.onnx",
        [],
        _run_dnabert_export,
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--hf-dir", metavar="DIR", help="Hugging Face BERT directory")
    src.add_argument("--checkpoint", metavar="PT", help="the project's .pt (encoder or classifier)")
    p.add_argument("--onnx", required=True, type=_file_out, metavar="OUT", help="output .onnx")
    p.add_argument("--mlpackage", type=_file_out, metavar="OUT", help="Core ML package (float16)")
    p.add_argument(
        "--mlpackage-int8", type=_file_out, metavar="OUT", help="Core ML package (INT8 weights)"
    )
    p.add_argument("--report", type=_file_out, metavar="JSON", help="also write the report here")
    p.add_argument(
        "--length",
        type=_int_range(1),
        default=None,
        metavar="L",
        help="fixed sequence length (default: the model's max_length)",
    )
    p.add_argument(
        "--batch-sizes",
        type=_sizes,
        default=[1, 32, 128],
        metavar="B,..",
        help="batch sizes checked (ONNX) and enumerated (Core ML) (default: 1,32,128)",
    )
    p.add_argument(
        "--atol",
        type=_positive,
        default=1e-4,
        metavar="X",
        help="largest |ONNX Runtime - torch| allowed (default: 1e-4)",
    )
    return parser


# ------------------------------------------------------------------ main


class _Formatter(logging.Formatter):
    def __init__(self, command: str) -> None:
        super().__init__()
        self.command = command

    def format(self, record: logging.LogRecord) -> str:
        level = "" if record.levelno <= logging.INFO else f"{record.levelname.lower()}: "
        return f"{PROG} {self.command}: {level}{record.getMessage()}"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C, also when it arrived inside a compiled call: numba then raises a SystemError
    ("returned a result with an exception set") whose cause is the KeyboardInterrupt."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _is_user_error(exc: BaseException) -> bool:
    """A mistake in the input (one line, exit 1), not a bug (traceback)."""
    from biometal.errors import is_user_error

    return is_user_error(exc) or isinstance(exc, OSError)


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The parser of the command (and mode) that ``args`` runs."""
    while True:
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or getattr(args, subs[0].dest, None) is None:
            return parser
        parser = subs[0].choices[getattr(args, subs[0].dest)]


def _check_outputs_are_not_inputs(parser: argparse.ArgumentParser, args) -> None:
    """Refuse an output that is one of the command's input files (``biometal index tx.fa
    tx.fa`` replaced the FASTA with the index). Outputs: the options typed as output files
    and ``-o``/OUT; inputs: every other argument naming an existing file."""
    from biometal.errors import BiometalError

    outs, ins = [], []
    for action in _command_parser(parser, args)._actions:
        value = getattr(args, action.dest, None)
        values = value if isinstance(value, list) else [value]
        names = [v for v in values if isinstance(v, str) and v not in ("", "-")]
        if action.type is _file_out or action.dest in ("output", "out"):
            outs += names
        else:
            ins += [v for v in names if os.path.isfile(v)]
    for out in outs:
        if os.path.exists(out):
            for inp in ins:
                if os.path.samefile(out, inp):
                    raise BiometalError(
                        f"{out}: this output is also an input ({inp}); writing it would "
                        "replace the input: choose another output name"
                    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``biometal`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv[0] if argv and not argv[0].startswith("-") else None)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_usage(sys.stderr)
        sys.stderr.write(f"{PROG}: error: a command is required (see '{PROG} --help')\n")
        return EXIT_USAGE
    if args.command in NO_BLAS and "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    if args.command in SHORT_JOBS:
        keep_freed_memory()
    prepare_numba()  # numba's start-up cuts, paid only if numba is imported (_startup)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(args.command))
    root = logging.getLogger("biometal")
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        _check_outputs_are_not_inputs(parser, args)
        args.handler(args)
        sys.stdout.flush()
    except (KeyboardInterrupt, SystemError) as exc:
        if not _interrupted(exc):
            raise
        sys.stderr.write(f"{PROG} {args.command}: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away: drop what is left unflushed, exit quietly
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):  # stdout without a file descriptor (captured)
            pass
        return EXIT_BROKEN_PIPE
    except Exception as exc:
        if not _is_user_error(exc):
            raise
        sys.stderr.write(f"{PROG} {args.command}: error: {_one_line(exc)}\n")
        return EXIT_ERROR
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    return EXIT_OK


def entry() -> None:
    """The console entry point: :func:`main`, then exit. After Ctrl-C the process ends at
    once (outputs are cleaned up by then): a normal interpreter shutdown would wait on, or
    abort over, a reader thread still blocked on an open standard input."""
    code = main()
    if code == EXIT_INTERRUPTED:
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
