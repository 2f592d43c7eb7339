"""Wombat process memory on the fake MMU: exec of static ELFs with demand paging,
the page cache shared between processes, copy-on-write after fork, user
memory access for system calls, the initial stack, release."""

from __future__ import annotations

import struct

import pytest
from wombat_mm_env import DATA, PAGE, STACK_TOP, TEXT, UTCB_AREA, Env, Load, build_elf, sample_elf

from l4gdb.kernel.paging import R, W, X
from l4gdb.wombat.elfload import AT
from l4gdb.wombat.errors import LinuxError
from l4gdb.wombat.mm import MapFlags

ANON = MapFlags(anonymous=True)


def exec_sample(env: Env, argv=("prog", "-x"), envp=("A=1",)):
    mm = env.mm()
    entry, sp = mm.exec_image("/bin/prog", sample_elf(), list(argv), list(envp))
    env.settle()
    return mm, entry, sp


def words(mm, addr: int, n: int) -> list[int]:
    return list(struct.unpack(f"<{n}I", mm.read(addr, 4 * n)))


# --- exec ------------------------------------------------------------------------------

def test_exec_describes_the_image_and_maps_only_the_stack():
    env = Env()
    mm, entry, sp = exec_sample(env)
    assert entry == TEXT + 0x40 and sp % 16 == 0 and STACK_TOP - PAGE <= sp < STACK_TOP
    areas = [(a["start"], a["end"], a["perms"], a["name"]) for a in mm.describe()["areas"]]
    assert areas == [
        (TEXT, TEXT + 3 * PAGE, "r-xp", "/bin/prog"),
        (0x30000, 0x31000, "rw-p", "/bin/prog"),          # the file part of the data
        (0x31000, 0x34000, "rw-p", ""),                    # bss beyond its first page
        (STACK_TOP - 0x20000, STACK_TOP, "rw-p", "[stack]"),
    ]
    assert mm.brk_start == mm.brk_end == 0x34000
    # Demand paging: only the stack page written at exec is in the page tables.
    assert sorted(mm.space.pages) == [STACK_TOP - PAGE]
    assert env.hw(mm, TEXT) is None and env.ctx.cache.fills == 0
    assert mm.maps_text().splitlines()[0] == "00010000-00013000 r-xp 00001000 00:00 0 /bin/prog"


def test_initial_stack_argv_envp_auxv():
    env = Env()
    mm, entry, sp = exec_sample(env)
    argc, a0, a1, null, e0, null2 = words(mm, sp, 6)
    assert (argc, null, null2) == (2, 0, 0)
    assert mm.read_cstr(a0) == b"prog" and mm.read_cstr(a1) == b"-x"
    assert mm.read_cstr(e0) == b"A=1"
    aux, at = {}, sp + 24
    while True:
        tag, val = words(mm, at, 2)
        at += 8
        if tag == AT["AT_NULL"]:
            break
        aux[tag] = val
    assert aux[AT["AT_ENTRY"]] == entry and aux[AT["AT_PAGESZ"]] == PAGE
    assert aux[AT["AT_PHNUM"]] == 3 and aux[AT["AT_PHENT"]] == 32
    assert aux[AT["AT_HWCAP"]] == 0x1234 and aux[AT["AT_CLKTCK"]] == 100
    assert aux[AT["AT_SECURE"]] == 0 and aux[AT["AT_UID"]] == 0
    assert mm.read_cstr(aux[AT["AT_PLATFORM"]]) == b"v7l"
    assert mm.read_cstr(aux[AT["AT_EXECFN"]]) == b"/bin/prog"
    assert len(mm.read(aux[AT["AT_RANDOM"]], 16)) == 16
    # The program headers are not inside a loaded segment here: Linux's fallback.
    assert aux[AT["AT_PHDR"]] == TEXT - 0x1000 + 52
    assert words(mm, STACK_TOP - 4, 1) == [0]               # the end marker
    assert all(sp < p < STACK_TOP for p in (a0, a1, e0))


def test_phdr_inside_the_first_segment_and_caller_auxv():
    env = Env()
    code = bytes(0x200)
    elf = build_elf([Load(TEXT, code)], TEXT + 0x100, phdr_in_first=True)
    mm = env.mm()
    _, sp = mm.exec_image("/p", elf, ["p"], [], {"AT_UID": 1000, "AT_HWCAP": None})
    vals = words(mm, sp, (STACK_TOP - sp) // 4)
    pairs = dict(zip(vals[4::2], vals[5::2], strict=False))     # argc, argv0, NULL, NULL, auxv
    assert pairs[AT["AT_PHDR"]] == TEXT + 52 and pairs[AT["AT_UID"]] == 1000
    assert AT["AT_HWCAP"] not in pairs
    assert mm.read(TEXT + 52, 4) == struct.pack("<I", 1)       # PT_LOAD's p_type


def test_static_pie_is_loaded_at_the_base():
    env = Env(dyn_base=0x0050_0000)
    elf = build_elf([Load(0, bytes(0x100), flags=R | X),
                     Load(0x2000, b"\x11" * 16, flags=R | W)], 0x40, etype=3,
                    phdr_in_first=True, extra=[(2, 0x7FFF_0000, 0x2000, 0x50, 0x50, 6)])
    # (a PT_DYNAMIC pointing nowhere: the program relocates itself, Linux ignores it)
    mm = env.mm()
    entry, _ = mm.exec_image("/pie", elf, ["pie"], [])
    assert entry == 0x0050_0040
    assert mm.read(0x0050_2000, 4) == b"\x11" * 4 and mm.read(0x0050_0000, 4) == b"\x7fELF"


# --- demand paging and the page cache ------------------------------------------------------

def test_text_faults_from_one_cached_frame_shared_by_two_processes():
    env = Env()
    a, _, _ = exec_sample(env)
    b, _, _ = exec_sample(env)
    assert env.touch(a, TEXT + 0x1008, X) == TEXT + 0x1008
    assert env.touch(b, TEXT + 0x1008, R) == TEXT + 0x1008
    pa, rights = env.hw(a, TEXT + 0x1000)
    assert env.hw(b, TEXT + 0x1000)[0] == pa and not rights & W
    assert env.ctx.cache.fills == 1
    assert env.ctx.describe()["pages"] == env.ctx.describe()["held"] == 1
    assert a.resident[TEXT + 0x1000] is b.resident[TEXT + 0x1000]
    assert a.resident[TEXT + 0x1000].refs == 2
    assert env.touch(a, TEXT, W, 5) is None                  # text is not writable: SIGSEGV
    assert a.fault(0x2000_0000, R) is False                  # nothing there


def test_a_read_fault_maps_the_cached_neighbours_too():
    env = Env()
    a, _, _ = exec_sample(env)
    for i in range(3):
        env.touch(a, TEXT + i * PAGE, X)
    assert a.faults == 3                                     # nothing cached before
    b, _, _ = exec_sample(env)
    assert env.touch(b, TEXT + 4, X) == TEXT + 4
    assert b.faults == 1 and all(env.hw(b, TEXT + i * PAGE) for i in range(3))
    assert env.touch(b, TEXT + 2 * PAGE, R) == TEXT + 2 * PAGE and b.faults == 1
    assert env.hw(b, DATA) is None                           # another area: not touched


def test_data_tail_and_bss_are_zero_and_private_writes_copy():
    env = Env()
    a, _, _ = exec_sample(env)
    b, _, _ = exec_sample(env)
    assert env.touch(a, DATA, R) == 0xABABABAB
    assert env.touch(a, DATA + 0x180, R) == 0                # the file has 0xD0 here
    assert env.touch(a, 0x32000, R) == 0                     # bss page
    assert env.touch(b, DATA, W, 0x1111) == 0x1111
    assert env.touch(a, DATA, R) == 0xABABABAB               # a keeps its own page
    assert env.touch(b, 0x33FFC, W, 7) == 7
    assert env.touch(b, 0x34000, R) is None                  # past the bss (brk 0)


def test_private_file_page_read_then_written_gets_a_copy():
    env = Env()
    env2 = exec_sample(env)[0]
    mm, _, _ = exec_sample(env)
    big = build_elf([Load(TEXT, b"\x22" * PAGE, flags=R | W)], TEXT)
    for m in (mm, env2):
        m.exec_image("/d", big, ["d"], [])
    env.settle()
    assert env.touch(mm, TEXT, R) == 0x22222222
    cached = mm.resident[TEXT]
    assert cached.cached and not env.hw(mm, TEXT)[1] & W
    assert env.touch(mm, TEXT, W, 9) == 9
    assert mm.resident[TEXT] is not cached and mm.copies == 1 and cached.refs == 0
    assert env.touch(mm, TEXT + 4, R) == 0x22222222         # the copy kept the file bytes
    assert env.touch(env2, TEXT, R) == 0x22222222


def test_x_is_implied_by_r_where_the_mmu_cannot_tell():
    strict, loose = Env(), Env(read_implies_exec=True)
    for env in (strict, loose):
        mm, _, _ = exec_sample(env)
        ok = env.touch(mm, DATA, X) is not None
        assert ok is (env is loose)


def test_stack_grows_down_within_the_limit():
    env = Env()
    mm, _, sp = exec_sample(env)
    low = STACK_TOP - 0x20000
    assert env.touch(mm, low - 3 * PAGE, W, 1) == 1
    assert mm.vmas.find(low - 3 * PAGE).name == "[stack]"
    assert env.touch(mm, STACK_TOP - (9 << 20), W, 1) is None


# --- fork and copy-on-write ---------------------------------------------------------------------

def test_fork_shares_frames_copy_on_write_both_ways():
    env = Env()
    parent, _, _ = exec_sample(env)
    assert env.touch(parent, DATA, W, 0x1234) == 0x1234
    frame = parent.resident[0x30000]
    child = parent.fork()
    assert child.space is not parent.space and frame.refs == 2
    assert not env.hw(parent, DATA)[1] & W                   # write access revoked
    assert env.hw(child, DATA) is None                       # the child faults it in
    assert env.touch(child, DATA, R) == 0x1234
    assert env.hw(child, DATA)[0] == env.hw(parent, DATA)[0]
    assert env.touch(child, DATA, W, 0x5678) == 0x5678       # the child copies
    assert child.copies == 1 and child.resident[0x30000] is not frame and frame.refs == 1
    assert env.touch(parent, DATA, R) == 0x1234
    assert env.touch(parent, DATA, W, 0x9999) == 0x9999      # last holder: takes it back
    assert parent.copies == 0 and parent.resident[0x30000] is frame
    assert env.touch(child, DATA, R) == 0x5678


def test_fork_parent_writes_first_and_child_takes_the_frame_back():
    env = Env()
    parent, _, _ = exec_sample(env)
    parent.brk(parent.brk_start + PAGE)
    heap = parent.brk_start
    assert env.touch(parent, heap, W, 1) == 1
    child = parent.fork()
    assert env.touch(parent, heap, W, 2) == 2
    assert parent.copies == 1
    assert env.touch(child, heap, W, 3) == 3 and child.copies == 0
    assert env.touch(parent, heap, R) == 2 and env.touch(child, heap, R) == 3
    assert child.brk_end == parent.brk_end


def test_a_forked_child_maps_inherited_neighbours_on_its_first_fault():
    env = Env()
    parent, _, _ = exec_sample(env)
    heap = parent.brk_start
    parent.brk(heap + 3 * PAGE)
    for i in range(3):
        env.touch(parent, heap + i * PAGE, W, i + 10)
    child = parent.fork()
    assert env.touch(child, heap + PAGE, R) == 11 and child.faults == 1
    assert [env.touch(child, heap + i * PAGE, R) for i in (0, 2)] == [10, 12]
    assert child.faults == 1 and not env.hw(child, heap)[1] & W      # still copy-on-write
    assert env.touch(child, heap, W, 20) == 20 and child.copies == 1
    assert env.touch(parent, heap, R) == 10


def test_write_for_a_system_call_breaks_sharing():
    env = Env()
    parent, _, _ = exec_sample(env)
    parent.write(DATA, b"old!")
    child = parent.fork()
    env.touch(child, DATA, R)                                 # mapped read-only, shared
    child.write(DATA, b"new!")
    env.settle()
    assert child.read(DATA, 4) == b"new!" and parent.read(DATA, 4) == b"old!"
    assert env.touch(child, DATA, R) == int.from_bytes(b"new!", "little")


def test_shared_anonymous_memory_stays_shared_after_fork():
    env = Env()
    parent, _, _ = exec_sample(env)
    addr = parent.mmap(0, PAGE, R | W, MapFlags(shared=True, anonymous=True))
    env.touch(parent, addr, W, 1)
    child = parent.fork()
    assert env.touch(child, addr, W, 42) == 42
    assert env.touch(parent, addr, R) == 42 and child.copies == 0


# --- user memory for system calls -------------------------------------------------------------

def test_read_write_across_pages_and_efault():
    env = Env()
    mm, _, _ = exec_sample(env)
    addr = mm.mmap(0, 3 * PAGE, R | W, ANON)
    data = bytes(range(256)) * 20
    mm.write(addr + 100, data)
    env.settle()
    assert mm.read(addr + 100, len(data)) == data
    assert mm.read(addr, 100) == bytes(100)
    with pytest.raises(LinuxError) as e:
        mm.read(addr + 3 * PAGE - 2, 4)
    assert e.value.errno == "EFAULT"
    with pytest.raises(LinuxError):
        mm.write(TEXT, b"x")                                  # read-only text
    with pytest.raises(LinuxError):
        mm.read(0, 4)
    with pytest.raises(LinuxError):
        mm.read(0xFFFF_FFF0, 0x20)


def test_reads_group_physically_contiguous_frames():
    env = Env()
    mm, _, _ = exec_sample(env)
    addr = mm.mmap(0, 4 * PAGE, R | W, ANON)
    mm.write(addr, b"\x01" * (4 * PAGE))
    env.settle()
    pas = [mm.resident[addr + i * PAGE].pa for i in range(4)]
    assert pas == [pas[0] + i * PAGE for i in range(4)]       # sigma0 hands out in order
    calls = []
    real = env.k.read_memory
    env.k.read_memory = lambda a, n: calls.append(n) or real(a, n)
    assert mm.read(addr + 10, 4 * PAGE - 20) == b"\x01" * (4 * PAGE - 20)
    assert calls == [4 * PAGE - 20]
    calls.clear()
    assert mm.read(TEXT, 8) == struct.pack("<II", TEXT, TEXT + 4)   # from the file: no target read
    assert calls == [] and TEXT not in mm.resident


def test_read_cstr_limits():
    env = Env()
    mm, _, _ = exec_sample(env)
    addr = mm.mmap(0, 2 * PAGE, R | W, ANON)
    mm.write(addr + PAGE - 3, b"abcdef\0")
    assert mm.read_cstr(addr + PAGE - 3) == b"abcdef"
    with pytest.raises(LinuxError) as e:
        mm.read_cstr(addr + PAGE - 3, limit=4)
    assert e.value.errno == "ENAMETOOLONG"
    mm.write(addr + 2 * PAGE - 2, b"zz")
    with pytest.raises(LinuxError) as e:
        mm.read_cstr(addr + 2 * PAGE - 2)
    assert e.value.errno == "EFAULT"


# --- exec failures --------------------------------------------------------------------------------

def _bad(elf: bytes, errno: str = "ENOEXEC", env: Env | None = None) -> None:
    env = env or Env()
    mm = env.mm()
    with pytest.raises(LinuxError) as e:
        mm.exec_image("/bad", elf, ["bad"], [])
    assert e.value.errno == errno, e.value


def _patch(elf: bytes, offset: int, fmt: str, value: int) -> bytes:
    out = bytearray(elf)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


PH0 = 52                     # the first program header


@pytest.mark.parametrize("elf", [
    b"", b"#!/bin/sh\n", b"\x7fELF", b"\x7fELF\x01\x01\x01" + bytes(9),
    sample_elf()[:40],                                          # truncated header
    sample_elf()[:60],                                          # truncated program headers
    sample_elf()[:0x1200],                                      # truncated segment
    _patch(sample_elf(), 4, "<B", 2),                           # ELFCLASS64
    _patch(sample_elf(), 5, "<B", 2),                           # big endian
    sample_elf(machine="EM_386"),
    _patch(sample_elf(), 16, "<H", 1),                          # ET_REL
    _patch(sample_elf(), 42, "<H", 40),                         # e_phentsize
    _patch(sample_elf(), 44, "<H", 0),                          # no program headers
    _patch(sample_elf(), 44, "<H", 3000),                       # beyond the file
    _patch(sample_elf(), 28, "<I", 0xFFFF_FF00),                # e_phoff
    _patch(sample_elf(), PH0 + 20, "<I", 1),                    # filesz > memsz
    _patch(sample_elf(), PH0 + 4, "<I", 0x1010),                # offset not congruent
    _patch(sample_elf(), PH0 + 4, "<I", 0xFFFF_F000),           # offset beyond the file
    build_elf([Load(TEXT, b"x")], TEXT, extra=[(3, 0, 0, 0, 0, 4)]),   # PT_INTERP
    build_elf([], TEXT),                                        # nothing to load
])
def test_malformed_elf_is_enoexec(elf):
    _bad(elf)


def test_segments_in_kernel_or_l4_areas_are_enomem():
    _bad(build_elf([Load(0xC000_0000, b"x")], 0xC000_0000), "ENOMEM")       # kernel area
    _bad(build_elf([Load(UTCB_AREA.base, b"x")], UTCB_AREA.base), "ENOMEM")
    _bad(build_elf([Load(0x1000, b"x")], 0x1000), "ENOMEM")                 # below mmap_min_addr
    _bad(build_elf([Load(0xFFFF_F000, b"x", memsz=0x2000)], 0xFFFF_F000))   # wraps


def test_mutated_elfs_never_raise_host_errors():
    import random
    rng = random.Random(7)
    base = sample_elf()
    env = Env()
    for _ in range(300):
        data = bytearray(base[:0x200] + base[0x1000:0x1010])
        for _ in range(rng.randint(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        mm = env.mm()
        try:
            mm.exec_image("/fuzz", bytes(data), ["f"], [])
        except LinuxError as e:
            assert e.errno in ("ENOEXEC", "ENOMEM", "E2BIG")
        mm.release()


def test_failed_exec_keeps_the_old_image_and_huge_args_are_e2big():
    env = Env()
    mm, _, _ = exec_sample(env)
    before = mm.describe()["areas"]
    with pytest.raises(LinuxError):
        mm.exec_image("/x", b"junk", ["x"], [])
    with pytest.raises(LinuxError) as e:
        mm.exec_image("/bin/prog", sample_elf(), ["x" * (3 << 20)], [])
    assert e.value.errno == "E2BIG"
    assert mm.describe()["areas"] == before and mm.read(DATA, 1) == b"\xab"


# --- release -----------------------------------------------------------------------------------

def test_release_returns_frames_and_deletes_the_space():
    env = Env()
    a, _, _ = exec_sample(env)
    env.touch(a, TEXT, R)
    env.touch(a, DATA, W, 1)
    b = a.fork()
    env.touch(b, DATA, W, 2)
    root = b.space.root
    b.release()
    assert b.space not in env.k.spaces and root in env.m.pt.freed and not b.resident
    a.release()
    assert env.ctx.frames.in_use == len(env.ctx.cache.pages) == 1    # the cached text page
    assert env.ctx.cache.reclaim() == 1 and env.ctx.frames.in_use == 0
    a.release()                                                      # twice: nothing happens


def test_out_of_frames_reclaims_idle_cache_pages_then_segfaults():
    env = Env()
    a, _, _ = exec_sample(env)
    env.touch(a, TEXT, R)                                   # one cached page
    a.release()
    s0 = env.k.sigma0.host
    for p in range(s0.free_low, s0.free_high, PAGE):        # somebody owns all the rest
        s0.owner.setdefault(p, 999)
    env.ctx.frames._spare.clear()
    b = env.mm()
    b.mmap(0x2000_0000, 2 * PAGE, R | W, MapFlags(anonymous=True, fixed=True))
    assert env.touch(b, 0x2000_0000, W, 1) == 1              # the idle cached frame
    assert not env.ctx.cache.pages
    assert env.touch(b, 0x2000_1000, W, 1) is None           # nothing left: SIGSEGV
    with pytest.raises(LinuxError) as e:
        b.write(0x2000_1000, b"x")
    assert e.value.errno == "ENOMEM"
    assert b.read(0x2000_1000, 0) == b"" and b.read(0, 0) == b""


def test_random_operations_keep_memories_and_frames_consistent():
    """mmap/munmap/mprotect/mremap/writes/forks/exits at random against a model of
    each process's words; frame reference counts checked after every step."""
    import random
    rng = random.Random(11)
    env = Env()
    base, npages = 0x2000_0000, 24
    first, _, _ = exec_sample(env)
    procs = [(first, {}, {})]           # (mm, model: page -> word, prot: page -> rights)
    for step in range(500):
        mm, words_, prot = rng.choice(procs)
        op = rng.random()
        lo = base + rng.randrange(npages) * PAGE
        n = rng.randint(1, 4)
        pages = [p for p in range(lo, lo + n * PAGE, PAGE) if p < base + npages * PAGE]
        if op < 0.2:
            rights = rng.choice([R | W, R])
            mm.mmap(lo, n * PAGE, rights, MapFlags(anonymous=True, fixed=True))
            for p in range(lo, lo + n * PAGE, PAGE):
                words_[p], prot[p] = 0, rights
        elif op < 0.3:
            mm.munmap(lo, n * PAGE)
            for p in range(lo, lo + n * PAGE, PAGE):
                words_.pop(p, None)
                prot.pop(p, None)
        elif op < 0.4 and all(p in prot for p in range(lo, lo + n * PAGE, PAGE)):
            rights = rng.choice([R | W, R, 0])
            mm.mprotect(lo, n * PAGE, rights)
            for p in range(lo, lo + n * PAGE, PAGE):
                prot[p] = rights
        elif op < 0.45:
            vma, dst = mm.vmas.find(lo), base + rng.randrange(npages - n) * PAGE
            if vma is None or lo + n * PAGE > vma.end or abs(dst - lo) < n * PAGE:
                continue
            assert mm.mremap(lo, n * PAGE, n * PAGE, maymove=True, fixed=True,
                             new_addr=dst) == dst
            moved = [(words_.pop(lo + i * PAGE, None), prot.pop(lo + i * PAGE))
                     for i in range(n)]
            for i, (w, r) in enumerate(moved):
                words_.pop(dst + i * PAGE, None)
                prot[dst + i * PAGE] = r
                if w is not None:
                    words_[dst + i * PAGE] = w
        elif op < 0.75:
            p = rng.choice(pages)
            value = rng.randrange(1, 1 << 32)
            got = env.touch(mm, p, W, value)
            if prot.get(p, 0) & W:
                assert got == value
                words_[p] = value
            else:
                assert got is None
        elif op < 0.9:
            p = rng.choice(pages)
            got = env.touch(mm, p, R)
            assert got == (words_[p] if prot.get(p, 0) & R else None), (step, hex(p))
            if prot.get(p, 0) & R:
                env.settle()
                assert mm.read(p, 4) == words_[p].to_bytes(4, "little")
        elif op < 0.95 and len(procs) < 4:
            procs.append((mm.fork(), dict(words_), dict(prot)))
        elif len(procs) > 1:
            victim = procs.pop(rng.randrange(len(procs)))
            victim[0].release()
        holders: dict[int, int] = {}
        frames = {}
        for m, _, _ in procs:
            for f in m.resident.values():
                holders[id(f)] = holders.get(id(f), 0) + 1
                frames[id(f)] = f
        assert all(f.refs == holders[i] for i, f in frames.items())
        private = sum(1 for f in frames.values() if not f.cached)
        assert env.ctx.frames.in_use == private + len(env.ctx.cache.pages)
        for m, _, _ in procs:
            items = m.vmas.items
            assert all(a.end <= b.start for a, b in zip(items, items[1:], strict=False))
            assert all(m.vmas.find(va) is not None for va in m.resident)
