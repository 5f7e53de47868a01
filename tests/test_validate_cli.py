"""`transit validate`, `transit simulate`, `transit evaluate` through typer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from api import cli_feed
from gtfs_out.write import write_feed
from tests.small_network import small_network
from transit.errors import FeedError, InputError

runner = CliRunner()


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    """An app with only this area's commands (the other areas are tested elsewhere)."""
    application = typer.Typer(pretty_exceptions_enable=False)
    cli_feed.register(application)
    return application


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    return write_feed(small_network(), tmp_path / "feed.zip")


def test_clean_feed_exits_zero(app: typer.Typer, feed: Path) -> None:
    result = runner.invoke(app, ["validate", str(feed), "--independent"])
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output


def test_errors_exit_one_and_json_lists_them(app: typer.Typer, tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "agency.txt").write_text("agency_name,agency_url,agency_timezone\n"
                                       "A,https://example.org,Africa/Nairobi\n")
    (folder / "stops.txt").write_text("stop_id,stop_name,stop_lat,stop_lon\nS,Stop,0,0\n")
    (folder / "routes.txt").write_text("route_id,route_short_name,route_type\nr,1,3\n")
    (folder / "trips.txt").write_text("route_id,service_id,trip_id\nr,x,t\n")
    (folder / "stop_times.txt").write_text(
        "trip_id,arrival_time,departure_time,stop_id,stop_sequence\nt,07:00:00,07:00:00,S,1\n")
    result = runner.invoke(app, ["validate", str(folder), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    codes = {f["code"] for f in doc["findings"]}
    assert {"point_near_origin", "missing_required_file", "foreign_key_violation"} <= codes
    assert doc["counts"]["error"] >= 3


def test_unusable_feed_raises_feed_error(app: typer.Typer, tmp_path: Path) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"no zip here")
    result = runner.invoke(app, ["validate", str(junk)])
    assert isinstance(result.exception, FeedError)
    assert result.exception.exit_code == 2


def test_bad_tool_and_date_are_input_errors(app: typer.Typer, feed: Path,
                                            tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(feed), "--independent", "--tool", "nope"])
    assert isinstance(result.exception, InputError)
    result = runner.invoke(app, ["simulate", str(feed), "--out", str(tmp_path / "o"),
                                 "--date", "5 Nov"])
    assert isinstance(result.exception, InputError)
    result = runner.invoke(app, ["simulate", str(feed), "--out", str(tmp_path / "o"),
                                 "--sampling-s", "15,1"])
    assert isinstance(result.exception, InputError)
    assert "--sampling-s" in str(result.exception)


def test_simulate_then_evaluate_truth_against_itself(app: typer.Typer, feed: Path,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "sim"
    result = runner.invoke(app, ["simulate", str(feed), "--out", str(out), "--rides", "2",
                                 "--seed", "3", "--date", "2026-03-03", "--sampling-s", "5,5"])
    assert result.exit_code == 0, result.output
    assert "simulated 4 traces" in result.output
    header = (out / "traces.csv").read_text().splitlines()[0]
    assert header == "trace_id,device_id,time_utc,lat,lon,speed_mps,accuracy_m,route"
    assert (out / "traces.csv").read_text().splitlines()[1].split(",")[2].startswith(
        "2026-03-03T0")  # Nairobi is UTC+3: 07:00-16:00 local is 04:00-13:00 UTC
    times = [line.split(",")[2] for line in (out / "traces.csv").read_text().splitlines()[1:4]]
    steps = np.diff([np.datetime64(t.rstrip("Z")).astype("datetime64[ms]").astype(float)
                     for t in times])
    assert np.all((steps >= 4750) & (steps <= 5250))  # 5 s sampling, +-5 % jitter
    truth = json.loads((out / "truth.json").read_text())
    assert truth["n_traces"] == 4
    assert {p["pattern_id"] for p in truth["patterns"]} == {"p33_0", "p33_1"}
    assert all(p["timings"] for p in truth["patterns"])
    result = runner.invoke(app, ["evaluate", str(out / "truth.zip"), str(out), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["stops"]["f1"] == 1.0
    assert doc["patterns"]["recovery"] == 1.0
    result = runner.invoke(app, ["evaluate", str(feed), str(out)])
    assert "patterns recovered" in result.output
