"""Fixtures shared by every test directory."""

from __future__ import annotations

import http.server
import threading

import pytest

#: the xdist group of the tests that use the tiny run of `all` (tests/workflow/conftest.py)
TINY_RUN_GROUP = "tiny_run"


def _uses_tiny_run(item: pytest.Item) -> bool:
    """Whether the test takes the session's tiny run of `all`: as a fixture, or (the docs'
    ``--report`` command) through ``request.getfixturevalue``."""
    if "tiny_run" in getattr(item, "fixturenames", ()):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "--report" in str(callspec.params.get("cmd", ""))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Test processes (``make test``: ``pytest -n 2 --dist loadgroup``): each file runs in
    one process, so its module fixtures are made once; the tests of every file that use the
    tiny run of `all` (a session fixture: 118 s in one process, 300 s beside the other;
    fresh-clone `.ci/run` durations) run in one process, so that run is
    made once. The groups are handed out in the order of ``items`` (``make test`` passes
    ``--no-loadscope-reorder``): that run first, then the other workflow files (the longest
    ones), then the rest, so that no long file starts last.

    The group goes into the test's id as ``ID@GROUP``, the form xdist's loadgroup reads.
    xdist 3.8 writes it there from ``xdist_group`` marks through an attribute that pytest 9
    no longer has (``item._nodeid``; pytest 9 keeps ``item._id``), so the marks alone put
    every test in a group of its own; this sets ``_id`` instead. Without ``-n`` the ids stay
    as they are and only the order changes."""
    # stable: the files keep their order within each of the three parts
    items.sort(key=lambda item: (not _uses_tiny_run(item), "tests/workflow/" not in item.nodeid))
    if not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId

    for item in items:
        group = TINY_RUN_GROUP if _uses_tiny_run(item) else item.nodeid.split("::")[0]
        item._id = NodeId.parse(f"{item.nodeid}@{group}")


@pytest.fixture
def serve():
    """Start real HTTP servers on 127.0.0.1: ``serve(handler_class) -> "http://127.0.0.1:PORT"``.

    Each server runs on a daemon thread and is shut down when the test ends.
    """
    servers = []

    def start(handler):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()
