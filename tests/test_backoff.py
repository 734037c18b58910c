"""How both ends retry (protocol/backoff.py): waits double to their cap, jitter spreads them within
known bounds, and a stop ends a wait at once."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter

import pytest

from protocol.backoff import Backoff, sleep_unless_stopped


def test_the_longest_wait_doubles_from_the_base_to_the_cap() -> None:
    policy = Backoff(base_s=0.5, cap_s=10.0)
    assert [policy.ceiling(n) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 10, 10]
    assert policy.ceiling(10_000) == 10, "a count past any float exponent is still capped"
    assert policy.ceiling(0) == 0.5, "no failure yet counts as the first"


@pytest.mark.parametrize("jitter", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("failures", [1, 2, 5, 40])
def test_every_wait_lies_within_its_jitter_of_the_ceiling(jitter: float, failures: int) -> None:
    policy = Backoff(base_s=1.0, cap_s=60.0, jitter=jitter)
    ceiling = policy.ceiling(failures)
    assert policy.delay(failures, rng=lambda: 0.0) == pytest.approx(ceiling * (1 - jitter))
    assert policy.delay(failures, rng=lambda: 1.0) == pytest.approx(ceiling)
    draws = random.Random(7)
    for _ in range(1000):
        assert ceiling * (1 - jitter) <= policy.delay(failures, rng=draws.random) <= ceiling


def test_jitter_spreads_clients_that_failed_together() -> None:
    """A thousand clients on their third failure: full jitter spreads them over the whole ceiling,
    equal jitter over its upper half, none keeps them in step."""
    draws = random.Random(11)
    for jitter, low, high in ((1.0, 0.0, 4.0), (0.5, 2.0, 4.0)):
        waits = [Backoff(1.0, 60.0, jitter).delay(3, rng=draws.random) for _ in range(1000)]
        assert low <= min(waits) < low + 0.1
        assert high - 0.1 < max(waits) <= high
        assert statistics.mean(waits) == pytest.approx((low + high) / 2, abs=0.15)
        assert _busiest_tenth_of_a_second(waits) < 100, "under a tenth of the clients come back together"
    in_step = [Backoff(1.0, 60.0, jitter=0).delay(3, rng=draws.random) for _ in range(1000)]
    assert _busiest_tenth_of_a_second(in_step) == 1000, "without jitter they all come back at once"


def _busiest_tenth_of_a_second(waits: list[float]) -> int:
    return Counter(int(w * 10) for w in waits).most_common(1)[0][1]


@pytest.mark.parametrize(
    "kwargs",
    [{"base_s": 0, "cap_s": 1}, {"base_s": 1, "cap_s": -1}, {"base_s": 1, "cap_s": 2, "jitter": 1.5}],
)
def test_a_policy_that_makes_no_sense_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)


async def test_a_wait_lasts_its_time_when_nothing_happens() -> None:
    started = time.monotonic()
    assert await sleep_unless_stopped(asyncio.Event(), 0.2) is False
    assert 0.19 <= time.monotonic() - started < 1.0


async def test_a_stop_ends_a_wait_at_once_and_says_so() -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    assert await sleep_unless_stopped(stop, 30) is True
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    assert await sleep_unless_stopped(stop, 30) is True, "already stopped: no wait at all"
    assert time.monotonic() - started < 0.05


async def test_new_work_ends_a_wait_without_stopping_and_no_waiter_is_left_behind() -> None:
    stop, wake = asyncio.Event(), asyncio.Event()
    before = asyncio.all_tasks()
    asyncio.get_running_loop().call_later(0.05, wake.set)
    started = time.monotonic()
    assert await sleep_unless_stopped(stop, None, wake=wake) is False
    assert time.monotonic() - started < 1.0
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set(), "the waiters on the events are cancelled"
