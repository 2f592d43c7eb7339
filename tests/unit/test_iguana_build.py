"""Optional guest libraries (libiguana, libcheck) are linked into the programs that
include their headers only."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from l4gdb.runtime.build import _runtime_sources, builtin_programs, guest_dir


def _libs(sources: list[Path]) -> set[str]:
    tc = SimpleNamespace(crt0=Path("crt0.S"))
    return {p.parent.name for p in _runtime_sources(tc, sources)[1:]}   # type: ignore[arg-type]


def test_iguana_programs_get_libiguana(tmp_path):
    app = guest_dir() / "apps" / "iguana-test"
    assert "iguana-test" in builtin_programs()
    assert "libiguana" in _libs(sorted(app.glob("*.c")))      # through iguana-test.h


def test_other_programs_do_not(tmp_path):
    src = tmp_path / "plain.c"
    src.write_text("#include <l4/l4.h>\nint thread_create(void) { return 0; }\n")
    assert _libs([src]) == {"rt"}            # libl4 has no .c files yet
    l4test = sorted((guest_dir() / "apps" / "l4test").glob("*.c"))
    assert "libiguana" not in _libs(l4test)
    direct = tmp_path / "direct.c"
    direct.write_text("#include <iguana/iguana.h>\nint main(void){ return !pd_myself(); }\n")
    assert "libiguana" in _libs([direct])


def test_test_programs_share_libcheck_and_others_may_define_check(tmp_path):
    for app in ("l4test", "iguana-test"):
        assert "libcheck" in _libs(sorted((guest_dir() / "apps" / app).glob("*.c")))
    own = tmp_path / "own.c"
    own.write_text("#include <l4/l4.h>\nint check(int x) { return x; }\n")
    assert "libcheck" not in _libs([own])
