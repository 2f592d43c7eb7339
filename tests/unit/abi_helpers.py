"""What the Linux ABI tests share: an arch's LinuxAbi from the plugins (the
``plugins`` fixture is the unit conftest's)."""

from __future__ import annotations

from l4gdb.archkit.linux_abi import LinuxAbi
from l4gdb.runtime.plugins import Plugins


def abi_of(plugins: Plugins, arch: str) -> LinuxAbi:
    abi = plugins.hook.l4gdb_linux_abi(arch=arch)
    assert isinstance(abi, LinuxAbi)
    return abi
