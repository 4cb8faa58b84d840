"""Rule seedfilter_cost: what the filter saves on this machine."""

from biometal.ml.seedfilter.cost import CostParams, measure_cost
from biometal.runner import run


def main(smk):
    p = smk.params
    measure_cost(
        smk.input.index,
        smk.input.windows,
        smk.input.model,
        smk.input.onnx,
        smk.input.metrics,
        smk.input.feature_models,
        tuple(p.split),
        p.seed,
        smk.output.table,
        smk.output.latency,
        smk.output.summary,
        CostParams(
            repeats=p.cost["repeats"],
            threads=p.cost["threads"],
            batch_sizes=tuple(p.batch_sizes),
            providers=tuple(p.providers),
        ),
    )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
