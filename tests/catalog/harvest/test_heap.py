import subprocess
import sys

import pytest

from catalog.harvest import heap

CHURN = """
import resource, sys
from catalog.harvest.heap import keep_heap_slack

slack, megabytes = int(sys.argv[1]), int(sys.argv[2])
if slack:
    assert keep_heap_slack(slack)
faults = []
for _ in range(12):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    chunks = [bytes(1024) for _ in range(megabytes * 1000)]  # strings as a batch's: in malloc's heap
    del chunks
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[2:]))
"""


def churn_faults(slack: int, megabytes: int) -> int:
    """Page faults of a process that allocates and frees `megabytes`, ten times over (after two rounds
    to warm up), keeping `slack` bytes of heap (0: glibc's default)."""
    command = [sys.executable, "-c", CHURN, str(slack), str(megabytes)]
    return int(subprocess.run(command, check=True, capture_output=True, text=True).stdout)


@pytest.mark.skipif(not heap.glibc_malloc(), reason="the slack is glibc's M_TOP_PAD")
@pytest.mark.parametrize(
    ("slack", "megabytes"), [(heap.HARVEST_HEAP_SLACK, 6), (heap.WORKER_HEAP_SLACK, 16)], ids=["harvest", "worker"]
)
def test_the_heap_a_batch_frees_is_reused_not_faulted_in_again(slack, megabytes):
    """Without slack, glibc returns what was freed each round and the next round faults it in again
    (250 pages a megabyte); with the slack shipped, it stays."""
    without, with_slack = churn_faults(0, megabytes), churn_faults(slack, megabytes)
    assert without > 10 * megabytes * 200
    assert with_slack < without / 10


def test_elsewhere_than_glibc_memory_is_managed_as_before(monkeypatch):
    monkeypatch.setattr(heap.os, "confstr", lambda name: None)
    assert heap.keep_heap_slack(heap.HARVEST_HEAP_SLACK) is False
