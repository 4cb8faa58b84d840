"""Peer tools (kallisto, salmon, bcftools, FreeBayes, samtools, cutadapt, fastp, minia, velvet,
megahit, spades): enabled by config, found on PATH or provided by their pinned conda env
(``envs/<tool>.yaml``) under ``--sdm conda``."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

# executables each peer's rules run (bgzip compresses FreeBayes' VCF)
PEER_TOOLS: dict[str, tuple[str, ...]] = {
    "kallisto": ("kallisto",),
    "salmon": ("salmon",),
    "bcftools": ("bcftools",),
    "freebayes": ("freebayes", "bgzip"),
    "samtools": ("samtools",),
    "cutadapt": ("cutadapt",),
    "fastp": ("fastp",),
    "minia": ("minia",),
    "velvet": ("velveth", "velvetg"),
    "megahit": ("megahit",),
    "spades": ("spades.py",),
}


@dataclass
class PeerFinder:
    """Decides which requested peers run. With ``conda`` every requested peer runs (its env
    installs it); otherwise a peer runs when its executables are on PATH, and each missing
    one is noted once in ``notes``."""

    conda: bool = False
    which: Callable[[str], str | None] = shutil.which
    notes: list[str] = field(default_factory=list)

    def enabled(self, requested: Iterable[str], what: str) -> list[str]:
        out = []
        for peer in requested:
            missing = [] if self.conda else [t for t in PEER_TOOLS[peer] if not self.which(t)]
            if missing:
                note = (
                    f"note: {what} peer '{peer}' is left out: {', '.join(missing)} not found "
                    f"on PATH (install it, or run with --sdm conda to use envs/{peer}.yaml)"
                )
                if note not in self.notes:
                    self.notes.append(note)
            else:
                out.append(peer)
        return out
