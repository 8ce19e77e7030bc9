"""Unit tests: no model, no network, no browser. Two guards hold every test here to that:

* a socket that connects or binds to a network address (IPv4/IPv6; loopback included) raises
  ``NetworkUsed`` and fails the test, even where the code under test catches the error;
* a test after which torch (or sentence-transformers, llama.cpp) has been imported fails, naming it.

Subprocesses a test starts are its own business (``assistant --help`` in a child is fine).
"""

from __future__ import annotations

import socket

import pytest
from unit_guard import GUARD, _guarded_bind, _guarded_connect, _guarded_connect_ex


@pytest.fixture(autouse=True)
def unit_guard(monkeypatch):
    """Blocks network sockets during the test; fails it if it used one or loaded a heavy model library."""
    loaded_before = set(GUARD.heavy_loaded())
    GUARD.attempts.clear()
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket.socket, "bind", _guarded_bind)
    yield GUARD
    attempts, GUARD.attempts = list(GUARD.attempts), []
    if attempts:
        pytest.fail(f"a unit test used the network: {'; '.join(attempts)} (move it to tests/integration/)",
                    pytrace=False)
    new = sorted(set(GUARD.heavy_loaded()) - loaded_before)
    if new:
        pytest.fail(f"a unit test loaded {', '.join(new)} (a real model): use the hash embedder or a fake, or move "
                    "it to tests/integration/", pytrace=False)
