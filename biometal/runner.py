"""Glue for the thin scripts in ``scripts/``: logging to the rule's log, clean user errors.

Each script does ``run(snakemake, main)`` where ``main(snakemake)`` reads inputs/params and
calls one library function. Log messages (``logging``) and warnings go to the rule's
``log:`` file. A user mistake (:func:`~biometal.errors.is_user_error`) is written as one
line to the log and to stderr and the job exits 1, without a traceback; any other exception
keeps its traceback (it is a bug). This module does not import snakemake: ``smk`` is the
object Snakemake injects into the script.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import Any

from biometal._startup import prepare_numba
from biometal.errors import is_user_error


def _configure_logging(log_path: str | None) -> None:
    handlers: list[logging.Handler] = (
        [logging.FileHandler(log_path, mode="w", encoding="utf-8")]
        if log_path
        else [logging.StreamHandler(sys.stderr)]
    )
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )
    logging.captureWarnings(True)


def run(smk: Any, main: Callable[[Any], Any]) -> None:
    """Run ``main(smk)`` with logging set up; exit 1 with one line on a user error."""
    prepare_numba()  # numba's start-up cuts, paid only if numba is imported (_startup)
    log_path = smk.log[0] if len(smk.log) else None
    _configure_logging(log_path)
    log = logging.getLogger(f"biometal.rule.{smk.rule}")
    t0 = time.perf_counter()
    try:
        main(smk)
    except Exception as exc:
        if not is_user_error(exc):
            raise
        log.error("%s", exc)
        sys.stderr.write(f"error: {exc}\n")
        sys.stderr.flush()
        logging.shutdown()
        raise SystemExit(1) from None
    log.info("done in %.2f s", time.perf_counter() - t0)
