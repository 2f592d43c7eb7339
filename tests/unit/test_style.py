"""The project's style is checked, not hoped for: ``ruff check`` clean, with the
version pinned in pyproject.toml's test extra (rules do not drift with ruff
releases)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
TREES = ["src", "tests", "arch", "plugins"]


def _ruff() -> str:
    here = Path(sys.executable).with_name("ruff")
    found = str(here) if here.is_file() else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    return found


def test_ruff_check_is_clean():
    done = subprocess.run([_ruff(), "check", "--quiet", *TREES], cwd=TOP, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
