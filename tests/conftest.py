"""Fixtures shared by every test directory."""

from __future__ import annotations

import http.server
import threading

import pytest


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
