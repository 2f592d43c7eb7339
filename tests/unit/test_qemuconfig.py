"""The QEMU config checks (target/qemuconfig.py) that turn a broken -readconfig
file into a one-line error naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from l4gdb.target.qemuconfig import ConfigError, check_syntax

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("cfg", sorted([*ROOT.glob("qemu-configs/*.cfg"),
                                        *ROOT.glob("plugins/*/*/qemu/*.cfg")]))
def test_the_shipped_configs_pass(cfg):
    check_syntax(cfg)


@pytest.mark.parametrize("text, where, what", [
    ('[machine]\n  type = "virt\n', 2, "not a [group]"),
    ('# a comment\ntype = "virt"\n', 2, "a setting before any [group]"),
    ('[machine\n', 1, "not a [group]"),
    ('[machine]\n  type = virt\n', 2, "not a [group]"),
    ('[device "a"]\n  driver = "x"\n\n[memory]\n size "128M"\n', 5, "not a [group]"),
])
def test_syntax_errors_name_the_file_and_line(tmp_path, text, where, what):
    cfg = tmp_path / "bad.cfg"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as e:
        check_syntax(cfg)
    assert str(e.value).startswith(f"{cfg}:{where}: {what}")


def test_an_unreadable_config(tmp_path):
    cfg = tmp_path / "binary.cfg"
    cfg.write_bytes(b"\xff\xfe\x00[machine]")
    with pytest.raises(ConfigError) as e:
        check_syntax(cfg)
    assert str(e.value).startswith(f"{cfg}: cannot read the QEMU config")
