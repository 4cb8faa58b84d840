# Assembly (target assembly): a simulated genome with repeats and each genome of the
# simulated metagenome (reads split by the truth table) -> biometal's de Bruijn graph
# assembler and the peers minia, velvet, megahit, spades (each only if installed) -> a
# QUAST-style evaluation table (mappy) with CPU time and peak RSS, and figures.
# Paths: biometal.workflow.assembly.


wildcard_constraints:
    asm_dataset=r"genome|meta_genome\d+",
    asm_peer=r"minia|velvet|megahit|spades",


rule assembly_simulate:
    """A haploid genome with interspersed and tandem repeats (BED table) and its read pairs."""
    output:
        **PLAN.assembly.genome_files,
    log:
        "logs/assembly/simulate.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    params:
        seed=config["seed"],
        cfg=config["assembly"]["genome"],
    script:
        "../scripts/assembly_simulate.py"


rule assembly_split_metagenome:
    """Each metagenome genome's read pairs (by the truth table's genome) and sequence."""
    input:
        genomes=PLAN.assembly.meta["genomes"],
        r1=PLAN.assembly.meta["R1"],
        r2=PLAN.assembly.meta["R2"],
        truth=PLAN.assembly.meta["truth"],
    output:
        PLAN.assembly.meta_files,
    log:
        "logs/assembly/split_metagenome.log",
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=500,
    script:
        "../scripts/assembly_split_metagenome.py"


rule assembly_biometal:
    """biometal's assembler on one data set (a child process, timed like the peers)."""
    input:
        r1=PLAN.assembly.data("{asm_dataset}", "R1.fq.gz"),
        r2=PLAN.assembly.data("{asm_dataset}", "R2.fq.gz"),
    output:
        contigs=PLAN.assembly.contigs("{asm_dataset}", "biometal"),
        run=PLAN.assembly.run_stats("{asm_dataset}", "biometal"),
        gfa=PLAN.assembly.graph("{asm_dataset}")["gfa"],
        stats=PLAN.assembly.graph("{asm_dataset}")["stats"],
    log:
        "logs/assembly/{asm_dataset}/biometal.log",
    benchmark:
        "benchmarks/assembly/{asm_dataset}/biometal.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1000,
    params:
        k=config["assembly"]["k"],
        min_contig=config["assembly"]["min_contig"],
        workdir=lambda wc: f"results/assembly/{wc.asm_dataset}/work_biometal",
    script:
        "../scripts/assembly_run.py"


rule assembly_peer:
    """A peer assembler on one data set (k: biometal's when assembly.k is 0)."""
    input:
        r1=PLAN.assembly.data("{asm_dataset}", "R1.fq.gz"),
        r2=PLAN.assembly.data("{asm_dataset}", "R2.fq.gz"),
        stats=PLAN.assembly.graph("{asm_dataset}")["stats"],
    output:
        contigs=PLAN.assembly.contigs("{asm_dataset}", "{asm_peer}"),
        run=PLAN.assembly.run_stats("{asm_dataset}", "{asm_peer}"),
    log:
        "logs/assembly/{asm_dataset}/{asm_peer}.log",
    benchmark:
        "benchmarks/assembly/{asm_dataset}/{asm_peer}.tsv"
    conda:
        "../envs/{asm_peer}.yaml"
    resources:
        runtime=30,
        mem_mb=4000,
    params:
        k=config["assembly"]["k"],
        min_contig=config["assembly"]["min_contig"],
        workdir=lambda wc: f"results/assembly/{wc.asm_dataset}/work_{wc.asm_peer}",
    script:
        "../scripts/assembly_run.py"


rule assembly_evaluate:
    """QUAST-style evaluation of every tool's contigs (mappy), the repeats' NGA50 ceiling,
    biometal's graph size per simplification step, and the figures."""
    input:
        PLAN.assembly.runs,
        [PLAN.assembly.graph(ds)["stats"] for ds in PLAN.assembly.datasets],
        PLAN.assembly.genome_files["repeats"],
        [PLAN.assembly.data(ds, "reference.fa") for ds in PLAN.assembly.datasets],
    output:
        table=PLAN.assembly.table,
        steps=PLAN.assembly.steps,
        nga50=report(
            PLAN.assembly.figures["nga50_time"],
            caption="../report/assembly_nga50_time.rst",
            category="Assembly",
        ),
        graph=report(
            PLAN.assembly.figures["graph_steps"],
            caption="../report/assembly_graph_steps.rst",
            category="Assembly",
        ),
    log:
        "logs/assembly/evaluate.log",
    benchmark:
        "benchmarks/assembly/evaluate.tsv"
    conda:
        "../envs/biometal.yaml"
    resources:
        runtime=10,
        mem_mb=1000,
    params:
        tools=PLAN.assembly.tools,
        min_contig=config["assembly"]["min_contig"],
    script:
        "../scripts/assembly_evaluate.py"
