"""The host processes of a run, as the system tests find them."""

from __future__ import annotations

import subprocess
import time


def child_of(pid: int, name: str, tries: int = 50) -> int:
    """The pid of ``pid``'s child whose command line has ``name``, polled ``tries`` times
    at 0.1 s; AssertionError when none appeared."""
    for _ in range(tries):
        out = subprocess.run(["pgrep", "-P", str(pid), "-f", name],
                             capture_output=True, text=True).stdout.split()
        if out:
            return int(out[0])
        time.sleep(0.1)
    raise AssertionError(f"no {name} child of {pid}")
