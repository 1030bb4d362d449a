"""Worker processes end when the process that started them dies.

A render killed with SIGKILL (or a crashed app) must not leave workers chewing through
an audience nobody will read. On Linux the kernel delivers SIGKILL to the worker the
moment its parent dies (``prctl(PR_SET_PDEATHSIG)``); everywhere, a daemon thread also
notices the parent is gone (the worker is re-parented) and exits within a second.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a worker process started by ``parent_pid``."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except OSError:
            pass  # the watchdog below still works
    if os.getppid() != parent_pid:  # the parent died before we got here
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid,), name="copydesk-parent-watch", daemon=True).start()


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(POLL_SECONDS)
    os._exit(1)
