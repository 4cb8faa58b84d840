"""biometal: streaming, GPU-accelerated and ML-assisted genomics.

The library behind the biometal-workflow Snakemake pipeline. Sub-packages:

- ``biometal.io``        streaming FASTQ/FASTA readers and writers, sample sheets
- ``biometal.simulate``  seeded simulation of references, variants, reads, RNA-seq, metagenomes
- ``biometal.kernels``   compute kernels (Metal source + numba CPU twin) and backend dispatch

Layering (DESIGN.md section 2, held by tests/unit/test_layering.py): ``biometal`` never imports
snakemake, ``biometal.kernels`` never imports the rest of ``biometal``, and there are no import
cycles. numba code lives in ``kernels/NAME_cpu.py`` when the kernel has a Metal twin, and
otherwise in the calling package's private ``_kernels.py``; a numba call graph stays in one
file. Thread counts are set only through :mod:`biometal._threads`.
"""

__version__ = "0.1.0"
