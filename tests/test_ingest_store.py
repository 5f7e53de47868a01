"""Ingest into the store, on SQLite and PostgreSQL: raw bytes kept, idempotent by content,
atomic per file, and traces come back out exactly as they went in."""

from __future__ import annotations

import io
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select

from api.ingest import ingest_file, ingest_stream
from api.store import uploads as repo
from api.store.db import open_store
from api.store.fixblocks import decode_block, encode_block
from api.store.schema import fix_blocks, traces
from gps_ingest.pipeline import ReadOptions

#: 300 fixes a second apart, driving north at 11 m/s, then one row without a latitude.
CSV = (b"trace_id,time_utc,lat,lon,speed_mps\n"
       + b"".join(b"t1,2019-11-05T16:%02d:%02dZ,%.6f,-3.96,11.0\n"
                  % (31 + i // 60, i % 60, 5.26 + i * 1e-4) for i in range(300))
       + b"t1,2019-11-05T16:40:00Z,,-3.96,8.0\n")


def ingest_bytes(engine, data: bytes, name: str = "t.csv", **kw):
    return ingest_stream(engine, io.BytesIO(data), filename=name, **kw)


def counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        n_traces = conn.execute(select(func.count()).select_from(traces)).scalar_one()
        n_blocks = conn.execute(select(func.count()).select_from(fix_blocks)).scalar_one()
    return n_traces, n_blocks


def test_fix_block_round_trip() -> None:
    cols = {"time_ms": np.array([5, 7, 7, 100], np.int64), "lat": np.array([1.5, 2, 3, 4.25]),
            "lon": np.array([-1.0, 0, 1, 2]), "accuracy_m": np.array([np.nan, 1, 2, 3]),
            "speed_mps": np.zeros(4), "altitude_m": np.ones(4),
            "reason": np.array([0, 14, 0, 100], np.int16), "segment": np.array([0, -1, 0, 1])}
    back = decode_block(encode_block(cols))
    for name, values in cols.items():
        np.testing.assert_array_equal(back[name], np.asarray(values, back[name].dtype))


def test_store_and_load_back(store_url: str) -> None:
    engine = open_store(store_url)
    result = ingest_bytes(engine, CSV, uploaded_by="team-a")
    assert result.status == "stored"
    assert (result.n_traces, result.n_accepted, result.n_rejected) == (1, 300, 1)
    assert result.reason_counts == {"missing_value": 1}
    with engine.connect() as conn:
        record = repo.get_upload(conn, result.upload_id)
        assert record.uploaded_by == "team-a"
        assert record.format == "csv"
        assert b"".join(repo.iter_raw_bytes(conn, result.upload_id)) == CSV
        ts = repo.load_traceset(conn)
        assert repo.rejection_rows(conn, result.upload_id) == [
            ("line 302", "missing_value", "latitude is empty or NaN")]
    assert [t.trace_key for t in ts.traces] == ["t1"]
    assert len(ts.fixes) == 300
    assert ts.fixes.time_ms[0] == 1572971460000
    assert ts.fixes.lat[299] == pytest.approx(5.2899)
    assert [len(s) for s in ts.iter_segments()] == [300]
    engine.dispose()


def test_same_bytes_twice_is_idempotent(store_url: str) -> None:
    engine = open_store(store_url)
    first = ingest_bytes(engine, CSV)
    before = counts(engine)
    again = ingest_bytes(engine, CSV, name="renamed.csv")
    assert again.status == "duplicate"
    assert again.upload_id == first.upload_id
    assert again.n_accepted == first.n_accepted
    assert counts(engine) == before
    engine.dispose()


def test_unusable_file_is_rejected_but_its_bytes_are_kept(store_url: str) -> None:
    engine = open_store(store_url)
    garbage = bytes(range(256)) * 10
    result = ingest_bytes(engine, garbage, name="garbage.bin")
    assert result.status == "rejected"
    assert "garbage.bin" in result.error
    with engine.connect() as conn:
        assert b"".join(repo.iter_raw_bytes(conn, result.upload_id)) == garbage
        assert repo.get_upload(conn, result.upload_id).status == "rejected"
    assert counts(engine) == (0, 0)
    engine.dispose()


def test_a_file_failing_half_way_leaves_nothing_half_written(store_url: str) -> None:
    engine = open_store(store_url)
    ingest_bytes(engine, CSV)
    before = counts(engine)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a_good.csv", CSV.replace(b"t1,", b"t2,"))
        zf.writestr("b_bad.csv", b"no,usable,columns\n1,2,3\n")
    result = ingest_bytes(engine, buf.getvalue(), name="mixed.zip")
    assert result.status == "rejected"
    assert "b_bad.csv" in result.error
    assert counts(engine) == before  # a_good.csv's trace was rolled back too
    engine.dispose()


def test_rejected_bytes_can_be_read_again_with_other_options(store_url: str) -> None:
    engine = open_store(store_url)
    data = CSV.replace(b"Z,", b",")  # zoneless: local time
    wrong = ingest_bytes(engine, data, options=ReadOptions(format="gpx"))
    assert wrong.status == "rejected"
    right = ingest_bytes(engine, data, options=ReadOptions(timezone="Africa/Nairobi"))
    assert right.status == "stored"
    assert right.upload_id == wrong.upload_id
    with engine.connect() as conn:
        ts = repo.load_traceset(conn)
    assert ts.fixes.time_ms[0] == 1572971460000 - 3 * 3600_000
    engine.dispose()


def test_waypoints_and_metadata_files_annotate_traces_by_key(store_url: str) -> None:
    engine = open_store(store_url)
    ingest_bytes(engine, CSV)
    ingest_bytes(engine, b"trace_id,time_utc,lat,lon,name\n"
                         b"t1,2019-11-05T16:31:10Z,5.261,-3.96,Gare Sud\n", name="wpt.csv")
    ingest_bytes(engine, b"trace_id,line,direction,mode_guess\nt1,18,B,sotra_bus\n",
                 name="traces.csv")
    with engine.connect() as conn:
        ts = repo.load_traceset(conn)
        listed = repo.list_traces(conn)
    assert len(ts.traces) == 1
    meta = ts.traces[0]
    assert (meta.route_name, meta.direction, meta.vehicle_type) == ("18", "B", "sotra_bus")
    assert [s.name for s in ts.field_stops] == ["Gare Sud"]
    assert [s.field_stops[0].name for s in ts.iter_segments()] == ["Gare Sud"]
    assert {t.trace_key for t in listed} == {"t1"}
    engine.dispose()


def test_concurrent_uploads_of_the_same_bytes_store_once(store_url: str) -> None:
    engine = open_store(store_url)
    results = []

    def run() -> None:
        results.append(ingest_bytes(engine, CSV))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(r.status for r in results) == ["duplicate"] * 3 + ["stored"]
    assert len({r.upload_id for r in results}) == 1
    assert counts(engine)[0] == 1
    engine.dispose()


def test_abidjan_sample_ingests_whole(shared_data: Path, tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 's.sqlite'}")
    folder = shared_data / "abidjan-gps-traces"
    points = ingest_file(engine, folder / "sample_trackpoints.csv")
    stops = ingest_file(engine, folder / "sample_waypoints.csv")
    assert points.status == stops.status == "stored"
    assert points.n_traces == 4
    assert points.n_accepted + points.n_rejected == 9109
    with engine.connect() as conn:
        ts = repo.load_traceset(conn)
    assert len(ts.fixes) == 9109
    assert len(ts.field_stops) == stops.n_field_stops
    engine.dispose()


def test_bad_values_are_counted_by_reason_not_stored_silently(store_url: str) -> None:
    rows = CSV.splitlines()
    rows[5] = b"t1,2999-01-01T00:00:00Z,5.2604,-3.96,11.0"  # the year 2999
    rows[6] = b"t1,2019-11-05T16:31:05Z,91.0,-3.96,11.0"  # latitude over 90
    rows[7] = b"t1,2019-11-05T16:31:06Z,NaN,-3.96,11.0"
    rows[8] = b"t1,2019-11-05T16:31:07Z,,-3.96,11.0"
    engine = open_store(store_url)
    result = ingest_bytes(engine, b"\n".join(rows) + b"\n")
    assert result.status == "stored"
    assert result.reason_counts == {"missing_value": 3, "out_of_range": 1,
                                    "time_implausible": 1}
    assert result.n_accepted == 296
    engine.dispose()
