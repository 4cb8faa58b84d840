"""De Bruijn graph assembly: k-mer counting (the ``kmer_count`` kernel), the compacted graph,
graph cleaning, read and read-pair threading through repeats, long-read overlaps, QUAST-style
evaluation and peer runners. The assembler built from them is
:mod:`biometal.assembly.example_assembler` (``biometal assemble``)."""
