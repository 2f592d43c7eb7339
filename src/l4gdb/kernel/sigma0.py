"""sigma0 as a host-side thread: hands out free memory, one owner per page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .mapping import Node
from .types import MAP_ITEM_TYPE, NILPAGE, Fpage, KernelLabel, MsgTag, kernel_label

if TYPE_CHECKING:
    from .kernel import Kernel
    from .space import Space
    from .thread import Tcb

PAGE_LOG2 = 12


class Sigma0:
    """The sigma0 protocol (label ``-6 << 4``): MR1 fpage, MR2 attributes.

    Reply: one map item (t = 2) for the page(s), or a nil fpage on refusal.
    A page already given to a space is given again to that space only.

    sigma0 is also the pager of the root task: a page fault (label
    ``-2 << 4 | rwx``) in RAM outside the kernel's reserved ranges is answered
    with the page mapped idempotently (same rule: one owner per page).

    An OS server that manages memory (Iguana) takes the free memory over
    (``take_free_memory``), as Iguana takes all of it from sigma0 at boot:
    from then on a free page counts as the server's, so sigma0 gives none to
    any other space (nor, by a page fault, what the server has freed: its
    contents would still be there). The server hands pages out itself, on the
    host, through ``owner`` and ``_find_free``.

    Device memory a user-level driver programs (the arch's ``driver_pages``,
    e.g. ARM's PL011) is mapped in no space until a driver asks sigma0 for it
    by its physical address (a request, or a page fault of the root task
    there); it goes to that one space (mapped at va = pa) and to no other.
    Once an OS server took the free memory over, device memory is its to hand
    out (Iguana: to the PD holding the hardware capability, through a device
    memsection), and sigma0 gives none.
    """

    def __init__(self, free: tuple[int, int], ram: tuple[int, int] | None = None,
                 reserved: tuple[tuple[int, int], ...] = ()) -> None:
        self.free_low, self.free_high = free       # [low, high)
        self.ram = ram if ram is not None else free
        self.reserved = reserved
        self.owner: dict[int, int] = {}            # page base -> space ident
        self.free_holder: int | None = None        # the space that took the free memory
        self.device_owner: dict[int, int] = {}     # device page -> the space given it
        self._devices: Space | None = None         # mapping roots of device pages

    def take_free_memory(self, space_ident: int) -> None:
        """The free memory is space_ident's from now on (Iguana's, at boot)."""
        self.free_holder = space_ident

    def _owner_of(self, page: int) -> int | None:
        """The page's owner; an unowned free page is the holder's, if any."""
        got = self.owner.get(page)
        if got is None and self.free_low <= page < self.free_high:
            return self.free_holder
        return got

    def handle(self, kernel: Kernel, sender: Tcb, words: list[int]) -> list[int] | None:
        bits = kernel.bits
        tag = MsgTag.from_raw(words[0])
        if tag.label & ~0xF == kernel_label(KernelLabel.PAGEFAULT, bits) and tag.u >= 2:
            return self._page_fault(kernel, sender, words[1])
        if tag.label != kernel_label(KernelLabel.SIGMA0, bits) or tag.u < 1:
            kernel.console.write(f"l4gdb: sigma0: unknown request label {tag.label:#x} "
                                 f"from {kernel.name_of(sender)}\n")
            return None
        raw = words[1]
        fp = Fpage.from_raw(raw)
        owner = sender.space.ident
        if fp.size_log2 < PAGE_LOG2 or fp.size_log2 >= bits:
            base = None
        elif (raw >> 10) | ((1 << (fp.size_log2 - 10)) - 1) == (1 << (bits - 10)) - 1:
            # base all ones (as far as the size leaves base bits): "any page"
            held = self.free_holder is not None and self.free_holder != owner
            base = None if held else self._find_free(fp.size_log2)
        elif self._is_device(kernel, fp):
            return self._device(kernel, sender, fp)
        else:
            base = fp.base if self._grantable(fp.base, fp.size, owner) else None
        if base is None:
            return self._reply(bits, 0, NILPAGE)
        for page in range(base, base + fp.size, 1 << PAGE_LOG2):
            self.owner[page] = owner
        rights = fp.rights or 7
        kernel.event("sigma0_map", space=owner, base=base, size_log2=fp.size_log2)
        return self._reply(bits, base, Fpage(base, fp.size_log2, rights).raw(bits))

    def _page_fault(self, kernel: Kernel, sender: Tcb, addr: int) -> list[int]:
        bits = kernel.bits
        page = addr & ~((1 << PAGE_LOG2) - 1)
        owner = sender.space.ident
        if self._is_device(kernel, Fpage(page, PAGE_LOG2, 6)):
            # A root task's driver touching its device: the same as asking for it.
            return self._device(kernel, sender, Fpage(page, PAGE_LOG2, 6))
        ok = (self.ram[0] <= page < self.ram[1]
              and not any(lo <= page < hi for lo, hi in self.reserved)
              and self._owner_of(page) in (None, owner))
        if not ok:
            kernel.console.write(f"l4gdb: sigma0: page fault of {kernel.name_of(sender)} at "
                                 f"{addr:#x} refused\n")
            return self._reply(bits, 0, NILPAGE)
        self.owner[page] = owner
        return self._reply(bits, page, Fpage(page, PAGE_LOG2, 7).raw(bits))

    @staticmethod
    def _is_device(kernel: Kernel, fp: Fpage) -> bool:
        pages = getattr(kernel.paging, "driver_pages", ())
        return any(lo <= fp.base and fp.base + fp.size <= hi for lo, hi in pages)

    def _device(self, kernel: Kernel, sender: Tcb, fp: Fpage) -> list[int]:
        """A driver's device page(s): to the first space that asks, none after.
        The mapping comes from a host space of device roots (sigma0's physical
        space covers RAM only), at va = pa, before the reply."""
        bits, owner = kernel.bits, sender.space.ident
        pages = range(fp.base, fp.base + fp.size, 1 << PAGE_LOG2)   # within driver_pages
        taken = any(self.device_owner.get(p, owner) != owner for p in pages)
        if taken or self.free_holder not in (None, owner) or sender.space.host:
            kernel.console.write(f"l4gdb: sigma0: device memory at {fp.base:#x} refused to "
                                 f"{kernel.name_of(sender)}\n")
            return self._reply(bits, 0, NILPAGE)
        src = self._device_roots(kernel, pages)
        rights = (fp.rights or 7) & 6                  # device memory: never executable
        kernel.mdb.map_fpage(src, Fpage(fp.base, fp.size_log2, rights), fp.base, sender.space,
                             Fpage(fp.base, fp.size_log2, rights), grant=False)
        for p in pages:
            self.device_owner[p] = owner
        kernel.event("sigma0_device", space=owner, base=fp.base, size_log2=fp.size_log2)
        return self._reply(bits, fp.base, Fpage(fp.base, fp.size_log2, rights).raw(bits))

    def _device_roots(self, kernel: Kernel, pages: range) -> Space:
        if self._devices is None or self._devices not in kernel.spaces:
            self._devices = kernel.new_space(privileged=True, host=True)
        for p in pages:
            if p not in self._devices.pages:
                self._devices.pages[p] = Node(self._devices, p, p, 6)
        return self._devices

    @staticmethod
    def _reply(bits: int, snd_base: int, fpage: int) -> list[int]:
        item = (snd_base & ~0x3FF) | (MAP_ITEM_TYPE << 1)
        return [MsgTag(u=0, t=2).raw(bits), item, fpage]

    def _grantable(self, base: int, size: int, owner: int) -> bool:
        if base < self.free_low or base + size > self.free_high:
            return False
        return all(self._owner_of(p) in (None, owner)
                   for p in range(base, base + size, 1 << PAGE_LOG2))

    def _find_free(self, size_log2: int) -> int | None:
        size = 1 << size_log2
        base = (self.free_low + size - 1) & ~(size - 1)
        while base + size <= self.free_high:
            if all(p not in self.owner for p in range(base, base + size, 1 << PAGE_LOG2)):
                return base
            base += size
        return None
