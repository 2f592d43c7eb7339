"""Wombat: the Linux personality (docs/wombat.md).

The Linux server is a host-side L4 thread, pager and exception handler of every
Linux process; Linux system calls reach it as exception IPC.
"""
