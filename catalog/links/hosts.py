"""Politeness per host, not per portal: one portal links to hundreds of hosts, and many portals link to
the same ones, so every limit is kept by the host a request goes to, redirect hops included.

Per host: at most `per_host_concurrency` requests in flight and `per_host_rate` requests a second (a
leaky bucket, aiolimiter), and a pause as long as the host asks for (`Retry-After`). A host is left
alone for the rest of the run once it has timed out `timeouts_before_pause` times in a row, asked for a
longer wait than `longest_wait`, or its name failed to resolve twice in a row: its other links are then
answered without a request (`HostRefusedError`), with the reason, and so go to the back of the queue
instead of holding its head. Across hosts, at most `max_in_flight` requests run at once; a request's
timeout starts only once it holds its place, so waiting for one is never taken for a silent host.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter

from catalog.links.probe import HostRefusedError
from catalog.links.settings import LinkCheckSettings

LOOKUPS_BEFORE_GIVING_UP = 2
"""Failed lookups of a host name in a row after which it is not looked up again in the run."""


@dataclass
class HostGate:
    """One host's limits and state."""

    slots: asyncio.Semaphore
    limiter: AsyncLimiter | None
    resume_at: float = 0.0
    timeouts_in_a_row: int = 0
    unresolved_in_a_row: int = 0
    refusal: tuple[str, str] | None = None
    """Why the host is left alone for the rest of the run, once it is."""


@dataclass
class Hosts:
    """Every host's gate, made on first use, and the cap on requests in flight across hosts."""

    settings: LinkCheckSettings
    _gates: dict[str, HostGate] = field(default_factory=dict)
    _in_flight: asyncio.Semaphore | None = None

    def gate(self, host: str) -> HostGate:
        host = host.lower()
        if (gate := self._gates.get(host)) is None:
            rate = self.settings.per_host_rate
            limiter = AsyncLimiter(1, 1 / rate) if rate > 0 else None  # one at a time, 1/rate s apart
            gate = self._gates[host] = HostGate(asyncio.Semaphore(self.settings.per_host_concurrency), limiter)
        return gate

    @asynccontextmanager
    async def turn(self, host: str) -> AsyncIterator[None]:
        """Wait until `host` may be sent one more request, and hold its slot (and a place among all the
        requests in flight) while it runs. Refuses a host left alone for the rest of the run."""
        gate = self.gate(host)
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(self.settings.max_in_flight)
        loop = asyncio.get_running_loop()
        async with gate.slots:
            while True:
                if gate.refusal is not None:
                    raise HostRefusedError(*gate.refusal)
                if (wait := gate.resume_at - loop.time()) > 0:
                    await asyncio.sleep(wait)
                    continue
                if gate.limiter is not None:
                    await gate.limiter.acquire()
                if gate.resume_at <= loop.time() and gate.refusal is None:  # no pause asked for meanwhile
                    break
            async with self._in_flight:
                yield

    def back_off(self, host: str, seconds: float) -> None:
        """Send `host` nothing more for `seconds` (it asked, with Retry-After); longer than `longest_wait`,
        nothing more in this run."""
        gate = self.gate(host)
        if seconds > self.settings.longest_wait:
            gate.refusal = (
                "throttled",
                f"not requested: {host} asked for a wait of {seconds:.0f} s, longer than this run waits",
            )
        gate.resume_at = max(gate.resume_at, asyncio.get_running_loop().time() + seconds)

    def record(self, host: str, error: str | None) -> None:
        """Count timeouts and failed lookups in a row; past their limits, the host is left alone."""
        gate = self.gate(host)
        gate.timeouts_in_a_row = gate.timeouts_in_a_row + 1 if error == "timeout" else 0
        gate.unresolved_in_a_row = gate.unresolved_in_a_row + 1 if error == "dns" else 0
        if gate.refusal is not None:
            return
        if gate.timeouts_in_a_row >= self.settings.timeouts_before_pause:
            gate.refusal = (
                "timeout",
                f"not requested: {host} timed out {gate.timeouts_in_a_row} times in a row in this run",
            )
        elif gate.unresolved_in_a_row >= LOOKUPS_BEFORE_GIVING_UP:
            gate.refusal = (
                "dns",
                f"not looked up again: {host} failed to resolve {gate.unresolved_in_a_row} times in a row",
            )

    def left_alone(self) -> list[str]:
        """The hosts left alone for the rest of the run."""
        return sorted(host for host, gate in self._gates.items() if gate.refusal is not None)
