"""`transit build` on files (tier 2 synthetic CSV) and on real Abidjan traces (tier 3)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from api.cli import app
from gtfs_out.independent import run_gtfs_guru
from gtfs_out.read import read_feed
from tests.build_synth import l_corridor, ride

T0_MS = 1_704_171_600_000


def _write_csv(path: Path) -> None:
    corridor = l_corridor()
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["trace_id", "time", "lat", "lon", "speed", "route"])
        for d in (0, 1):
            for k in range(3):
                seg, _ = ride(corridor, d, start_ms=T0_MS + k * 420_000 + d * 1_800_000,
                              trace_key=f"{d}-{k}", seed=10 * d + k)
                for t, la, lo, v in zip(seg.time_ms.tolist(), seg.lat.tolist(),
                                        seg.lon.tolist(), seg.speed_mps.tolist(), strict=True):
                    iso = datetime.fromtimestamp(t / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                    w.writerow([seg.trace.trace_key, iso, f"{la:.7f}", f"{lo:.7f}", f"{v:.2f}",
                                "7"])


@pytest.fixture(scope="module")
def traces_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("build") / "rides.csv"
    _write_csv(path)
    return path


def test_01_build_from_a_csv_writes_feed_and_report(traces_csv: Path, tmp_path: Path) -> None:
    out = tmp_path / "feed.zip"
    freq = tmp_path / "freq.csv"
    freq.write_text("route,band,headway_s\n7,midday,480\n")
    res = CliRunner().invoke(app, ["build", "--traces", str(traces_csv), "--out", str(out),
                                   "--timezone", "Africa/Nairobi", "--agency-name", "Matatu SACCO",
                                   "--frequencies", str(freq)])
    assert res.exit_code == 0, res.output
    assert "Built 20 stops, 1 routes, 2 patterns" in res.output
    report = json.loads((tmp_path / "feed.report.json").read_text())
    assert report["summary"]["traces"] == 6
    tables = read_feed(out)
    assert tables["agency"]["agency_name"].tolist() == ["Matatu SACCO"]
    assert tables["routes"]["route_short_name"].tolist() == ["7"]
    assert "480" in set(tables["frequencies"]["headway_secs"])
    assert [f for f in run_gtfs_guru(out) if f.severity == "error"] == []


def test_02_unknown_route_in_frequencies_is_one_line_and_exit_2(traces_csv: Path,
                                                                 tmp_path: Path) -> None:
    freq = tmp_path / "freq.csv"
    freq.write_text("route,band,headway_s\n46X,midday,480\n")
    res = CliRunner().invoke(app, ["build", "--traces", str(traces_csv), "--out",
                                   str(tmp_path / "f.zip"), "--frequencies", str(freq)])
    assert res.exit_code != 0
    assert "46X" in str(res.exception) or "46X" in res.output
    assert not (tmp_path / "f.zip").exists()  # nothing half-written


def test_03_unwritable_output_fails_before_building(traces_csv: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["build", "--traces", str(traces_csv), "--out",
                                   str(tmp_path / "missing" / "f.zip")])
    assert res.exit_code != 0
    assert "folder does not exist" in str(res.exception)


@pytest.mark.shared
def test_04_real_abidjan_sample_with_field_stop_names(shared_data: Path, tmp_path: Path) -> None:
    from bench.build.abidjan import load_segments
    from gtfs_out.write import write_feed
    from transit.build import BuildOptions, build_network

    folder = shared_data / "abidjan-gps-traces"
    segs = load_segments(folder, sample=True, with_field_stops=True)
    res = build_network(segs, BuildOptions(timezone="Africa/Abidjan"))
    names = {s.stop_name for s in res.network.stops if s.name_source == "field"}
    assert "Mairie Port Bouet" in names  # a waypoint name of trace 83
    # every Arrêt waypoint of the 4 traces is within 30 m of a built stop
    from bench.build.abidjan import arret_waypoints
    from transit.geo import haversine_m

    lat, lon = arret_waypoints(folder, sample=True)
    slat = np.array([s.stop_lat for s in res.network.stops])
    slon = np.array([s.stop_lon for s in res.network.stops])
    d = haversine_m(lat[:, None], lon[:, None], slat[None, :], slon[None, :]).min(axis=1)
    assert np.mean(d <= 30.0) >= 0.95
    path = write_feed(res.network, tmp_path / "abidjan.zip")
    assert [f for f in run_gtfs_guru(path) if f.severity == "error"] == []


def test_05_build_from_the_store(traces_csv: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'store.sqlite'}"
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", str(traces_csv), "--db", db])
    assert res.exit_code == 0, res.output
    out = tmp_path / "from-store.zip"
    res = runner.invoke(app, ["build", "--db", db, "--out", str(out),
                              "--timezone", "Africa/Nairobi"])
    assert res.exit_code == 0, res.output
    assert "Built 20 stops, 1 routes, 2 patterns from 6 traces" in res.output
    assert read_feed(out)["routes"]["route_short_name"].tolist() == ["7"]


def test_06_db_and_traces_together_are_refused(traces_csv: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["build", "--db", "sqlite:///x.sqlite", "--traces",
                                   str(traces_csv), "--out", str(tmp_path / "f.zip")])
    assert res.exit_code != 0
    assert "not both" in str(res.exception)
