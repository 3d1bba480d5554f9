"""Keeping freed memory for reuse, so that a harvest does not fault the same pages in again and again.

A harvest allocates and frees the same few megabytes once a page: the page's body and its survey on
the fetch thread, a batch's parsed records and rows in a worker, a Parquet column's compression
context in the writer. glibc's malloc hands the top of a heap back to the system as soon as 128 KB
of it are free, so every page's memory came back as fresh pages that the kernel had to fault in and
zero again: 1.1 million page faults in a harvest of 100,000 datasets, about a tenth of its CPU.

With `M_TOP_PAD`, glibc keeps that much free at the top of a heap when it shrinks it. The workers
churn the most (a page's parsed records, several megabytes, then freed), so they keep more than the
harvesting process, whose own memory grows with the catalogue. At 100,000 datasets (4 interleaved
runs of `bench/harvest_child.py` each way, medians): 17.8 s of CPU without slack, 15.9 s with it, and
page faults from 1.1 million to 0.46 million. More slack gained nothing measurable and cost
memory: 64 MB in every process took a 300,000-dataset harvest over 300 MB of PSS.

The setting is the process's: a process that has run a harvest keeps its slack afterwards.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

HARVEST_HEAP_SLACK = 8 * 2**20
"""Kept free by the harvesting process (the fetch thread, the writer)."""
WORKER_HEAP_SLACK = 32 * 2**20
"""Kept free by each worker process: a batch's parsed records and rows."""
M_TOP_PAD = -2
"""mallopt's parameter number for the pad (glibc's malloc.h)."""


def keep_heap_slack(slack: int) -> bool:
    """Have glibc's malloc keep `slack` bytes free at the top of its heaps, in this process and in those
    it forks from now on. Returns whether it could: only glibc has the setting; elsewhere (musl,
    macOS) memory is managed as before."""
    if not glibc_malloc():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    if mallopt(M_TOP_PAD, slack) != 1:
        log.debug("glibc refused mallopt(M_TOP_PAD, %d)", slack)
        return False
    return True


def glibc_malloc() -> bool:
    """Whether this process allocates with glibc's malloc, the one that has the setting."""
    try:
        return (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")
    except (ValueError, OSError):  # not a name this system knows
        return False
