"""The unit tests' guards (used by tests/unit/conftest.py): network sockets refused and recorded, model
libraries noticed."""

from __future__ import annotations

import socket
import sys

HEAVY = ("torch", "sentence_transformers", "llama_cpp")
NETWORK_FAMILIES = (socket.AF_INET, socket.AF_INET6)


class NetworkUsed(OSError):
    """A unit test tried to open a network connection or listen on a port."""


class Guard:
    def __init__(self):
        self.attempts: list[str] = []

    def check(self, sock: socket.socket, what: str, address) -> None:
        if sock.family in NETWORK_FAMILIES:
            self.attempts.append(f"{what} {address!r}")
            raise NetworkUsed(f"unit tests may not use the network: {what} {address!r} (move the test to "
                              "tests/integration/)")

    def heavy_loaded(self) -> list[str]:
        return [name for name in HEAVY if name in sys.modules]


GUARD = Guard()
_connect, _connect_ex, _bind = socket.socket.connect, socket.socket.connect_ex, socket.socket.bind


def _guarded_connect(self, address):
    GUARD.check(self, "connect", address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    GUARD.check(self, "connect", address)
    return _connect_ex(self, address)


def _guarded_bind(self, address):
    GUARD.check(self, "bind", address)
    return _bind(self, address)
