"""Funnel calls from other threads (the GDB stub's server thread) to the run-loop thread.

The run loop owns the target: only it talks to QEMU. Other threads ``call()``
a function; it is queued, the funnel's fd becomes readable (so
``RspClient.wait_stop`` returns early once the fd is ``watch``-ed), and the
run loop executes it in ``run_pending()`` while the target is stopped.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from .errors import TargetError

T = TypeVar("T")
_Work = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class HostFunnel:
    """Create it on the run-loop thread (that thread becomes its owner)."""

    def __init__(self, call_timeout: float = 30.0) -> None:
        self.call_timeout = call_timeout
        self.owner = threading.get_ident()
        self._queue: queue.SimpleQueue[_Work] = queue.SimpleQueue()
        self._rfd, self._wfd = os.pipe()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._closed = False

    def fileno(self) -> int:
        """Readable while work or a wake-up is pending."""
        return self._rfd

    def wake(self) -> None:
        """Make the owner's ``wait_stop`` return (e.g. after a stop request)."""
        try:
            os.write(self._wfd, b"!")
        except (BlockingIOError, OSError):  # pipe full: already awake; closed: nobody to wake
            pass

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` on the owner thread and return its result (or raise its error)."""
        if threading.get_ident() == self.owner:
            return fn(*args)
        if self._closed:
            raise TargetError("the run loop is gone")
        fut: Future[T] = Future()
        self._queue.put((fut, fn, args))
        self.wake()
        try:
            return fut.result(self.call_timeout if timeout is None else timeout)
        except TimeoutError:
            raise TargetError("the run loop did not serve the request (target running?)") from None

    def run_pending(self) -> int:
        """Owner thread: execute every queued call; returns how many ran."""
        try:
            while os.read(self._rfd, 4096):
                pass
        except BlockingIOError:
            pass
        n = 0
        while True:
            try:
                fut, fn, args = self._queue.get_nowait()
            except queue.Empty:
                return n
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(fn(*args))
                except BaseException as err:  # handed to the caller's thread
                    fut.set_exception(err)
            n += 1

    def close(self) -> None:
        self._closed = True
        self._fail_pending()
        for fd in (self._rfd, self._wfd):
            try:
                os.close(fd)
            except OSError:
                pass

    def _fail_pending(self) -> None:
        while True:
            try:
                fut, _, _ = self._queue.get_nowait()
            except queue.Empty:
                return
            if fut.set_running_or_notify_cancel():
                fut.set_exception(TargetError("the run loop is gone"))
