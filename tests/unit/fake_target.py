"""The fake target lives in l4gdb.testing.fake_target (``l4gdb fuzz`` drives it too)."""

from l4gdb.testing.fake_target import *  # noqa: F403
from l4gdb.testing.fake_target import _REGS  # noqa: F401
