"""`transit journey` / `transit isochrone` on a tiny feed, and the timetable disk cache."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from api.cli import app
from gtfs_out.read import read_feed
from gtfs_out.timetable_cache import load_timetable
from transit.timetable import build_timetable

REPO = Path(__file__).resolve().parent.parent
TINY = REPO / "tests" / "fixtures" / "router" / "tiny"
DAY = "2024-01-10"


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSIT_CACHE_DIR", str(tmp_path / "cache"))


def test_journey_json_has_distribution_transfers_and_itinerary() -> None:
    args = ["journey", str(TINY), "--from", "0.0,0.0", "--to", "0.0,0.1", "--depart",
            "07:00", "--window", "5", "--draws", "4", "--date", DAY, "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    p = out["travel_time_s"]
    assert p["p10"] <= p["p50"] <= p["p90"]
    assert out["samples"] == 5 * 4
    rides = [leg for leg in out["itinerary"] if leg["kind"] == "ride"]
    assert [leg["route"] for leg in rides] == ["1", "2"]
    assert rides[0]["headway_s"] == 600
    assert rides[1]["headway_s"] is None
    assert out["transfers"] == 1
    # The second vehicle leaves C at 07:30 and reaches D at 07:50 in every sample.
    assert rides[1]["arrive"] == "07:50:00"
    again = CliRunner().invoke(app, args)
    assert again.output == result.output          # same seed, same bytes


def test_journey_text_is_readable() -> None:
    result = CliRunner().invoke(app, ["journey", str(TINY), "--from", "0.0,0.0", "--to",
                                      "0.0,0.1", "--depart", "07:00", "--window", "5",
                                      "--date", DAY])
    assert result.exit_code == 0, result.output
    assert "p50" in result.output
    assert "board route 1 at Alpha (every 10 min" in result.output


def test_isochrone_writes_nested_polygons(tmp_path: Path) -> None:
    out = tmp_path / "iso.geojson"
    result = CliRunner().invoke(app, ["isochrone", str(TINY), "--from", "0.0,0.0",
                                      "--depart", "07:00", "--minutes", "5,45",
                                      "--window", "10", "--date", DAY, "--out", str(out)])
    assert result.exit_code == 0, result.output
    features = json.loads(out.read_text())["features"]
    assert [f["properties"]["minutes"] for f in features] == [5, 45]
    small, large = (shapely.geometry.shape(f["geometry"]) for f in features)
    assert small.contains(shapely.Point(0.0, 0.0))
    assert large.contains(small.buffer(-1e-9))
    # Bravo is a 10-min ride away (plus a wait under 10 min): inside 45 min, not 5.
    assert large.contains(shapely.Point(0.05, 0.0))
    assert not small.contains(shapely.Point(0.05, 0.0))


@pytest.mark.slow
def test_bad_input_is_one_line_and_exit_code_2() -> None:
    cases = [
        (["--from", "0.0,0.0", "--to", "9.0,9.0"], "outside the feed's area"),
        (["--from", "0.0,0.0", "--to", "0.0,0.1", "--depart", "7.30"], "not a clock time"),
        (["--from", "0.0;0.0", "--to", "0.0,0.1"], "not a coordinate"),
    ]
    for extra, message in cases:
        proc = subprocess.run(
            [sys.executable, "-c", "from api.cli import main; main()", "journey", str(TINY),
             "--date", DAY, *extra], capture_output=True, text=True, cwd=REPO, check=False)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1
        assert message in proc.stderr
        assert "Traceback" not in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "journey", str(TINY),
         "--date", "2024-01-13", "--from", "0.0,0.0", "--to", "0.0,0.1"],
        capture_output=True, text=True, cwd=REPO, check=False)
    assert proc.returncode == 2
    assert "no service runs on 2024-01-13" in proc.stderr
    assert "2024-01-01..2024-01-05" in proc.stderr


def test_cache_round_trip_is_identical(tmp_path: Path) -> None:
    day = dt.date.fromisoformat(DAY)
    built, hit = load_timetable(TINY, day, folder=tmp_path)
    assert not hit
    cached, hit = load_timetable(TINY, day, folder=tmp_path)
    assert hit
    fresh = build_timetable(read_feed(TINY), day, feed_sha256=read_feed(TINY).sha256)
    for name, array in fresh.arrays().items():
        assert np.array_equal(array, cached.arrays()[name]), name
        assert not cached.arrays()[name].flags.writeable
    for name in ("stop_ids", "stop_names", "pattern_route_id", "route_names", "trip_ids",
                 "freq_trip_ids", "service_date", "max_speed_mps", "walk", "feed_sha256"):
        assert getattr(cached, name) == getattr(fresh, name), name
    assert built.feed_sha256 == cached.feed_sha256 != ""
