"""Data an architecture plugin hands the core to build guest code."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GuestToolchain:
    """How to compile and link guest code for one architecture (clang + ld.lld).

    Every path is absolute. ``kernel_sources`` build the kernel image (vectors,
    entry/return stubs, privileged helper) with ``kernel_ldscript``; user
    programs get ``crt0`` and ``user_ldscript``.
    """

    arch: str
    clang_target: str                 # e.g. "armv7a-none-eabi"
    cflags: tuple[str, ...]           # extra flags for C and assembly
    ldflags: tuple[str, ...]
    include_dir: Path                 # arch headers (holds l4/arch/syscalls.h)
    crt0: Path
    user_ldscript: Path
    kernel_sources: tuple[Path, ...]
    kernel_ldscript: Path
    elf_machine: str = ""             # pyelftools e_machine name, e.g. "EM_ARM"

    def __post_init__(self) -> None:
        for name in ("include_dir", "crt0", "user_ldscript", "kernel_ldscript"):
            if not getattr(self, name):
                raise ValueError(f"{self.arch}: GuestToolchain.{name} is required")
        if not self.kernel_sources:
            raise ValueError(f"{self.arch}: GuestToolchain.kernel_sources is empty")
