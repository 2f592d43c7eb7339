"""sigma0 as a host-side thread: hands out free memory, one owner per page."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .types import MAP_ITEM_TYPE, NILPAGE, Fpage, KernelLabel, MsgTag, kernel_label

if TYPE_CHECKING:
    from .kernel import Kernel
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
    """

    def __init__(self, free: tuple[int, int], ram: tuple[int, int] | None = None,
                 reserved: tuple[tuple[int, int], ...] = ()) -> None:
        self.free_low, self.free_high = free       # [low, high)
        self.ram = ram if ram is not None else free
        self.reserved = reserved
        self.owner: dict[int, int] = {}            # page base -> space ident
        self.free_holder: int | None = None        # the space that took the free memory

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
