"""The guards of tests/unit/conftest.py catch what they claim: a network socket, a model library."""

from __future__ import annotations

import socket
import sys
import types

import pytest
from unit_guard import GUARD, NetworkUsed


def test_a_network_socket_is_refused_and_recorded(unit_guard):
    with socket.socket() as s, pytest.raises(NetworkUsed, match="unit tests may not use the network"):
        s.bind(("127.0.0.1", 0))
    with socket.socket() as s, pytest.raises(NetworkUsed):
        s.connect(("127.0.0.1", 9))
    assert len(unit_guard.attempts) == 2
    unit_guard.attempts.clear()  # this test meant to trip the guard; any other test would now fail


def test_local_socket_pairs_are_allowed():
    a, b = socket.socketpair()  # asyncio's self-pipe: not the network
    with a, b:
        a.sendall(b"x")
        assert b.recv(1) == b"x"


def test_a_loaded_model_library_is_noticed():
    with pytest.MonkeyPatch.context() as mp:  # undone before the guard looks, at this test's end
        for name in GUARD.heavy_loaded():  # an integration test run earlier in this process may have loaded one
            mp.delitem(sys.modules, name)
        assert GUARD.heavy_loaded() == []
        mp.setitem(sys.modules, "torch", types.ModuleType("torch"))
        assert GUARD.heavy_loaded() == ["torch"]
