"""Rule seed_windows: labelled seed windows and the class balance."""

from biometal._threads import numba_threads
from biometal.ml.seedfilter.windows import WindowParams, label_windows
from biometal.runner import run


def main(smk):
    p = smk.params
    with numba_threads(smk.threads):
        label_windows(
            smk.input.index,
            list(smk.input.r1),
            list(smk.input.r2),
            smk.output.windows,
            smk.output.balance,
            n_pairs=p.n_pairs,
            truth=smk.input.truth[0] if len(smk.input.truth) else None,
            params=WindowParams.from_config(p.min_seed_len, p.max_occ, p.window, p.labels),
        )


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
