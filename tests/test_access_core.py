"""Origins, per-origin measures and equity on hand-built cases and a synthetic feed.

Per-origin measures are cross-checked against a slow reference built from
``travel_times_to_points`` and ``numpy.percentile``, and the nearest-hospital time
against direct journey queries (``plan_journey``) from the same origins.
"""

from __future__ import annotations

import numpy as np
import pytest
from shapely.geometry import Point, Polygon, box

from tests import access_synth as synth
from transit.access import (
    AccessSpec,
    build_destinations,
    measure_origins,
    percentile_rank,
)
from transit.access_origins import build_origins, project_geometry
from transit.equity import (
    aggregate_districts,
    district_columns,
    equity_summary,
    palma_ratio,
    population_beyond,
    weighted_gini,
)
from transit.errors import InputError
from transit.geo import LocalProjection
from transit.journeys import plan_journey
from transit.one_to_all import (
    build_point_egress,
    draw_offsets,
    travel_times_to_points,
    travel_times_to_stops,
)
from transit.raptor import RaptorState
from transit.timetable import UNREACHED

SPEC = AccessSpec(depart_s=7 * 3600, window_s=20 * 60, draws=3, seed=1,
                  thresholds_s=(600, 1200, 1800))


@pytest.fixture(scope="module")
def tt():
    return synth.timetable()


def _opportunities():
    lat = np.concatenate([synth.CLINIC_LAT, synth.HOSPITAL_LAT])
    lon = np.concatenate([synth.CLINIC_LON, synth.HOSPITAL_LON])
    members = {"clinic": np.arange(4), "hospital": np.array([4]),
               "health": np.arange(5)}
    return lat, lon, members


# --- origins -----------------------------------------------------------------------------

def test_01_grid_origins_split_population_by_area() -> None:
    square = box(0.0, 0.0, 0.016, 0.016)    # ~1,780 m a side
    origins = build_origins([square], np.array([1600.0]), spacing_m=250, min_cell_share=0)
    assert origins.population.sum() == pytest.approx(1600.0)
    proj = LocalProjection(0.008, 0.008)     # the plane build_origins uses (bounds centre)
    area_m2 = project_geometry(square, proj).area
    # A whole 250 m cell inside the square holds 62,500 m2 of it.
    assert origins.population.max() == pytest.approx(1600.0 * 62_500 / area_m2, rel=1e-6)
    assert origins.size == int(np.ceil(area_m2 ** 0.5 / 250) + 1) ** 2 or origins.size > 49
    assert np.all(origins.district == 0)
    assert np.all((origins.lat > 0) & (origins.lat < 0.016))


def test_02_finer_spacing_gives_more_origins_same_population() -> None:
    coarse = build_origins(list(synth.DISTRICTS), synth.POPULATION, spacing_m=500)
    fine = build_origins(list(synth.DISTRICTS), synth.POPULATION, spacing_m=200)
    assert fine.size > 4 * coarse.size * 0.8
    for o in (coarse, fine):
        got = np.bincount(o.district, weights=o.population, minlength=3)
        np.testing.assert_allclose(got, synth.POPULATION)


def test_02b_slivers_join_their_nearest_origin() -> None:
    square = box(0.0, 0.0, 0.0144, 0.0144)   # ~1,603 m a side: ~52 m edge strips per side
    every = build_origins([square], np.array([1600.0]), spacing_m=250, min_cell_share=0)
    merged = build_origins([square], np.array([1600.0]), spacing_m=250, min_cell_share=0.25)
    assert every.size == 8 * 8
    assert merged.size == 6 * 6             # the edge strips joined the inner cells
    assert merged.population.sum() == pytest.approx(1600.0)
    whole = every.population.max()
    # Every origin left holds at least a quarter cell's residents.
    assert merged.population.min() >= 0.25 * whole - 1e-9


def test_03_tiny_district_origins_lie_inside() -> None:
    tiny = Polygon([(0.0, 0.0), (0.0005, 0.0), (0.0005, 0.0005)])
    origins = build_origins([tiny], np.array([10.0]), spacing_m=1000)
    assert 1 <= origins.size <= 4
    assert origins.population.sum() == pytest.approx(10.0)
    assert all(tiny.contains(Point(lo, la)) for la, lo in zip(origins.lat, origins.lon,
                                                                 strict=True))


def test_04_bad_origin_input() -> None:
    with pytest.raises(InputError, match="spacing"):
        build_origins([box(0, 0, 1, 1)], np.array([1.0]), spacing_m=0)
    with pytest.raises(InputError, match="population"):
        build_origins([box(0, 0, 1, 1)], np.array([-1.0]))


# --- per-origin measures -------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 5, 60, 299, 300])
@pytest.mark.parametrize("q", [1, 10, 25, 50, 90, 100])
def test_05_percentile_rank_is_inverted_cdf(n: int, q: int) -> None:
    values = np.arange(n) * 7
    assert values[percentile_rank(n, q)] == np.percentile(values, q, method="inverted_cdf")


def _reference(tt, lat, lon, members, spec, offsets, origins=None):
    """Slow reference: every point's samples, numpy percentiles, plain counting."""
    egress = build_point_egress(tt, lat, lon)
    state = RaptorState(tt)
    out_opp, out_near = [], []
    for la, lo in zip(*(origins or synth_origins_latlon()), strict=True):
        stops = travel_times_to_stops(tt, state, la, lo, spec.depart_s, spec.window_s,
                                      offsets_s=offsets)
        pts = travel_times_to_points(tt, stops, egress, la, lo)
        opp, near = [], []
        for idx in members.values():
            per_point = np.percentile(pts[:, idx], spec.percentile, axis=0,
                                      method="inverted_cdf")
            opp.append([(per_point <= t).sum() for t in spec.thresholds_s])
            near.append(np.percentile(pts[:, idx].min(axis=1), spec.percentile,
                                      method="inverted_cdf"))
        out_opp.append(opp)
        out_near.append(near)
    return np.asarray(out_opp), np.asarray(out_near)


def synth_origins_latlon():
    origins = build_origins(list(synth.DISTRICTS[:2]), synth.POPULATION[:2], spacing_m=400)
    return origins.lat, origins.lon


def test_06_measures_equal_slow_reference(tt) -> None:
    lat, lon, members = _opportunities()
    offsets = draw_offsets(tt, SPEC.draws, SPEC.seed)
    dest = build_destinations(tt, lat, lon, members)
    olat, olon = synth_origins_latlon()
    got = measure_origins(tt, olat, olon, dest, SPEC, offsets)
    opp, near = _reference(tt, lat, lon, members, SPEC, offsets)
    np.testing.assert_array_equal(got.opportunities, opp)
    np.testing.assert_array_equal(got.nearest_s, near)
    assert got.has_access.any()
    assert (got.nearest_s < UNREACHED).all()
    # Walking alone is never faster than transit-or-walking, and never reaches more.
    assert (got.walk_nearest_s >= got.nearest_s).all()
    assert (got.walk_opportunities <= got.opportunities).all()
    # Something is really gained by riding from the west end to the east-end hospital.
    assert (got.walk_nearest_s[:, 1] > got.nearest_s[:, 1]).any()


def test_06b_short_thresholds_still_give_exact_nearest_times(tt) -> None:
    """The search stops at the largest threshold or the walk to the nearest opportunity,
    whichever is longer: nearest times beyond the thresholds stay exact."""
    lat, lon, members = _opportunities()
    spec = AccessSpec(depart_s=7 * 3600, window_s=20 * 60, draws=3, seed=1,
                      thresholds_s=(60, 120))
    offsets = draw_offsets(tt, spec.draws, spec.seed)
    dest = build_destinations(tt, lat, lon, members)
    olat, olon = synth_origins_latlon()
    got = measure_origins(tt, olat, olon, dest, spec, offsets)
    opp, near = _reference(tt, lat, lon, members, spec, offsets)
    np.testing.assert_array_equal(got.opportunities, opp)
    np.testing.assert_array_equal(got.nearest_s, near)
    assert (got.nearest_s > 120).any()


@pytest.mark.parametrize("seed", range(4))
def test_06c_random_opportunities_and_thresholds_equal_slow_reference(tt, seed: int) -> None:
    """Scattered opportunities, thresholds every few minutes: many locations have samples
    on both sides of a threshold, many lie wholly below or above (decided by bounds)."""
    rng = np.random.default_rng(seed)
    lat = rng.uniform(-0.006, 0.006, 40)
    lon = rng.uniform(-0.01, 0.11, 40)
    members = {"a": np.flatnonzero(rng.random(40) < 0.5), "b": np.arange(0, 40, 7)}
    spec = AccessSpec(depart_s=7 * 3600, window_s=30 * 60, draws=3, seed=seed,
                      thresholds_s=(300, 600, 900, 1200, 1500, 1800, 2400))
    offsets = draw_offsets(tt, spec.draws, spec.seed)
    dest = build_destinations(tt, lat, lon, members)
    olat = rng.uniform(-0.004, 0.004, 12)
    olon = rng.uniform(-0.005, 0.105, 12)
    got = measure_origins(tt, olat, olon, dest, spec, offsets)
    opp, near = _reference(tt, lat, lon, members, spec, offsets, (olat, olon))
    np.testing.assert_array_equal(got.opportunities, opp)
    np.testing.assert_array_equal(got.nearest_s, near)
    assert 0 < got.opportunities.sum() < got.opportunities.size * 40


def test_07_threads_and_blocks_give_identical_results(tt) -> None:
    lat, lon, members = _opportunities()
    offsets = draw_offsets(tt, SPEC.draws, SPEC.seed)
    dest = build_destinations(tt, lat, lon, members)
    origins = build_origins(list(synth.DISTRICTS), synth.POPULATION, spacing_m=150)
    one = measure_origins(tt, origins.lat, origins.lon, dest, SPEC, offsets)
    two = measure_origins(tt, origins.lat, origins.lon, dest, SPEC, offsets, threads=2)
    half = origins.size // 2
    parts = [measure_origins(tt, origins.lat[s], origins.lon[s], dest, SPEC, offsets)
             for s in (slice(0, half), slice(half, None))]
    from transit.access import OriginMeasures
    for other in (two, OriginMeasures.concat(parts)):
        for field in ("opportunities", "nearest_s", "walk_opportunities", "walk_nearest_s",
                      "has_access"):
            np.testing.assert_array_equal(getattr(one, field), getattr(other, field))


def test_08_nearest_hospital_equals_journey_queries(tt) -> None:
    """A district's nearest-hospital time equals direct journey queries from its origins."""
    lat, lon, members = _opportunities()
    offsets = draw_offsets(tt, SPEC.draws, SPEC.seed)
    dest = build_destinations(tt, lat, lon, members)
    origins = build_origins([synth.DISTRICTS[0]], synth.POPULATION[:1], spacing_m=400)
    got = measure_origins(tt, origins.lat, origins.lon, dest, SPEC, offsets)
    dm = aggregate_districts(origins, got, ("West",), tuple(members), SPEC.thresholds_s)
    expect = []
    for la, lo in zip(origins.lat, origins.lon, strict=True):
        samples = np.min([plan_journey(tt, (la, lo), (float(h_la), float(h_lo)), SPEC.depart_s,
                                       window_s=SPEC.window_s, draws=SPEC.draws,
                                       seed=SPEC.seed).samples_s
                          for h_la, h_lo in zip(synth.HOSPITAL_LAT, synth.HOSPITAL_LON,
                                                strict=True)], axis=0)
        expect.append(np.percentile(samples, 50, method="inverted_cdf"))
    np.testing.assert_array_equal(got.nearest_s[:, 1], expect)
    ward = float(np.average(np.asarray(expect) / 60, weights=origins.population))
    assert dm.nearest_min[0, 1] == pytest.approx(ward, rel=1e-12)


def test_09_no_stop_nearby_means_walking(tt) -> None:
    lat, lon, members = _opportunities()
    offsets = draw_offsets(tt, SPEC.draws, SPEC.seed)
    dest = build_destinations(tt, lat, lon, members)
    origins = build_origins([synth.DISTRICTS[2]], synth.POPULATION[2:], spacing_m=500)
    got = measure_origins(tt, origins.lat, origins.lon, dest, SPEC, offsets)
    assert not got.has_access.any()
    np.testing.assert_array_equal(got.nearest_s, got.walk_nearest_s)
    np.testing.assert_array_equal(got.opportunities, got.walk_opportunities)


@pytest.mark.parametrize(("kw", "match"), [
    ({"thresholds_s": (0, 60)}, "positive"),
    ({"thresholds_s": (600, 300)}, "unsorted"),
    ({"window_s": 90_000}, "window"),
    ({"percentile": 0}, "percentile"),
    ({"draws": 0}, "draws"),
])
def test_10_bad_spec(kw: dict, match: str) -> None:
    with pytest.raises(InputError, match=match):
        AccessSpec(depart_s=0, **kw)


# --- districts and equity ------------------------------------------------------------------

def test_11_weighted_gini_arithmetic() -> None:
    # Two equal groups, one has nothing: mean 0.5, mean |diff| = 0.5 -> G = 0.5/(2*0.5).
    assert weighted_gini(np.array([0.0, 1.0]), np.array([1.0, 1.0])) == pytest.approx(0.5)
    assert weighted_gini(np.array([3.0, 3.0, 3.0]), np.array([1.0, 5.0, 2.0])) == 0.0
    # Weights act as repeated residents: [0,1] with weights [3,1] == [0,0,0,1].
    g_weighted = weighted_gini(np.array([0.0, 1.0]), np.array([3.0, 1.0]))
    g_repeated = weighted_gini(np.array([0.0, 0.0, 0.0, 1.0]), np.ones(4))
    assert g_weighted == pytest.approx(g_repeated) == pytest.approx(0.75)
    assert weighted_gini(np.zeros(3), np.ones(3)) is None


def test_12_palma_arithmetic() -> None:
    values = np.arange(1.0, 11.0)        # ten districts of one resident each
    # best 10 % = {10}; worst 40 % = {1,2,3,4}, mean 2.5 -> 4.0
    assert palma_ratio(values, np.ones(10)) == pytest.approx(4.0)
    # As travel times (lower is better): worst 40 % = {7..10}, mean 8.5; best 10 % = {1}.
    assert palma_ratio(values, np.ones(10), higher_is_better=False) == pytest.approx(8.5)
    # A district straddling the cut is split: [0 (pop 5), 10 (pop 5)] -> worst 40 % all 0.
    assert palma_ratio(np.array([0.0, 10.0]), np.array([5.0, 5.0])) is None
    assert palma_ratio(np.array([2.0, 10.0]), np.array([5.0, 5.0])) == pytest.approx(5.0)


def test_13_district_table_and_equity(tt) -> None:
    lat, lon, members = _opportunities()
    offsets = draw_offsets(tt, SPEC.draws, SPEC.seed)
    dest = build_destinations(tt, lat, lon, members)
    origins = build_origins(list(synth.DISTRICTS), synth.POPULATION, spacing_m=400)
    got = measure_origins(tt, origins.lat, origins.lon, dest, SPEC, offsets)
    dm = aggregate_districts(origins, got, synth.NAMES, tuple(members), SPEC.thresholds_s)
    np.testing.assert_allclose(dm.population, synth.POPULATION)
    cols = district_columns(dm)
    assert list(cols)[:4] == ["population", "origins", "share_with_stop_nearby",
                              "opportunities_clinic_10min"]
    assert "walk_nearest_hospital_min" in cols
    assert "gain_nearest_hospital_min" in cols
    np.testing.assert_allclose(cols["gain_nearest_hospital_min"],
                               cols["walk_nearest_hospital_min"] - cols["nearest_hospital_min"])
    assert cols["share_with_stop_nearby"][2] == 0.0
    # The north district has no stop; it is the most underserved.
    summary = equity_summary(dm, origins, got, beyond_min=30)
    assert summary["underserved"][0]["name"] == "North"
    beyond = summary["population_beyond_30min"]["hospital"]
    expect = population_beyond(origins, got.nearest_s, 30)[1]
    assert beyond["transit"] == round(expect)
    assert 0 < beyond["transit"] <= beyond["walk"] <= synth.POPULATION.sum()
