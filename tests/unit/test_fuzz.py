"""Syscall fuzzing of the kernel model on the fake target (l4gdb.fuzzing.generator), the
invariant checker itself, ``l4gdb fuzz``, and the kernel bugs the fuzzer found."""

import time

import pytest
from fake_target import ARCH32, ARCH64, RAM, FakeMachine

from l4gdb.cli import main
from l4gdb.fuzzing import generator as fuzz
from l4gdb.kernel.abi import Syscall
from l4gdb.kernel.paging import R, W
from l4gdb.kernel.types import Fpage, KernelLabel, MsgTag, kernel_label
from l4gdb.kernel.utcb import BR0

# --- the fuzzer ------------------------------------------------------------------------


@pytest.mark.parametrize("arch", ["fake32", "fake64"])
@pytest.mark.parametrize("seed", range(5))
def test_fuzz_invariants_hold(arch, seed):
    """5 seeds x 2 word sizes x 2,000 kernel entries, invariants after every one."""
    res = fuzz.run(2000, seed, arch)
    assert res.ok, res.line()
    assert res.calls == 2000
    # The generator reaches the interesting parts: IPC, mapping, thread control...
    for what in ("Ipc", "ThreadControl", "Unmap", "ExchangeRegisters", "pagefault"):
        assert res.counts.get(what, 0) > 0, (what, res.counts)


def test_fuzz_is_reproducible():
    a, b = fuzz.run(500, 42, "fake32"), fuzz.run(500, 42, "fake32")
    assert a.ok and (a.calls, a.boots, a.counts) == (b.calls, b.boots, b.counts)


def test_fuzz_builds_mapping_trees():
    fz = fuzz.Fuzzer(3, "fake32")
    deepest = 0
    for _ in range(1500):
        fz.step()
        for s in fz.m.kernel.spaces:
            for n in s.pages.values():
                deepest = max(deepest, sum(1 for _ in n.ancestors()))
    assert deepest >= 2          # sigma0 -> root -> another space (at least)


# Seeds that found kernel bugs (with the generator of the time): kept as regressions.
REGRESSION_SEEDS = [
    (1, "fake64", 200),   # a receive window smaller than a page made unaligned mappings
    (0, "fake64", 3000),  # a map item over a huge fpage walked 2^52 pages (host hang)
]


@pytest.mark.parametrize("seed,arch,count", REGRESSION_SEEDS)
def test_fuzz_regression_seeds(seed, arch, count):
    t0 = time.monotonic()
    res = fuzz.run(count, seed, arch)
    assert res.ok, res.line()
    assert time.monotonic() - t0 < 30


@pytest.mark.slow
def test_fuzz_100k_calls():
    res = fuzz.run(100_000, 2026, "fake32", check_every=1)
    assert res.ok, res.line()
    res = fuzz.run(20_000, 2026, "fake64", check_every=1)
    assert res.ok, res.line()


# --- the checker sees what it should ----------------------------------------------------

def _fuzzed(steps: int = 400, seed: int = 7) -> fuzz.Fuzzer:
    fz = fuzz.Fuzzer(seed, "fake32")
    for _ in range(steps):
        fz.step()
        if any(s.pages for s in fz.m.kernel.spaces if not s.physical) \
                and fz.m.kernel.current is not None:
            break
    fuzz.check(fz.m)
    return fz


def _some_node(k):
    for s in k.spaces:
        if not s.physical and s.pages:
            return next(iter(s.pages.values()))
    raise AssertionError("no user mapping")


def test_check_catches_a_page_table_entry_the_database_does_not_have():
    fz = _fuzzed()
    k = fz.m.kernel
    space = k.root.space
    fz.m.pt.tables[space.root][0x3000_0000] = (RAM + 0x90_0000, 7)
    with pytest.raises(fuzz.Violation, match="page tables differ"):
        fuzz.check(fz.m)


def test_check_catches_an_orphan_mapping():
    fz = _fuzzed()
    node = _some_node(fz.m.kernel)
    node.parent.children.remove(node)
    with pytest.raises(fuzz.Violation, match="children"):
        fuzz.check(fz.m)


def test_check_catches_a_thread_in_two_queues():
    fz = _fuzzed()
    k = fz.m.kernel
    t = k.current
    k.sched.queues.setdefault(t.priority + 1 if t.priority < 255 else 0, []).append(t)
    with pytest.raises(fuzz.Violation, match="ready queues|queued at"):
        fuzz.check(fz.m)


def test_check_catches_a_stale_utcb_copy():
    fz = _fuzzed()
    t = fz.m.kernel.current
    t.utcb.words[5] ^= 1
    with pytest.raises(fuzz.Violation, match="UTCB word 5"):
        fuzz.check(fz.m)


def test_check_catches_an_internal_error():
    fz = _fuzzed()
    fz.m.console.write("l4gdb: thread 100.1: internal kernel error handling syscall 7: x\n")
    with pytest.raises(fuzz.Violation, match="internal kernel error"):
        fuzz.check(fz.m)


def test_check_catches_kernel_memory_in_a_space():
    fz = _fuzzed()
    node = _some_node(fz.m.kernel)
    node.paddr = node.parent.paddr = fuzz.POOL[0]
    with pytest.raises(fuzz.Violation, match="kernel memory|idempotent"):
        fuzz.check(fz.m)


# --- the command ------------------------------------------------------------------------

def test_cli_fuzz(capsys):
    assert main(["fuzz", "--count", "300", "--seed", "4"]) == 0
    assert "300 calls, seed 4, arch fake32" in capsys.readouterr().out
    assert main(["fuzz", "--arch", "riscv64", "--fake", "--count", "100", "--quiet"]) == 0
    assert "arch fake64" in capsys.readouterr().out
    assert main(["fuzz", "--arch", "nope"]) == 2
    assert main(["fuzz", "--count", "-1"]) == 2
    assert main(["fuzz", "--count", "5", "--check-every", "0"]) == 2


def test_cli_fuzz_on_qemu_goes_to_the_qemu_driver(capsys, monkeypatch):
    import l4gdb.fuzzing.qemu as fq

    seen = {}

    def fake_run(arch, count, seed, check_every=50, progress=None):
        seen.update(arch=arch, count=count, seed=seed, check_every=check_every)
        return fuzz.Result(seed=seed, arch=arch, calls=count)
    monkeypatch.setattr(fq, "run", fake_run)
    assert main(["fuzz", "--arch", "arm", "--count", "7", "--seed", "3", "--quiet"]) == 0
    assert seen == {"arch": "arm", "count": 7, "seed": 3, "check_every": 50}
    assert "7 calls, seed 3, arch arm" in capsys.readouterr().out


def test_cli_fuzz_reports_the_violation(capsys, monkeypatch):
    calls = []

    def bad(m, console_from=0):
        calls.append(1)
        if len(calls) == 17:
            raise fuzz.Violation("made up")
    monkeypatch.setattr(fuzz, "check", bad)
    assert main(["fuzz", "--count", "100", "--seed", "9"]) == 1
    out = capsys.readouterr().out
    assert "INVARIANT VIOLATED" in out and "seed 9" in out and "made up" in out


# --- kernel bugs the fuzzer found -----------------------------------------------------

def _sigma0_request(m: FakeMachine, fp: Fpage, window: int) -> None:
    bits = m.arch.word_bits
    m.set_word(m.utcb_addr + BR0 * m.ws, window)
    tag = MsgTag(u=2, label=kernel_label(KernelLabel.SIGMA0, bits)).raw(bits)
    m.ipc(m.sigma0, m.sigma0, 0, tag, fp.raw(bits), 0)


def test_receive_window_smaller_than_a_page_maps_nothing():
    """Bug: a 1 KiB receive window (BR0 = 0x40864ca1) took a 4 KiB page at the
    window's unaligned base: a mapping at 0x40864c00 in the page tables."""
    m = FakeMachine(ARCH32, paging=True)
    window = Fpage(RAM + 0x86_4C00, 10).raw(32)
    _sigma0_request(m, Fpage(RAM + 0x90_0000, 12), window)
    assert m.running == m.root
    assert not m.kernel.root.space.pages
    assert all(va % 0x1000 == 0 for va in m.pt.tables[m.root_of(m.root)])
    fuzz.check(m)


def test_map_item_over_a_huge_fpage_walks_only_existing_pages():
    """Bug: on a 64-bit machine a map item with a 2^63-byte fpage iterated over
    every page of it (the host hung); only pages the sender has can map."""
    m = FakeMachine(ARCH64, paging=True)
    _sigma0_request(m, Fpage(RAM + 0x90_0000, 12), Fpage(0, 1).raw(64))
    assert len(m.kernel.root.space.pages) == 1
    x = m.spawn_space(120)
    m.set_priority(m.root, 10)
    assert m.running == x
    m.set_word(m.utcb_addr + BR0 * m.ws, Fpage(0, 1).raw(64))       # accept anything
    m.ipc(0, m.root, 0)                                             # x waits for root
    assert m.running == m.root
    t0 = time.monotonic()
    m.load_mrs(MsgTag(t=2).raw(64), 0 | (4 << 1), Fpage(0, 63, 7).raw(64))
    m.syscall(Syscall.Ipc, x, 0, 0)
    assert time.monotonic() - t0 < 1.0
    xs = m.kernel.thread_by_global(x).space
    assert list(xs.pages) == [RAM + 0x90_0000]
    fuzz.check(m)


# --- the page-table shadow (what fuzzing on QEMU reads back) ---------------------------

def test_shadow_mismatches_find_a_changed_table_word():
    from l4gdb_arm.pagetables import ArmPageTables

    pt = ArmPageTables(pool=(0x4700_0000, 0x4800_0000), ram=(0x4000_0000, 0x4800_0000),
                       window=0xC000_0000, kernel_image=(0x4000_0000, 0x4001_0000))
    root = pt.new_root()
    pt.map(root, 0x1000_0000, 0x4080_0000, 12, R | W)
    memory = {}
    for addr, data in pt.take_writes():
        for i in range(0, len(data), 4):
            memory[addr + i] = data[i:i + 4]

    def read(addr, n):
        return b"".join(memory.get(addr + i, bytes(4)) for i in range(0, n, 4))

    assert pt.shadow and pt.shadow_mismatches(read) == []
    entry = next(a for a, v in pt.shadow.items() if v & 0xFFFFF000 == 0x4080_0000)
    memory[entry] = (0x4090_0000 | 0x32).to_bytes(4, "little")      # another frame
    bad = pt.shadow_mismatches(read)
    assert len(bad) == 1 and bad[0].startswith(f"{entry:#x} holds 0x40900032")

