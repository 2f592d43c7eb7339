"""l4gdb architecture plugin: RISC-V RV32 (``riscv``) and RV64 (``riscv64``) on QEMU virt."""
