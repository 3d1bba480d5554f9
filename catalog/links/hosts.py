"""Politeness per host, not per portal: one portal links to hundreds of hosts, and many portals link to
the same ones, so every limit is kept by the host a request goes to.

Per host: at most `per_host_concurrency` requests in flight, at most `per_host_rate` requests a second
(a leaky bucket, aiolimiter), a pause when the host asks for one (`Retry-After`), and a host that keeps
timing out is left alone for the rest of the run (its links stay due, and come first next time). A host
name that failed to resolve twice in a row is not looked up again in the run: its other links get the
same answer without a request (a name that does not resolve is the host's failure, not the link's).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiolimiter import AsyncLimiter

from catalog.links.probe import LinkCheckSettings

LOOKUPS_BEFORE_GIVING_UP = 2
"""Failed lookups of a host name in a row after which it is not looked up again in the run."""


@dataclass
class HostGate:
    """One host's limits and state."""

    slots: asyncio.Semaphore
    limiter: AsyncLimiter | None
    resume_at: float = 0.0
    timeouts_in_a_row: int = 0
    paused: bool = False
    unresolved_in_a_row: int = 0


@dataclass
class Hosts:
    """Every host's gate, made on first use."""

    settings: LinkCheckSettings
    _gates: dict[str, HostGate] = field(default_factory=dict)

    def gate(self, host: str) -> HostGate:
        host = host.lower()
        if (gate := self._gates.get(host)) is None:
            rate = self.settings.per_host_rate
            limiter = AsyncLimiter(1, 1 / rate) if rate > 0 else None  # one at a time, 1/rate s apart
            gate = self._gates[host] = HostGate(asyncio.Semaphore(self.settings.per_host_concurrency), limiter)
        return gate

    @asynccontextmanager
    async def turn(self, host: str) -> AsyncIterator[None]:
        """Wait until `host` may be sent one more request, and hold its slot while it runs."""
        gate = self.gate(host)
        loop = asyncio.get_running_loop()
        async with gate.slots:
            while (wait := gate.resume_at - loop.time()) > 0:
                await asyncio.sleep(wait)
            if gate.limiter is not None:
                await gate.limiter.acquire()
            yield

    def back_off(self, host: str, seconds: float) -> None:
        """Send `host` nothing more for `seconds` (it asked, with Retry-After)."""
        gate = self.gate(host)
        gate.resume_at = max(gate.resume_at, asyncio.get_running_loop().time() + seconds)

    def record(self, host: str, error: str | None) -> None:
        """Count timeouts (past the limit, the host is paused for the rest of the run) and failed lookups
        in a row."""
        gate = self.gate(host)
        gate.timeouts_in_a_row = gate.timeouts_in_a_row + 1 if error == "timeout" else 0
        gate.unresolved_in_a_row = gate.unresolved_in_a_row + 1 if error == "dns" else 0
        if gate.timeouts_in_a_row >= self.settings.timeouts_before_pause:
            gate.paused = True

    def unresolvable(self, host: str) -> bool:
        return self.gate(host).unresolved_in_a_row >= LOOKUPS_BEFORE_GIVING_UP

    def paused(self, host: str) -> bool:
        return self.gate(host).paused

    def paused_hosts(self) -> list[str]:
        return sorted(host for host, gate in self._gates.items() if gate.paused)
