"""Unit tests run without installing the package: put src/ on the path."""

import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))

# shared checks: their asserts say what they compared, as the tests' own do
pytest.register_assert_rewrite("pagetable_checks", "glue_checks", "abi_helpers")


@pytest.fixture(scope="module")
def plugins():
    """A plugin manager of the installed plugins (the Linux ABI tests)."""
    from l4gdb.runtime.plugins import Plugins

    return Plugins()
