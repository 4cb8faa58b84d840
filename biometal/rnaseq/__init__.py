"""RNA-seq quantification at constant memory (case study 1, target ``case_study_rnaseq``).

Modules (imported on demand; numba loads only with the index and quantifier):

- :mod:`.index`: k-mer index (canonical k-mers -> equivalence classes, unitigs), build/save/load
- :mod:`.kmer_index`: the :class:`~.kmer_index.KmerIndex` type (below index and pseudoalign)
- :mod:`.pseudoalign`: classes of reads and pairs, skipping along unitigs (numba, parallel)
- :mod:`.em`: kallisto's EM with effective lengths -> estimated counts and TPM
- :mod:`._kernels`: the numba loops of the index, the pseudoaligner and the EM (one file)
- :mod:`.quant`: the streaming driver, one pass per sample (mate files in lock-step)
- :mod:`.matrices`: gene-level counts, CPM/TPM, log2, PCA, hierarchical clustering
- :mod:`.accuracy`: Spearman / MARD against the simulated truth
- :mod:`.peers`: kallisto and salmon outputs in the same table format
- :mod:`.cost`: benchmark files -> cost, index-cost, memory and throughput tables
- :mod:`.samples`: the sample sheet (sample, condition, fq1, fq2)
- :mod:`.scaling`: inputs of the memory-scaling experiment
- :mod:`.figures`: the case study's figures
"""
