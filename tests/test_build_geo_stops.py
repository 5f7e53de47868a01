"""Builder, steps 1-2: projections, dwell detection and stop clustering (tiers 1 and 2)."""

from __future__ import annotations

import numpy as np
import pytest
from pyproj import Transformer

from tests.build_synth import LAT0, LON0, l_corridor, ride
from transit.geo import LocalProjection, angle_diff_deg, bearing_deg, haversine_m
from transit.stops import DwellOptions, Dwells, cluster_stops, detect_dwells, slow_passes


def test_01_haversine_one_degree_of_latitude() -> None:
    # 1 degree of arc on the 6,371,008.8 m sphere is 111,195.08 m
    assert haversine_m(0.0, 0.0, 1.0, 0.0) == pytest.approx(111_195.08, abs=0.01)


def test_02_bearing_east_and_north() -> None:
    assert bearing_deg(0.0, 0.0, 0.0, 1.0) == pytest.approx(90.0)
    assert bearing_deg(0.0, 0.0, 1.0, 0.0) == pytest.approx(0.0)


def test_03_angle_diff_wraps() -> None:
    assert angle_diff_deg(350.0, 10.0) == pytest.approx(20.0)
    assert angle_diff_deg(90.0, 270.0) == pytest.approx(180.0)


def test_04_projection_matches_pyproj_aeqd_and_round_trips() -> None:
    proj = LocalProjection(LAT0, LON0)
    rng = np.random.default_rng(1)
    lat = LAT0 + rng.uniform(-0.2, 0.2, 200)
    lon = LON0 + rng.uniform(-0.2, 0.2, 200)
    x, y = proj.forward(lat, lon)
    ref = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={LAT0} +lon_0={LON0} +ellps=WGS84 +units=m",
        always_xy=True)
    rx, ry = ref.transform(lon, lat)
    # within 0.02 % of the ellipsoidal projection 22 km out
    assert np.max(np.hypot(x - rx, y - ry) / np.hypot(rx, ry)) < 2e-4
    blat, blon = proj.inverse(x, y)
    assert np.max(np.abs(blat - lat)) < 1e-9
    assert np.max(np.abs(blon - lon)) < 1e-9


def _track(xs: list[float], ts: list[float]) -> tuple[np.ndarray, ...]:
    x = np.array(xs, float)
    return (x, np.zeros_like(x), (np.array(ts) * 1000).astype(np.int64),
            np.full(len(x), np.nan, np.float32), np.array([0, len(x)], np.int64))


def test_05_one_stop_of_20_s_between_two_runs() -> None:
    # 10 m/s for 30 s, stands at x=300 m for 20 s, 10 m/s for 30 s: one dwell of 20 s at 300 m
    xs = [10.0 * t for t in range(30)] + [300.0] * 21 + [300.0 + 10 * t for t in range(1, 31)]
    d, _first, _last = detect_dwells(*_track(xs, list(range(len(xs)))))
    assert len(d) == 1
    assert d.x_m[0] == pytest.approx(300.0, abs=10.0)
    assert (d.end_ms[0] - d.start_ms[0]) / 1000 == pytest.approx(21.0, abs=2.0)
    assert d.heading_deg[0] == pytest.approx(90.0, abs=1.0)  # moving east


def test_06_constant_motion_has_no_dwell() -> None:
    xs = [8.0 * t for t in range(200)]
    d, _, _ = detect_dwells(*_track(xs, list(range(200))))
    assert len(d) == 0


def test_07_sparse_sampling_still_finds_the_stop() -> None:
    # fixes every 15 s: three fixes at the same place from t=30 to t=60 s; the vehicle
    # arrived between 15 and 30 s and left between 60 and 75 s: expected dwell 7.5+30+7.5 s
    xs = [0.0, 150.0, 300.0, 302.0, 299.0, 450.0, 600.0]
    ts = [0, 15, 30, 45, 60, 75, 90]
    d, _, _ = detect_dwells(*_track(xs, ts))
    assert len(d) == 1
    assert (d.start_ms[0], d.end_ms[0]) == (22_500, 67_500)


def test_08_reported_speed_breaks_a_dwell() -> None:
    # slow crawl within 25 m, but the phone says 3 m/s: traffic, not a stop
    x, y, t, _, b = _track([0.0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24],
                           list(range(13)))
    v = np.full(len(x), 3.0, np.float32)
    d, _, _ = detect_dwells(x, y, t, v, b)
    assert len(d) == 0
    d2, _, _ = detect_dwells(x, y, t, np.full(len(x), np.nan, np.float32), b)
    assert len(d2) == 1


def test_09_opposite_directions_make_separate_stops() -> None:
    corridor = l_corridor()
    proj = LocalProjection(LAT0, LON0)
    segs = [ride(corridor, d, start_ms=1_700_000_000_000 + k * 600_000, trace_key=f"{d}{k}",
                 seed=10 * d + k)[0] for d in (0, 1) for k in range(3)]
    xs, ys, ts, vs, bounds = [], [], [], [], [0]
    for s in segs:
        x, y = proj.forward(s.lat, s.lon)
        xs.append(x)
        ys.append(y)
        ts.append(s.time_ms)
        vs.append(s.speed_mps)
        bounds.append(bounds[-1] + len(s))
    dw, _, _ = detect_dwells(np.concatenate(xs), np.concatenate(ys), np.concatenate(ts),
                             np.concatenate(vs), np.array(bounds, np.int64))
    trace = np.arange(len(segs), dtype=np.int64)
    cand = cluster_stops(dw, trace, trace, DwellOptions())
    n_true = 2 * len(corridor.stops_along_m)
    assert len(cand) == n_true
    assert set(cand.support_traces.tolist()) == {3}
    # every true stop of each side has a candidate within 10 m with its heading
    for d in (0, 1):
        tx, ty = corridor.stops(d)
        for sx, sy in zip(tx, ty, strict=True):
            dist = np.hypot(cand.x_m - sx, cand.y_m - sy)
            k = int(np.argmin(dist))
            assert dist[k] < 10.0
            assert cand.n_dwells[k] == 3


def test_10_close_parts_of_one_stop_merge_but_opposite_sides_do_not() -> None:
    from transit.stops import merge_close_stops

    # A (5 dwells) and B (2) 30 m apart heading east: B joins A; C faces west 5 m from A:
    # stays; D 100 m east: stays; E has weight -1 (filtered out): takes no part
    x = np.array([0.0, 30.0, 0.0, 100.0, 10.0])
    y = np.array([0.0, 0.0, 5.0, 0.0, 0.0])
    h = np.array([90.0, 95.0, 270.0, 90.0, 90.0])
    w = np.array([5, 2, 1, 1, -1])
    assert merge_close_stops(x, y, h, w, radius_m=40.0).tolist() == [0, 0, 2, 3, -1]


def test_parse_latlon_for_cli_and_service() -> None:
    import pytest

    from transit.errors import InputError
    from transit.geo import parse_latlon

    assert parse_latlon("-1.2921, 36.8219", "--from") == (-1.2921, 36.8219)
    for bad in ("36.8", "a,b", "91,0", "0,181", "nan,1", "1,2,3"):
        with pytest.raises(InputError, match="--from"):
            parse_latlon(bad, "--from")


def _dwells_at(points: list[tuple[int, float, float, float]]) -> tuple[Dwells, np.ndarray]:
    """Dwells from (trace, x_m, y_m, heading_deg) rows; one segment per trace."""
    seg = np.array([p[0] for p in points], np.int32)
    t = np.arange(len(points), dtype=np.int64) * 60_000
    return Dwells(segment=seg, x_m=np.array([p[1] for p in points]),
                  y_m=np.array([p[2] for p in points]), start_ms=t, end_ms=t + 20_000,
                  heading_deg=np.array([p[3] for p in points]),
                  field=np.zeros(len(points), bool), name=("",) * len(points)), \
        np.arange(int(seg.max()) + 1, dtype=np.int64)


def _two_close_stops(gap_m: float) -> list[tuple[int, float, float, float]]:
    # four traces (one phone each, ~2 m noise) ride east and dwell at stops x=0 and x=gap_m,
    # and at ten calibration stops far apart (they show how precise the phones are)
    jitter = [(-2.0, 1.0), (1.5, -1.0), (0.5, 2.0), (-1.0, -1.5)]
    rows = []
    for tr, (jx, jy) in enumerate(jitter):
        for sx in [0.0, gap_m] + [1000.0 + 300.0 * k for k in range(10)]:
            rows.append((tr, sx + jx, jy, 90.0))
    return rows


def test_10b_a_dwell_without_heading_does_not_chain_the_two_sides_of_a_road() -> None:
    # three traces dwell eastbound at y=0, three westbound across the road at y=14; a
    # seventh trace ends its segment at y=5 (no fixes beyond it: no heading). Clustered
    # with the rest it sat 15 m (heading weight) from both sides and joined them
    rows = [(k, float(k), 0.0, 90.0) for k in range(3)]
    rows += [(3 + k, float(k), 14.0, 270.0) for k in range(3)]
    rows.append((6, 1.0, 5.0, float("nan")))
    dw, trace = _dwells_at(rows)
    cand = cluster_stops(dw, trace, trace, DwellOptions())
    assert sorted(np.round(cand.heading_deg).tolist()) == [90.0, 270.0]
    assert sorted(cand.support_traces.tolist()) == [3, 4]  # it joins the nearer side


def test_11_two_stops_25_m_apart_on_one_road_stay_apart() -> None:
    # DBSCAN (eps 20 m) and the 40 m merge join x=0 and x=25 into one cluster; the
    # along-track split finds two groups 25 m apart, ~10 standard errors: two stops
    dw, trace = _dwells_at(_two_close_stops(25.0))
    cand = cluster_stops(dw, trace, trace, DwellOptions())
    near = np.flatnonzero(cand.x_m < 500)
    assert len(cand) == 12
    assert sorted(np.round(cand.x_m[near]).tolist()) == [0.0, 25.0]
    assert cand.support_traces[near].tolist() == [4, 4]
    # with splitting off the fixed merge radius makes them one stop
    one = cluster_stops(dw, trace, trace, DwellOptions(split_min_m=0))
    assert len(np.flatnonzero(one.x_m < 500)) == 1


def test_12_stray_dwells_of_noisy_phones_do_not_make_a_stop_of_their_own() -> None:
    # four precise phones (~2 m) dwell at x=0; two noisy phones (their dwells at the ten
    # calibration stops scatter +-15 m) both dwell 20 m on. A 20 m gap between groups, but
    # the noisy pair's mean is uncertain by ~11 m: z ~ 1.8 < 5, one stop
    rows = [r for r in _two_close_stops(25.0) if r[1] > 500 or r[1] < 10]
    for tr in (4, 5):
        rows.append((tr, 20.0, 0.0, 90.0))
        for k in range(10):
            off = 15.0 if (k + tr) % 2 else -15.0
            rows.append((tr, 1000.0 + 300.0 * k + off, -off, 90.0))
    dw, trace = _dwells_at(rows)
    cand = cluster_stops(dw, trace, trace, DwellOptions())
    near = np.flatnonzero(cand.x_m < 500)
    assert len(near) == 1
    assert cand.support_traces[near].tolist() == [6]
    # it is the noise weighting that keeps them together: asking for z >= 1 splits them
    loose = cluster_stops(dw, trace, trace, DwellOptions(split_min_z=1.0))
    assert len(np.flatnonzero(loose.x_m < 500)) == 2
    # and had two precise phones dwelt there, it would be a stop of its own
    rows_p = [r for r in rows if r[0] < 4] + [(0, 21.0, 0.0, 90.0), (1, 19.0, 0.0, 90.0)]
    dw_p, trace_p = _dwells_at(rows_p)
    assert len(np.flatnonzero(cluster_stops(dw_p, trace_p, trace_p).x_m < 500)) == 2


def test_13_split_needs_two_traces_on_each_side() -> None:
    from transit.stop_split import split_along_track

    # three traces dwell at x=0, one stray dwell 30 m on: the stray stays with its stop
    x = np.array([0.0, 1.0, -1.0, 30.0])
    lab = split_along_track(x, np.zeros(4), np.full(4, 90.0), np.zeros(4, np.int64),
                            np.array([0, 1, 2, 3]), np.full(4, 2.0))
    assert lab.tolist() == [0, 0, 0, 0]
    # a second trace there makes it a group of its own: gap 30.5 m, standard error of the
    # difference sqrt(13 / 3 + 13 / 2) = 3.3 m, z = 9.3 >= 5
    x2 = np.r_[x, 31.0]
    lab2 = split_along_track(x2, np.zeros(5), np.full(5, 90.0), np.zeros(5, np.int64),
                             np.array([0, 1, 2, 3, 4]), np.full(5, 2.0), min_z=5.0)
    assert lab2.tolist() == [0, 0, 0, 1, 1]


def test_14_scattered_two_trace_cluster_is_broken_up_but_a_tight_one_is_not() -> None:
    from transit.stop_split import break_scattered

    # phones with 2 m noise (+3 m halting spread: variance 13 m^2). Two rides held 30 m
    # apart: chi2 = (15^2 + 15^2) / 13 / 2 = 17.3 > 5; two rides 4 m apart: 0.3
    x = np.array([0.0, 30.0, 500.0, 504.0])
    lab = break_scattered(x, np.zeros(4), np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]),
                          np.full(4, 2.0), max_chi2=5.0)
    assert lab[0] != lab[1]
    assert lab[2] == lab[3]
    # a cluster of three traces is left alone whatever its spread
    lab3 = break_scattered(np.array([0.0, 30.0, 60.0]), np.zeros(3), np.zeros(3, np.int64),
                           np.array([0, 1, 2]), np.full(3, 2.0), max_chi2=5.0)
    assert lab3.tolist() == [0, 0, 0]


def test_15_dwell_noise_is_estimated_per_phone() -> None:
    from transit.stop_split import dwell_noise_m

    # phone 0 scatters 2 m, phone 1 scatters 20 m per axis around 40 stops dwelt at by both
    # and by a precise third phone (so the stop medians sit near the truth)
    rng = np.random.default_rng(3)
    n = 40
    dev = np.repeat([0, 1, 2], n)
    lab = np.tile(np.arange(n), 3)
    sd = np.array([2.0, 20.0, 0.5])[dev]
    x = 1000.0 * lab + rng.normal(0, 1, 3 * n) * sd
    y = rng.normal(0, 1, 3 * n) * sd
    sig = dwell_noise_m(x, y, lab, dev)
    assert sig[dev == 0][0] == pytest.approx(2.0, rel=0.5)
    assert sig[dev == 1][0] == pytest.approx(20.0, rel=0.5)


def _pass(x_from: float, x_to: float, y: float, speeds: list[float]) -> tuple[np.ndarray, ...]:
    """A straight pass along y = const, one fix per speed, evenly spaced."""
    xs = np.linspace(x_from, x_to, len(speeds))
    return xs, np.full(len(speeds), y), np.array(speeds, np.float32)


def test_16_slow_passes_counts_traces_that_slow_down_in_the_stop_direction() -> None:
    # place at (0, 0) heading east (90 deg). Trace 0 slows to 1 m/s there, trace 1 passes
    # at 8 m/s, trace 2 (two segments) slows to 0.5 m/s in its second segment, trace 3
    # halts at the same spot driving west (other side of the road: not counted), trace 4
    # has no reported speed (not counted)
    parts = [_pass(-100, 100, 0, [9, 6, 1, 6, 9]), _pass(-100, 100, 0, [8] * 5),
             _pass(-300, -200, 0, [9, 9]), _pass(-100, 100, 0, [7, 3, 0.5, 3, 7]),
             _pass(100, -100, 0, [9, 5, 1, 5, 9]),
             _pass(-100, 100, 0, [float("nan")] * 5)]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    v = np.concatenate([p[2] for p in parts])
    bounds = np.cumsum([0] + [len(p[0]) for p in parts]).astype(np.int64)
    trace = np.array([0, 1, 2, 2, 3, 4], np.int64)
    passing, slowed = slow_passes(x, y, v, bounds, trace, np.array([0.0, 0.0]),
                                  np.array([0.0, 500.0]), np.array([90.0, np.nan]))
    assert passing.tolist() == [3, 0]  # traces 0, 1, 2; nobody near (0, 500)
    assert slowed.tolist() == [2, 0]   # traces 0 and 2
    # unknown heading: any direction passes, so the westbound halt counts too
    passing, slowed = slow_passes(x, y, v, bounds, trace, np.array([0.0]), np.array([0.0]),
                                  np.array([np.nan]))
    assert (passing.tolist(), slowed.tolist()) == ([4], [3])
    # a stricter speed threshold keeps only the near-halt
    _, slowed = slow_passes(x, y, v, bounds, trace, np.array([0.0]), np.array([0.0]),
                            np.array([90.0]), slow_mps=0.8)
    assert slowed.tolist() == [1]

