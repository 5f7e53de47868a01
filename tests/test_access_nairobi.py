"""Real data: Nairobi wards, health facilities and schools, the Digital Matatus feed.

The spot check of the issue: a ward's nearest-hospital time equals direct journey queries
(``plan_journey``) from its origins.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from api.access_io import read_districts, read_opportunities
from gtfs_out.read import read_feed
from transit.access import AccessSpec, build_destinations, measure_origins
from transit.access_origins import build_origins, district_of_points
from transit.equity import aggregate_districts
from transit.errors import InputError
from transit.journeys import plan_journey
from transit.one_to_all import draw_offsets
from transit.timetable import build_timetable
from transit.walk import haversine_m

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def nairobi(shared_data: Path):
    wards = read_districts(shared_data / "nairobi-wards" / "nairobi_wards_pop2009.geojson",
                           "pop2009", "ward")
    opp_dir = shared_data / "nairobi-opportunities"
    opps = read_opportunities([opp_dir / "health_facilities.csv", opp_dir / "schools.csv"],
                              selects=["hospital=Facility_type_category:HOSPITALS"])
    return shared_data, wards, opps


def test_wards_and_opportunities_read_as_documented(nairobi) -> None:
    shared_data, wards, opps = nairobi
    assert len(wards.names) == 85
    assert wards.population.sum() == pytest.approx(3_138_369)
    assert wards.repaired == ("Nyayo Highrise Ward",)
    assert all(g.is_valid for g in wards.geometries)
    assert {k: v.size for k, v in opps.members.items()} == {
        "health_facilities": 1248, "schools": 2166, "hospital": 132}
    where = district_of_points(wards.geometries, opps.lat, opps.lon)
    assert int((where[opps.members["health_facilities"]] < 0).sum()) == 0
    assert int((where[opps.members["schools"]] < 0).sum()) == 34
    with pytest.raises(InputError, match="the fields are: county, cuid, gid, pop2009, scuid, "
                                         "subcounty, uid, ward"):
        read_districts(shared_data / "nairobi-wards" / "nairobi_wards_pop2009.geojson",
                       "population")


@pytest.mark.slow
def test_ward_nearest_hospital_equals_journey_queries(nairobi) -> None:
    shared_data, wards, opps = nairobi
    tables = read_feed(shared_data / "nairobi-gtfs" / "gtfs.zip")
    tt = build_timetable(tables, dt.date(2019, 11, 5))
    spec = AccessSpec(depart_s=7 * 3600, window_s=10 * 60, draws=2, seed=7,
                      thresholds_s=(1800, 3600))
    offsets = draw_offsets(tt, spec.draws, spec.seed)
    chosen = [wards.names.index(n) for n in ("Kilimani Ward", "Kariobangi North Ward")]
    for d in chosen:
        origins = build_origins([wards.geometries[d]], wards.population[d:d + 1], 600)
        centre = wards.geometries[d].centroid
        hospitals = opps.members["hospital"]
        dist = haversine_m(opps.lat[hospitals], opps.lon[hospitals], centre.y, centre.x)
        near3 = hospitals[np.argsort(dist, kind="stable")[:3]]
        dest = build_destinations(tt, opps.lat, opps.lon, {"hospital": near3})
        got = measure_origins(tt, origins.lat, origins.lon, dest, spec, offsets)
        dm = aggregate_districts(origins, got, (wards.names[d],), ("hospital",),
                                 spec.thresholds_s)
        expect = []
        for la, lo in zip(origins.lat, origins.lon, strict=True):
            samples = np.min([plan_journey(tt, (la, lo), (opps.lat[h], opps.lon[h]),
                                           spec.depart_s, window_s=spec.window_s,
                                           draws=spec.draws, seed=spec.seed).samples_s
                              for h in near3], axis=0)
            expect.append(int(np.percentile(samples, 50, method="inverted_cdf")))
        np.testing.assert_array_equal(got.nearest_s[:, 0], expect)
        # Thresholds shorter than most nearest times: the search stops at 10 minutes and
        # the nearest times beyond come from the second, category-as-destination search.
        short = AccessSpec(depart_s=spec.depart_s, window_s=spec.window_s, draws=spec.draws,
                           seed=spec.seed, thresholds_s=(300, 600))
        got_short = measure_origins(tt, origins.lat, origins.lon, dest, short, offsets)
        assert (got_short.nearest_s[:, 0] > 600).any()
        np.testing.assert_array_equal(got_short.nearest_s[:, 0], expect)
        assert dm.nearest_min[0, 0] == pytest.approx(
            np.average(np.asarray(expect) / 60, weights=origins.population), rel=1e-12)
        # Transit is used: somewhere in the ward it beats walking.
        assert (got.nearest_s[:, 0] < got.walk_nearest_s[:, 0]).any()
