from __future__ import annotations

from datetime import datetime, timezone

from batchsim.formula import (
    TICKS_PER_SECOND,
    AutoScaleRun,
    SampleSeries,
    datetime_to_ticks,
    ticks_to_datetime,
)


def test_ticks_round_trip_at_microsecond_resolution() -> None:
    moment = datetime(2016, 10, 13, 19, 18, 47, 805000, tzinfo=timezone.utc)
    assert ticks_to_datetime(datetime_to_ticks(moment)) == moment
    assert datetime_to_ticks(datetime(1970, 1, 1, 0, 0, 1)) == TICKS_PER_SECOND


def test_sample_series_visibility_follows_lag() -> None:
    now = datetime_to_ticks(datetime(2026, 1, 5, 12, tzinfo=timezone.utc))
    series = SampleSeries.ending_at([0, 0, 4, 9, 12], newest_tick=now - 60 * TICKS_PER_SECOND)
    assert series.visible_count(now) == 5
    assert series.sample_tick(4) == now - 60 * TICKS_PER_SECOND
    series.lag_ticks = 90 * TICKS_PER_SECOND
    assert series.visible_count(now) == 4
    assert series.visible_count(series.first_tick - 1) == 0


def test_applied_targets_truncate_and_clamp() -> None:
    run = AutoScaleRun(0, "", 2.9, -1.0, "requeue", {})
    assert run.applied_targets() == (2, 0)
    assert run.ok
