"""Named points on the write path, where the crash tests stop a real `newsrag` process.

Off unless NEWSRAG_CRASH_TRACE names a file: then each point reached is appended to it as
"name:n" (its n-th arrival), and the arrival named by NEWSRAG_CRASH_PAUSE ("name:n") sleeps,
so a test can SIGKILL the process exactly there. Off, a point costs one environment lookup.

    >>> crash_point("store.add")   # nothing happens without NEWSRAG_CRASH_TRACE
"""

from __future__ import annotations

import os
import threading
import time

TRACE_ENV = "NEWSRAG_CRASH_TRACE"
PAUSE_ENV = "NEWSRAG_CRASH_PAUSE"
PAUSE_S = 120.0  # the test kills the process long before this

_arrivals: dict[str, int] = {}
_lock = threading.Lock()


def crash_point(name: str) -> None:
    """Record that `name` was reached; sleep if the test asked to stop here."""
    trace = os.environ.get(TRACE_ENV)
    if not trace:
        return
    with _lock:
        _arrivals[name] = arrival = _arrivals.get(name, 0) + 1
        with open(trace, "a", encoding="utf-8") as handle:
            handle.write(f"{name}:{arrival}\n")
    if os.environ.get(PAUSE_ENV) == f"{name}:{arrival}":
        time.sleep(PAUSE_S)
