"""The pytest plugin without booting anything: options, markers, skip reasons.
(Booting systems through it: tests/system/test_harness_plugin.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from l4gdb.testing import pytest_plugin

INNER = '''
import pytest

def test_plain(l4gdb_system, l4gdb_arch):
    l4gdb_system(program="hello")

@pytest.mark.l4gdb_arches("arm")
def test_marked(l4gdb_system):
    l4gdb_system(program="hello")

def test_no_system():
    pass
'''


def _inner(tmp_path, *args, path=None):
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    env = dict(os.environ)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", "-v",
         "-p", "no:xdist", "--basetemp", str(tmp_path / "base"), *args,
         str(tmp_path / "test_inner.py")],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)


def test_plugin_is_registered_through_its_entry_point():
    from importlib.metadata import entry_points

    eps = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert eps.get("l4gdb") == "l4gdb.testing.pytest_plugin"


def test_skipped_with_a_reason_without_qemu(tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("clang", "ld.lld"):
        if shutil.which(tool):
            os.symlink(shutil.which(tool), bindir / tool)
    r = _inner(tmp_path, path=f"{bindir}:{os.path.dirname(sys.executable)}")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 passed, 2 skipped" in r.stdout
    assert "l4gdb: needs qemu-system-arm" in r.stdout
    assert "test_plain PASSED" not in r.stdout and "test_no_system PASSED" in r.stdout


def test_unknown_arch_is_a_skip_not_an_error(tmp_path):
    r = _inner(tmp_path, "--l4gdb-arch=vax", "-k", "marked or no_system")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no selected architecture is installed" in r.stdout


def test_uses_of_the_fixture_are_marked_slow(tmp_path):
    r = _inner(tmp_path, "-m", "not slow", "--collect-only", "-q")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test_no_system" in r.stdout and "test_plain" not in r.stdout


def test_marker_and_option_select_arches(tmp_path):
    r = _inner(tmp_path, "--l4gdb-arch=arm,vax", "--collect-only", "-q")
    assert "test_marked[arm]" in r.stdout and "vax" not in r.stdout  # the test supports arm only


@pytest.mark.parametrize("value, want", [("all", None), ("arm", ["arm"]),
                                         (" arm, mips ,", ["arm", "mips"])])
def test_selected_arches(value, want):
    class Config:
        def getoption(self, name, default=None):
            return value

    assert pytest_plugin._selected_arches(Config()) == want
