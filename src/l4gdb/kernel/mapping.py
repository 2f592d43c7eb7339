"""The recursive mapping database: who maps which frame, derived from whom.

Every user mapping is a :class:`Node` per smallest page: (space, virtual
page) -> physical page, rights, the node it was derived from (``parent``)
and the nodes derived from it. sigma0's space is *physical*: it implicitly
maps all of RAM idempotently with full rights, so its nodes (the roots of
every tree) are made the first time somebody derives from them.

* map: a child of the source node in the destination space, rights = the
  source's rights & the fpage's rights;
* grant: the source node itself moves to the destination (its subtree
  follows), the source space loses it;
* unmap(fpage, rights): every node derived from the caller's nodes in the
  fpage loses ``rights``; a node left without rights is removed with its
  whole subtree, in every space; flush also revokes the caller's own nodes.

Status bits (referenced/written/executed) are tracked in software, as ARMv7
and most MMUs we drive keep no usable accessed/dirty bits: a node's hardware
rights are only what its recorded accesses allow (referenced = any access
recorded; written and executed exactly), so the first access of another
kind faults into the kernel, which records it and widens the entry without
asking the pager (a *soft fault*). Unmap/GetStatus report the bits of the
node and everything derived from it since the last report, then reset them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .paging import RWX, PageTables, R, W, X
from .types import Fpage

if TYPE_CHECKING:
    from .space import Space


class Children:
    """A node's derived nodes, in derivation order, with O(1) removal.

    Nodes hash by identity (``eq=False``), so a dict keyed by node is an
    ordered set: append/remove/iterate like the list it replaces."""

    __slots__ = ("_d",)

    def __init__(self) -> None:
        self._d: dict[Node, None] = {}

    def append(self, node: Node) -> None:
        self._d[node] = None

    def remove(self, node: Node) -> None:
        del self._d[node]               # KeyError like list.remove's ValueError

    def clear(self) -> None:
        self._d.clear()

    def __iter__(self) -> Iterator[Node]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, node: object) -> bool:
        return node in self._d

    def __bool__(self) -> bool:
        return bool(self._d)


@dataclass(eq=False)
class Node:
    space: Space
    vaddr: int
    paddr: int
    rights: int
    parent: Node | None = None
    children: Children = field(default_factory=Children)
    access: int = 0              # recorded accesses since the last status report

    def hw_rights(self) -> int:
        """What the hardware entry allows: the rights the recorded accesses cover."""
        if not self.access:
            return 0
        return self.rights & (R | (self.access & (W | X)))

    def ancestors(self):
        n = self.parent
        while n is not None:
            yield n
            n = n.parent


class MappingDb:
    def __init__(self, paging: PageTables | None, ram: tuple[int, int],
                 page_log2: int = 12) -> None:
        self.paging = paging
        self.ram = ram
        self.page_log2 = page_log2
        self.page = 1 << page_log2

    # --- lookups ------------------------------------------------------------
    def lookup(self, space: Space, vaddr: int) -> Node | None:
        va = vaddr & ~(self.page - 1)
        node = space.pages.get(va)
        if node is None and space.physical and self.ram[0] <= va < self.ram[1]:
            node = Node(space, va, va, RWX)
            space.pages[va] = node
        return node

    def in_kernel_area(self, vaddr: int, size: int) -> bool:
        if self.paging is None:
            return False
        return any(vaddr < hi and lo < vaddr + size for lo, hi in self.paging.kernel_areas)

    # --- hardware -----------------------------------------------------------
    def install(self, node: Node) -> None:
        space = node.space
        if self.paging is None or not space.root:
            return
        hw = node.hw_rights()
        if hw:
            self.paging.map(space.root, node.vaddr, node.paddr, self.page_log2, hw)
        else:
            self.paging.unmap(space.root, node.vaddr, self.page_log2)

    def _uninstall(self, node: Node) -> None:
        if self.paging is not None and node.space.root:
            self.paging.unmap(node.space.root, node.vaddr, self.page_log2)

    # --- map and grant ------------------------------------------------------
    def map_fpage(self, src_space: Space, snd: Fpage, snd_base: int, dst_space: Space,
                  window: Fpage, grant: bool, access: int = 0) -> int:
        """Map (or grant) fpage ``snd`` of src_space through receive window ``window``.

        Returns the number of pages mapped. ``access`` is recorded on the new
        nodes (the access of the page fault this mapping resolves).
        """
        if snd.is_nil or window.is_nil or snd.size_log2 < self.page_log2 \
                or window.size_log2 < self.page_log2:
            return 0                 # a window smaller than a page receives no page
        s, r = snd.size_log2, window.size_log2
        if s <= r:
            src_base = snd.base
            dst_base = window.base + (snd_base & ((1 << r) - 1) & ~((1 << s) - 1))
            size = 1 << s
        else:
            src_base = snd.base + (snd_base & ((1 << s) - 1) & ~((1 << r) - 1))
            dst_base = window.base
            size = 1 << r
        if dst_space.physical or dst_space.host:
            return 0
        rights = snd.rights
        done = 0
        # Only pages the source has can map: walk those, not the whole fpage (on a
        # 64-bit machine an fpage can span 2^52 pages).
        if src_space.physical:
            lo, hi = max(src_base, self.ram[0]), min(src_base + size, self.ram[1])
            offs: range | list[int] = range(lo - src_base, hi - src_base, self.page) \
                if lo < hi else []
        elif size // self.page > len(src_space.pages):
            offs = sorted(va - src_base for va in src_space.pages
                          if src_base <= va < src_base + size)
        else:
            offs = range(0, size, self.page)
        for off in offs:
            dst_va = dst_base + off
            if self.in_kernel_area(dst_va, self.page) or dst_space.reserved(dst_va):
                continue
            src = self.lookup(src_space, src_base + off)
            if src is None or not (src.rights & rights):
                continue
            if self._map_page(src, dst_space, dst_va, rights, grant, access):
                done += 1
        return done

    def _map_page(self, src: Node, dst_space: Space, dst_va: int, rights: int, grant: bool,
                  access: int) -> bool:
        existing = dst_space.pages.get(dst_va)
        if existing is src:
            return False
        if existing is not None:
            if any(a is existing for a in src.ancestors()):
                return False                 # would cut the branch we derive from
            if existing.paddr == src.paddr and existing.parent is src and not grant:
                existing.rights |= src.rights & rights     # upgrade in place
                existing.access |= access
                self.install(existing)
                return True
            self.remove_subtree(existing)
        new_rights = src.rights & rights
        if grant and not src.space.physical:
            self._uninstall(src)
            del src.space.pages[src.vaddr]
            src.space, src.vaddr = dst_space, dst_va
            src.rights = new_rights
            src.access |= access
            dst_space.pages[dst_va] = src
            self.install(src)
            for child in list(src.children):
                self._revoke(child, RWX & ~new_rights)
            return True
        node = Node(dst_space, dst_va, src.paddr, new_rights, parent=src, access=access)
        src.children.append(node)
        dst_space.pages[dst_va] = node
        self.install(node)
        return True

    # --- unmap ----------------------------------------------------------------
    def unmap_fpage(self, space: Space, fp: Fpage, flush: bool) -> int:
        """Revoke ``fp.rights`` from everything derived from space's pages in fp.

        Returns the status bits (rwx accessed) of the affected pages."""
        if fp.is_nil or space.physical:
            return 0
        status = 0
        rights = fp.rights
        lo = fp.base
        hi = fp.end if fp.size_log2 < 64 else 1 << 64
        if hi - lo > self.page * len(space.pages):
            vas = sorted(va for va in space.pages if lo <= va < hi)
        else:
            vas = [va for va in range(lo & ~(self.page - 1), hi, self.page) if va in space.pages]
        for va in vas:
            node = space.pages.get(va)
            if node is None:
                continue
            status |= self._collect_status(node)
            if not rights:
                continue
            for child in list(node.children):
                self._revoke(child, rights)
            if flush:
                self._revoke(node, rights)
        return status

    # The walks below are iterative: a guest can build chains and fans of any
    # depth/width (one map item per page), which must not hit Python's
    # recursion limit. Each visits nodes in the order the recursive
    # definition would (pre-order for status/revoke, post-order for removal).

    def _collect_status(self, node: Node) -> int:
        bits = 0
        stack = [node]
        while stack:
            n = stack.pop()
            bits |= n.access | (R if n.access else 0)       # any access is a reference
            if n.access:
                n.access = 0
                self.install(n)           # next access of any kind is seen again
            stack.extend(reversed(list(n.children)))
        return bits

    def _revoke(self, node: Node, rights: int) -> None:
        stack = [node]
        while stack:
            n = stack.pop()
            n.rights &= ~rights
            if not n.rights:
                self.remove_subtree(n)
                continue
            self.install(n)
            stack.extend(reversed(list(n.children)))

    def remove_subtree(self, node: Node) -> None:
        # Post-order: a node goes after all of its children (in their order).
        stack: list[tuple[Node, Iterator[Node]]] = [(node, iter(list(node.children)))]
        while stack:
            n, pending = stack[-1]
            child = next(pending, None)
            if child is not None:
                stack.append((child, iter(list(child.children))))
                continue
            stack.pop()
            self._unlink(n)

    def _unlink(self, node: Node) -> None:
        if node.parent is not None:
            node.parent.children.remove(node)
            node.parent = None
        if node.space.pages.get(node.vaddr) is node:
            del node.space.pages[node.vaddr]
        self._uninstall(node)

    def delete_space(self, space: Space) -> None:
        for node in list(space.pages.values()):
            if space.pages.get(node.vaddr) is node:
                self.remove_subtree(node)
        space.pages.clear()

    # --- software status bits -----------------------------------------------------
    def soft_fault(self, space: Space, vaddr: int, access: int) -> bool:
        """An access the mapping allows but the hardware entry did not: record it."""
        node = space.pages.get(vaddr & ~(self.page - 1))
        if node is None or space.physical or (access & node.rights) != access or not access:
            return False
        if node.hw_rights() & access == access:
            return False                  # the hardware already allows it: a real fault
        node.access |= access
        self.install(node)
        return True

    def translate(self, space: Space, vaddr: int, access: int) -> int | None:
        """Physical address of vaddr in space if the mapping allows ``access``.

        Records the access (the kernel touches the page on the thread's behalf)."""
        node = space.pages.get(vaddr & ~(self.page - 1))
        if node is None and space.physical:
            node = self.lookup(space, vaddr)
        if node is None or (access & node.rights) != access:
            return None
        if access and node.access & access != access and not space.physical:
            node.access |= access
            self.install(node)
        return node.paddr + (vaddr & (self.page - 1))
