"""`transit access` end to end on the synthetic feed, and every kind of bad input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer
from shapely.geometry import mapping
from typer.testing import CliRunner

from api.access_io import read_districts, read_opportunities
from api.access_pipeline import AccessRequest, run_access
from api.cli import app
from tests import access_synth as synth
from transit.access import AccessSpec
from transit.errors import FormatError, InputError

SPEC = AccessSpec(depart_s=7 * 3600, window_s=10 * 60, draws=2, thresholds_s=(600, 1800))


def _write_inputs(root: Path, *, crs: str | None = None, bowtie: bool = False,
                  zero_pop: bool = False) -> dict[str, Path]:
    feed = root / "feed"
    feed.mkdir(parents=True, exist_ok=True)
    for name, text in synth.feed_text().items():
        (feed / f"{name}.txt").write_text(text + "\n")
    features = []
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True) if crs else None
    for name, geom, pop in zip(synth.NAMES, synth.DISTRICTS, synth.POPULATION, strict=True):
        g = mapping(geom)
        coords = [list(p) for p in g["coordinates"][0]]
        if to_crs is not None:
            coords = [list(to_crs.transform(x, y)) for x, y in coords]
        if bowtie and name == "North":   # self-intersecting ring: invalid, repairable
            (x0, y0), (x1, y1) = coords[0], coords[2]
            coords = [[x0, y0], [x1, y1], [x1, y0], [x0, y1], [x0, y0]]
        props = {"ward": name, "pop": 0 if (zero_pop and name == "North") else float(pop)}
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Polygon", "coordinates": [coords]}})
    collection = {"type": "FeatureCollection", "features": features}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    districts = root / "wards.geojson"
    districts.write_text(json.dumps(collection))
    clinics = root / "clinics.csv"
    with clinics.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["name", "kind", "lat", "lon"])
        for i, (la, lo) in enumerate(zip(synth.CLINIC_LAT, synth.CLINIC_LON, strict=True)):
            w.writerow([f"c{i}", "CLINIC", la, lo])
        w.writerow(["h0", "HOSPITAL", synth.HOSPITAL_LAT[0], synth.HOSPITAL_LON[0]])
        w.writerow(["far", "CLINIC", 1.0, 1.0])          # outside every district
        w.writerow(["nowhere", "CLINIC", "", ""])        # no coordinates
    return {"feed": feed, "districts": districts, "clinics": clinics}


def _args(paths: dict[str, Path], out: Path, *extra: str) -> list[str]:
    return ["access", str(paths["feed"]), "--districts", str(paths["districts"]),
            "--population-field", "pop", "--name-field", "ward",
            "--opportunities", str(paths["clinics"]), "--select", "hospital=kind:hospital",
            "--depart", "07:00", "--window", "10", "--draws", "2", "--minutes", "10,30",
            "--spacing", "400", "--workers", "1", "--out", str(out), *extra]


@pytest.mark.slow
def test_cli_writes_the_full_report_deterministically(tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path, bowtie=True)
    outs = [tmp_path / "out1", tmp_path / "out2"]
    for out, extra in zip(outs, ([], ["--workers", "2"]), strict=True):
        res = CliRunner().invoke(app, _args(paths, out, *extra))
        assert res.exit_code == 0, res.output
    names = {p.name for p in outs[0].iterdir()}
    assert {"districts.csv", "districts.geojson", "equity.json", "report.md",
            "map_nearest_hospital_min.png", "map_opportunities_clinics_30min.png"} <= names
    for name in ("districts.csv", "districts.geojson", "equity.json", "report.md"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    with (outs[0] / "districts.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["name"] for r in rows] == list(synth.NAMES)
    for col in ("population", "opportunities_clinics_30min", "share_reaching_hospital_10min",
                "nearest_hospital_min", "walk_opportunities_clinics_30min",
                "walk_nearest_hospital_min", "gain_nearest_hospital_min"):
        assert col in rows[0]
    assert float(rows[1]["population"]) == pytest.approx(3000)
    equity = json.loads((outs[0] / "equity.json").read_text())
    assert equity["parameters"]["hospital_category"] == "hospital"
    assert equity["population_beyond_60min"]["hospital"]["transit"] >= 0
    notes = " ".join(equity["notes"])
    assert "repaired invalid polygon of 'North'" in notes
    # the two mid-line clinics fall between the districts, and the far one
    assert "3 of 6 clinics lie outside every district" in notes
    assert "1 rows without usable coordinates" in notes
    assert "no stop within walking distance (transit equals walking there): North" in notes
    report = (outs[0] / "report.md").read_text()
    assert "Most underserved districts" in report
    assert "![map_nearest_hospital_min](map_nearest_hospital_min.png)" in report


def test_projected_districts_give_the_same_measures(tmp_path: Path) -> None:
    plain = _write_inputs(tmp_path / "a")
    projected = _write_inputs(tmp_path / "b", crs="EPSG:32631")
    a = read_districts(plain["districts"], "pop", "ward")
    b = read_districts(projected["districts"], "pop", "ward")
    for ga, gb in zip(a.geometries, b.geometries, strict=True):
        assert ga.symmetric_difference(gb).area < 1e-12
    results = [run_access(AccessRequest(feed=p["feed"], districts=p["districts"],
                                        population_field="pop", opportunities=(p["clinics"],),
                                        spec=SPEC, name_field="ward", workers=1))
               for p in (plain, projected)]
    np.testing.assert_array_equal(results[0].origins.population.round(6),
                                  results[1].origins.population.round(6))
    np.testing.assert_array_equal(results[0].measures.nearest_s, results[1].measures.nearest_s)


def _request(paths: dict[str, Path], **kw) -> AccessRequest:
    return AccessRequest(**{"feed": paths["feed"], "districts": paths["districts"],
                            "population_field": "pop", "opportunities": (paths["clinics"],),
                            "spec": SPEC, "name_field": "ward", "workers": 1, **kw})


def test_missing_population_field_names_the_fields(tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path)
    with pytest.raises(InputError, match=r"no population field 'pop2009'; the fields are: "
                                         r"pop, ward"):
        read_districts(paths["districts"], "pop2009")


@pytest.mark.slow
def test_cli_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path)
    args = _args(paths, tmp_path / "out")
    args[args.index("pop")] = "people"
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", *args],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "no population field 'people'" in done.stderr
    assert "Traceback" not in done.stderr


def test_zero_population_is_reported_not_silent(tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path, zero_pop=True)
    result = run_access(_request(paths))
    assert any("'North' has zero population" in n for n in result.notes)
    north = result.district_measures.names.index("North")
    assert result.district_measures.zero_population[north]
    assert np.isfinite(result.district_measures.nearest_min[north]).all()


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    paths = _write_inputs(tmp_path)
    empty = tmp_path / "empty.csv"
    empty.write_text("name,lat,lon\n")
    with pytest.raises(InputError, match="no opportunity with usable coordinates"):
        read_opportunities([empty])
    with pytest.raises(InputError, match="matches no opportunity"):
        read_opportunities([paths["clinics"]], selects=["hospital=kind:CLINICA"])
    with pytest.raises(InputError, match="NAME=FIELD"):
        read_opportunities([paths["clinics"]], selects=["hospital"])
    far = tmp_path / "far.geojson"
    far.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"pop": 5},
        "geometry": {"type": "Polygon", "coordinates": [[[10, 10], [10.01, 10], [10.01, 10.01],
                                                         [10, 10]]]}}]}))
    with pytest.raises(InputError, match="no district overlaps the feed's area"):
        run_access(_request(paths, districts=far, name_field=None))
    with pytest.raises(InputError, match="no vehicle departs after 23:00:00"):
        run_access(_request(paths, spec=AccessSpec(depart_s=23 * 3600, window_s=600)))
    projected = tmp_path / "projected.geojson"
    projected.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"pop": 5},
        "geometry": {"type": "Polygon", "coordinates": [[[500000, 0], [501000, 0],
                                                         [501000, 1000], [500000, 0]]]}}]}))
    with pytest.raises(FormatError, match="not degrees"):
        read_districts(projected, "pop")


@pytest.mark.parametrize(("flag", "value", "match"), [
    ("--minutes", "0,30", "positive"),
    ("--minutes", "abc", "cannot read minutes"),
    ("--minutes", "30,3000", "at most 2,880 minutes"),
    ("--window", "2000", "window"),
    ("--backend", "mpi", "unknown backend"),
])
def test_bad_options(tmp_path: Path, flag: str, value: str, match: str) -> None:
    paths = _write_inputs(tmp_path)
    args = _args(paths, tmp_path / "out")
    if flag in args:
        args[args.index(flag) + 1] = value
    else:
        args += [flag, value]
    res = CliRunner().invoke(app, args)
    assert isinstance(res.exception, InputError)
    assert match in str(res.exception)
