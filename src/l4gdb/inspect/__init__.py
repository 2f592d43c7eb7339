"""One model of what the system looks like now, rendered as text tables or JSON.

Every view reads the kernel's snapshot (``Kernel.snapshot()``); the GDB
commands, ``monitor`` and the CLI all go through :func:`run_command`.
"""
