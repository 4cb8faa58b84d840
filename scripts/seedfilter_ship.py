"""Rule seedfilter_ship: the trained artifacts and their model card into models/."""

from biometal.ml.seedfilter.ship import ship_models
from biometal.runner import run


def main(smk):
    ship_models(dict(smk.input.items()), dict(smk.output.items()), smk.params.config)


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
