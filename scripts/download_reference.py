"""Rule ena_reference: the reference by URL, checked against its MD5."""

from biometal.io.download import Retry, fetch_reference
from biometal.runner import run


def main(smk):
    p = smk.params
    fetch_reference(p.url, smk.output[0], md5=p.md5, md5_url=p.md5_url, retry=Retry(**p.retry))


run(snakemake, main)  # noqa: F821 (injected by Snakemake)
