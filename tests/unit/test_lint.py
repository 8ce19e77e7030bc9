"""The code stays clean under the project's ruff configuration (pyproject.toml: E, F, I, B, UP)."""

from __future__ import annotations

import subprocess
import sys

from support import ROOT


def test_ruff_finds_nothing():
    p = subprocess.run([sys.executable, "-m", "ruff", "check", "assistant", "tests", "bench"],
                       capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
