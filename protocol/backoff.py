"""How both ends of the wire retry: jittered exponential backoff, and a wait that a stop cuts short.

It belongs to the contract because retrying is part of how the two sides behave towards each other.
When a server comes back after an outage (a broker restart drops every boiler at once, a database
restart fails every gateway and worker together), clients that retry at fixed intervals come back
in step and knock it over again: a reconnect storm. Doubling each wait up to a cap lets a long
outage cost few attempts; drawing part of each wait at random spreads the clients out so that they
do not stay in step. The simulated boilers and the services follow this one rule, and the simulator
may import nothing of ours but the contract, so the rule lives here.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

__all__ = ["Backoff", "sleep_unless_stopped"]

_MAX_DOUBLINGS: Final = 64
"""Beyond this many doublings every realistic wait is at its cap; the bound keeps 2**n a float."""


@dataclass(frozen=True, slots=True)
class Backoff:
    """A retry policy: the longest wait doubles after each failure in a row, from `base_s` up to
    `cap_s`, and the share `jitter` of it is drawn at random."""

    base_s: float
    """The longest wait after the first failure."""
    cap_s: float
    """No wait is longer, however many failures came before."""
    jitter: float = 0.5
    """The share of each wait left to chance: 0.5 ('equal jitter') waits between half and all of it,
    so a client still comes back soon; 1.0 ('full jitter') anywhere from none to all of it, the
    widest spread, for thousands of clients that fail together; 0 waits the whole of it."""

    def __post_init__(self) -> None:
        if self.base_s <= 0 or self.cap_s <= 0:
            raise ValueError(f"backoff waits must be positive (base {self.base_s} s, cap {self.cap_s} s)")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"backoff jitter is a share of the wait, from 0 to 1, not {self.jitter}")

    def ceiling(self, failures: int) -> float:
        """The longest wait after `failures` failures in a row (1 for the first)."""
        doublings = min(max(failures - 1, 0), _MAX_DOUBLINGS)
        return min(self.cap_s, self.base_s * 2.0**doublings)

    def delay(self, failures: int, rng: Callable[[], float] = random.random) -> float:
        """The wait before the next attempt, after `failures` failures in a row. `rng` draws the
        random part, from [0, 1): seeded where a run must repeat (the simulator, tests)."""
        ceiling = self.ceiling(failures)
        return ceiling * (1 - self.jitter + self.jitter * rng())


async def sleep_unless_stopped(
    stop: asyncio.Event, seconds: float | None, *, wake: asyncio.Event | None = None
) -> bool:
    """Wait `seconds` (None: without limit), or less when `stop` is set meanwhile, or `wake` (new
    work has come). True when stopped, so that a loop waiting out an outage ends at once on a stop
    instead of finishing its wait first."""
    if stop.is_set():
        return True
    events = [stop] if wake is None else [stop, wake]
    waiters = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return stop.is_set()
