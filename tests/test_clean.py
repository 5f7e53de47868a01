"""Cleaning rules on hand-built traces whose answers are arithmetic.

A point moving east along the equator: 0.0001 degree of longitude is 11.13 m.
"""

from __future__ import annotations

import numpy as np

from gps_ingest.clean import GPS_WEEK_ROLLOVER_MS, CleanOptions, clean_traceset
from transit.traces import Positionfixes, Reason, TraceMeta, TraceSet

T0 = 1_700_000_000_000  # 2023-11-14T22:13:20Z
DEG_PER_M = 1 / 111_320.0


def drive(n: int = 120, *, step_s: float = 1.0, speed_mps: float = 10.0, trace: int = 0,
          lat0: float = 0.5, lon0: float = 0.5) -> dict[str, np.ndarray]:
    """A vehicle driving east at constant speed, one fix per ``step_s``."""
    t = T0 + (np.arange(n) * step_s * 1000).astype(np.int64)
    lon = lon0 + np.arange(n) * step_s * speed_mps * DEG_PER_M
    return {"trace_index": np.full(n, trace), "time_ms": t, "lat": np.full(n, lat0), "lon": lon}


def make(*parts: dict[str, np.ndarray], accuracy: np.ndarray | None = None) -> TraceSet:
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n_traces = int(cols["trace_index"].max()) + 1
    fixes = Positionfixes.from_columns(**cols, accuracy_m=accuracy)
    return TraceSet(traces=[TraceMeta(str(i)) for i in range(n_traces)], fixes=fixes)


def reasons(ts: TraceSet) -> list[str]:
    return [Reason(r).code for r in ts.fixes.reason.tolist()]


NOW = CleanOptions(now_ms=T0 + 86_400_000)


def test_clean_drive_keeps_everything_in_one_segment() -> None:
    ts = clean_traceset(make(drive()), NOW)
    assert ts.n_accepted() == 120
    assert set(ts.fixes.segment.tolist()) == {0}


def test_range_null_island_and_implausible_times() -> None:
    d = drive()
    d["lat"][5] = 91.0
    d["lon"][6] = 181.0
    d["lat"][7], d["lon"][7] = 0.0, 0.0
    d["time_ms"][8] = 32_503_680_000_000  # year 3000
    ts = clean_traceset(make(d), NOW)
    r = reasons(ts)
    assert r[5] == r[6] == "out_of_range"
    assert r[7] == "null_island"
    assert r[8] == "time_implausible"
    assert ts.n_accepted() == 116


def test_week_rollover_is_corrected_and_kept() -> None:
    d = drive()
    d["time_ms"] = d["time_ms"] - GPS_WEEK_ROLLOVER_MS  # the phone says 2004
    ts = clean_traceset(make(d), NOW)
    assert set(reasons(ts)) == {"week_rollover"}
    assert ts.n_accepted() == 120
    assert ts.fixes.time_ms[0] == T0


def test_campaign_window() -> None:
    options = CleanOptions(now_ms=NOW.now_ms, campaign_start_ms=T0 + 10_000,
                           campaign_end_ms=T0 + 109_000)
    ts = clean_traceset(make(drive()), options)
    assert reasons(ts).count("outside_campaign") == 10 + 10
    assert ts.n_accepted() == 100


def test_poor_accuracy() -> None:
    acc = np.full(120, 8.0)
    acc[[3, 4]] = 80.0
    ts = clean_traceset(make(drive(), accuracy=acc), NOW)
    assert [i for i, r in enumerate(reasons(ts)) if r == "poor_accuracy"] == [3, 4]


def test_duplicates_and_clock_steps_back() -> None:
    d = drive()
    for k in d:
        d[k] = np.insert(d[k], 11, d[k][10])  # exact duplicate of fix 10
    d["time_ms"][50] = d["time_ms"][49] - 5000  # clock stepped back
    ts = clean_traceset(make(d), NOW)
    r = reasons(ts)
    assert r[11] == "duplicate"
    assert r[50] == "out_of_order"
    assert r.count("duplicate") == 1
    assert r.count("out_of_order") == 1


def test_sandwich_jump_and_a_burst_of_two() -> None:
    d = drive()
    d["lat"][40] += 500 * DEG_PER_M  # 500 m off in one second and back
    d["lat"][80] += 400 * DEG_PER_M
    d["lat"][81] += 420 * DEG_PER_M
    ts = clean_traceset(make(d), NOW)
    r = reasons(ts)
    assert [i for i, x in enumerate(r) if x == "jump"] == [40, 80, 81]


def test_fast_but_consistent_motion_is_not_a_jump() -> None:
    ts = clean_traceset(make(drive(speed_mps=35.0)), NOW)
    assert ts.n_accepted() == 120


def test_gap_splits_segments_and_short_segments_go() -> None:
    a = drive(100)
    b = drive(100, lon0=0.6)
    b["time_ms"] = b["time_ms"] + 100_000 + 600_000  # a 10-minute gap
    c = drive(5, lon0=0.7)
    c["time_ms"] = c["time_ms"] + 2_000_000  # 5 fixes after another gap: too short
    ts = clean_traceset(make(a, b, c), NOW)
    seg = ts.fixes.segment
    assert set(seg[:100].tolist()) == {0}
    assert set(seg[100:200].tolist()) == {1}
    assert set(seg[200:].tolist()) == {-1}
    assert reasons(ts)[200:] == ["short_segment"] * 5
    assert [len(s) for s in ts.iter_segments()] == [100, 100]


def test_parked_start_and_end_are_trimmed_but_a_minute_is_kept() -> None:
    parked = drive(600, speed_mps=0.0)  # 10 minutes parked at the terminal
    moving = drive(300, lon0=0.5 + 0.5 * DEG_PER_M)
    moving["time_ms"] = moving["time_ms"] + 600_000
    end = drive(400, speed_mps=0.0, lon0=float(moving["lon"][-1]))
    end["time_ms"] = end["time_ms"] + 900_000
    ts = clean_traceset(make(parked, moving, end), NOW)
    r = reasons(ts)
    leave = 600 + int(np.argmax(moving["lon"] - parked["lon"][0] > 40 * DEG_PER_M))
    kept_before = sum(1 for x in r[:leave] if x == "ok")
    assert kept_before == 60  # the last minute before leaving, 1 fix a second
    assert r[:100] == ["parked"] * 100
    assert r[-100:] == ["parked"] * 100
    assert r.count("parked") > 800


def test_traces_are_cleaned_independently_and_in_any_order() -> None:
    a = drive(100, trace=0)
    b = drive(100, trace=1)
    mixed = {k: np.stack([a[k], b[k]], axis=1).reshape(-1) for k in a}  # interleaved rows
    ts = clean_traceset(make(mixed), NOW)
    assert ts.n_accepted() == 200
    assert [s.trace.trace_key for s in ts.iter_segments()] == ["0", "1"]


def test_cleaning_twice_changes_nothing() -> None:
    d = drive()
    d["lat"][40] += 500 * DEG_PER_M
    ts = clean_traceset(make(d), NOW)
    before = (ts.fixes.reason.copy(), ts.fixes.segment.copy())
    clean_traceset(ts, NOW)
    assert np.array_equal(before[0], ts.fixes.reason)
    assert np.array_equal(before[1], ts.fixes.segment)
