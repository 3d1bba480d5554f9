import platform
import subprocess
import sys

import pytest

from catalog.harvest import heap

CHURN = """
import resource, sys
from catalog.harvest.heap import WORKER_HEAP_SLACK, keep_heap_slack

if sys.argv[1] == "slack":
    assert keep_heap_slack(WORKER_HEAP_SLACK)
faults = []
for _ in range(12):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    chunks = [bytes(1024) for _ in range(16_000)]  # 16 MB, in what a batch's strings take: malloc's heap
    del chunks
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[2:]))
"""


def churn_faults(mode: str) -> int:
    """Page faults of a process that allocates and frees 16 MB, ten times over (after two to warm up)."""
    out = subprocess.run([sys.executable, "-c", CHURN, mode], check=True, capture_output=True, text=True)
    return int(out.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the slack is glibc's M_TOP_PAD")
def test_the_heap_a_batch_frees_is_reused_not_faulted_in_again():
    """Without slack, glibc returns the freed 16 MB each round and the next round faults 4,000 pages in
    again; with the workers' slack they stay."""
    without, with_slack = churn_faults("default"), churn_faults("slack")
    assert without > 10 * 3_000
    assert with_slack < without / 10


def test_elsewhere_than_glibc_memory_is_managed_as_before(monkeypatch):
    monkeypatch.setattr(heap.platform, "libc_ver", lambda: ("", ""))
    assert heap.keep_heap_slack(heap.HARVEST_HEAP_SLACK) is False
