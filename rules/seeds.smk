# SMEM seeds (target seed_filter, stage 1): the FM-index of the reference (built once,
# saved) and the SMEMs of the first seedfilter.n_pairs read pairs in bwa fastmap format.
# Inputs (biometal.workflow.seeds): the simulated sample, or the runs the ENA checkpoint chose.


rule fm_index:
    """Suffix array (libdivsufsort) + FMD-index of the reference and its reverse complement."""
    input:
        PLAN.seeds.reference,
    output:
        PLAN.seeds.index,
    log:
        "logs/seeds/fm_index.log",
    benchmark:
        "benchmarks/seeds/fm_index.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=120,
        mem_mb=PLAN.seeds.index_mem_mb,
    params:
        seed=config["seedfilter"]["index_seed"],
    script:
        "../scripts/seed_index.py"


rule smem_seeds:
    """SMEMs (length >= min_seed_len) of the first n_pairs pairs, as bwa fastmap prints them."""
    input:
        unpack(
            (
                lambda wc: PLAN.seeds.ena_fastq(
                    checkpoints.ena_filereport.get().output.runs
                )
            )
            if PLAN.seeds.source == "ena"
            else PLAN.seeds.sim_inputs
        ),
        index=PLAN.seeds.index,
    output:
        PLAN.seeds.fastmap,
    log:
        f"logs/seeds/smem_{PLAN.seeds.sample}.log",
    benchmark:
        f"benchmarks/seeds/smem_{PLAN.seeds.sample}.tsv"
    conda:
        "../envs/biometal.yaml"
    threads: 2
    resources:
        runtime=60,
        mem_mb=1000,
    params:
        n_reads=config["seedfilter"]["n_pairs"],
        min_len=config["seedfilter"]["min_seed_len"],
        max_occ=config["seedfilter"]["max_occ"],
    script:
        "../scripts/seed_smems.py"
