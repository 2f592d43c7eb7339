"""System-call fuzzing on QEMU (issue "Hardening", item 1): 10,000 random calls
per architecture from workers of a privileged and two unprivileged spaces, the
invariants checked every 50 calls -- page tables read back from guest memory --
and proof that the checks catch a broken table on the real machine."""

from __future__ import annotations

import pytest

from l4gdb.fuzzing import qemu as fuzzqemu
from l4gdb.runtime.plugins import get_plugins

pytestmark = pytest.mark.slow

ARCHES = ["arm", "mips", "x86", "riscv", "riscv64"]


def _need(arch: str) -> None:
    if arch not in get_plugins().arch_names():
        pytest.skip(f"no {arch} plugin installed")


@pytest.mark.parametrize("arch", ARCHES)
def test_ten_thousand_random_calls(arch, no_leftovers):
    _need(arch)
    res = fuzzqemu.run(arch, 10_000, seed=11, check_every=50)
    assert res.ok, res.line()
    assert res.calls == 10_000
    # The calls were spread over the whole API, not one corner of it.
    assert {"Ipc", "ThreadControl", "SpaceControl", "ExchangeRegisters", "Unmap",
            "Schedule", "KDebug"} <= set(res.counts), res.counts


class _Corrupting(fuzzqemu.QemuFuzzer):
    """After 120 calls, one word of a page table in guest memory is changed behind
    the host's back: the next check must say so."""

    def _before_trap(self, trap):
        if self.result.calls == 120 and not getattr(self, "done", False):
            self.done = True
            k, pt = self.kernel, self.paging
            ka = max(a for a, v in pt.shadow.items() if v)
            k.write_memory(ka, ((pt.shadow[ka] ^ 0x1000) & k.arch.word_mask)
                           .to_bytes(pt.entry_size, "little"))
        return super()._before_trap(trap)


@pytest.mark.parametrize("arch", ["arm", "x86"])
def test_a_corrupted_page_table_in_guest_memory_is_caught(arch, no_leftovers):
    _need(arch)
    res = _Corrupting(arch, seed=2, count=400, check_every=25).run()
    assert not res.ok
    assert "page-table memory differs from what the host wrote" in res.violation
    assert 120 <= res.at_call <= 150
