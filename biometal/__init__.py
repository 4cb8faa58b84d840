"""biometal: streaming, GPU-accelerated and ML-assisted genomics.

The library behind the biometal-workflow Snakemake pipeline. Sub-packages:

- ``biometal.io``        streaming FASTQ/FASTA readers and writers, sample sheets
- ``biometal.simulate``  seeded simulation of references, variants, reads, RNA-seq, metagenomes
- ``biometal.kernels``   compute kernels (Metal source + numba CPU twin) and backend dispatch
"""

__version__ = "0.1.0"
