"""The workflow's layout: config -> what each stage reads and writes, and which peers run.

The Snakefile calls :func:`plan_workflow` once; rule files read the returned :class:`Plan`
(``PLAN.rnaseq.fastq``, ``PLAN.variants.bam(sample)``, ...) and hold nothing but rules. Every
stage has a builder here (``qc_plan``, ``rnaseq_plan``, ...) that takes the validated config,
reads the stage's sample sheet with the stage's own reader, and returns a small frozen object
or raises :class:`~biometal.errors.ConfigError` / ``InputFormatError`` with a one-line message.

Light on purpose: this package imports only the standard library, ``biometal.errors``, the
config loader (PyYAML, jsonschema) and the sample-sheet readers, so a Snakemake host that
submits jobs to a cluster or to conda environments needs none of the numeric stack
(tests/unit/test_layering.py holds this).
"""

from biometal.workflow.plan import Plan, plan_workflow

__all__ = ["Plan", "plan_workflow"]
