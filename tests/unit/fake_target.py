"""The fake target lives in l4gdb.fuzzing.fake_target (``l4gdb fuzz`` drives it too)."""

from l4gdb.fuzzing.fake_target import *  # noqa: F403
from l4gdb.fuzzing.fake_target import _REGS  # noqa: F401
