"""Path conventions shared by every reader (light: standard library only)."""

from __future__ import annotations

import os


def is_url(path: str | os.PathLike) -> bool:
    """True for ``http://`` and ``https://`` locations."""
    return isinstance(path, str) and path.lower().startswith(("http://", "https://"))
