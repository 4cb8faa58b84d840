# SMEM seeds (target seed_filter, stage 1): the FM-index of the reference (built once,
# saved) and the SMEMs of the first seedfilter.n_pairs read pairs in bwa fastmap format.
SEEDCFG = config["seedfilter"]
SEEDS = "results/seeds"
if SEEDCFG["source"] == "ena":
    SEED_REFERENCE = ENA_REFERENCE
    SEED_SAMPLE = ENA_PROJECT
    SEED_TRUTH = []

    def seed_fastq(wildcards):
        runs = ena_runs()
        return {
            "r1": [f"{ENA}/{r}_R1.fastq.gz" for r in runs],
            "r2": [f"{ENA}/{r}_R2.fastq.gz" for r in runs],
        }

else:
    SEED_REFERENCE = SIM_REFERENCE
    SEED_SAMPLE = SIM_DNA_SAMPLE
    SEED_TRUTH = [SIM_READS["truth"]]

    def seed_fastq(wildcards):
        return {"r1": [SIM_READS["R1"]], "r2": [SIM_READS["R2"]]}


SEED_INDEX = f"{SEEDS}/reference.fmi.npz"


rule fm_index:
    """Suffix array + FMD-index of the reference and its reverse complement (numpy/numba)."""
    input:
        SEED_REFERENCE,
    output:
        SEED_INDEX,
    params:
        seed=SEEDCFG["index_seed"],
    log:
        "logs/seeds/fm_index.log",
    benchmark:
        "benchmarks/seeds/fm_index.tsv"
    resources:
        mem_mb=2000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seed_index.py"


rule smem_seeds:
    """SMEMs (length >= min_seed_len) of the first n_pairs pairs, as bwa fastmap prints them."""
    input:
        unpack(seed_fastq),
        index=SEED_INDEX,
    output:
        f"{SEEDS}/{SEED_SAMPLE}.fastmap.txt.gz",
    params:
        n_reads=SEEDCFG["n_pairs"],
        min_len=SEEDCFG["min_seed_len"],
        max_occ=SEEDCFG["max_occ"],
    log:
        f"logs/seeds/smem_{SEED_SAMPLE}.log",
    benchmark:
        f"benchmarks/seeds/smem_{SEED_SAMPLE}.tsv"
    threads: 2
    resources:
        mem_mb=1000,
    conda:
        "../envs/biometal.yaml"
    script:
        "../scripts/seed_smems.py"
