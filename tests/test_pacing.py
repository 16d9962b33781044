"""Pacing on a clock the test moves: a ticker's deadlines and skipped periods, a backoff's delays."""

from __future__ import annotations

import pytest

from edge_agent.pacing import Backoff, Ticker
from tests.support.clock import FakeClock


def test_a_ticker_waits_out_what_is_left_of_the_period() -> None:
    clock = FakeClock()
    ticker = Ticker(1.0, clock)

    assert ticker.advance() == 1.0
    clock.advance(1.0 + 0.3)  # the wait, then a cycle of 0.3 s
    assert ticker.advance() == pytest.approx(0.7)
    assert ticker.skipped == 0


def test_a_ticker_skips_the_periods_a_long_cycle_missed_instead_of_bursting() -> None:
    clock = FakeClock()
    ticker = Ticker(1.0, clock)
    ticker.advance()
    clock.advance(1.0 + 3.5)  # the wait, then a cycle that took three and a half periods

    # The deadlines at 2, 3 and 4 s passed during the cycle: the next one is at 5 s.
    assert ticker.advance() == pytest.approx(0.5)
    assert ticker.skipped == 3
    clock.advance(0.5)
    assert ticker.advance() == pytest.approx(1.0)
    assert ticker.skipped == 3


def test_a_ticker_restarted_after_a_failure_counts_its_periods_from_then() -> None:
    clock = FakeClock()
    ticker = Ticker(1.0, clock)
    ticker.advance()
    clock.advance(0.4)

    assert ticker.restart_in(5.0) == 5.0
    clock.advance(5.0)
    assert ticker.advance() == pytest.approx(1.0)
    assert ticker.skipped == 0


def test_backoff_delays_double_up_to_the_cap_and_start_over_after_a_reset() -> None:
    backoff = Backoff(first=0.5, cap=6.0, clock=FakeClock())

    assert [backoff.next_delay() for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 6.0, 6.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_a_cap_below_the_first_delay_is_the_first_delay() -> None:
    backoff = Backoff(first=2.0, cap=1.0, clock=FakeClock())

    assert [backoff.next_delay() for _ in range(3)] == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(("jitter", "factor"), [(0.0, 0.8), (1.0, 1.2)])
def test_backoff_jitter_stays_within_20_percent(jitter: float, factor: float) -> None:
    backoff = Backoff(first=1.0, cap=4.0, clock=FakeClock(jitter=jitter))

    delays = [backoff.next_delay() for _ in range(4)]

    assert delays == pytest.approx([1.0 * factor, 2.0 * factor, 4.0 * factor, 4.0 * factor])
