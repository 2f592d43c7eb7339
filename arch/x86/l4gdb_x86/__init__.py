"""l4gdb architecture plugin for i386 (32-bit x86) on QEMU ``pc``."""
