"""The service's uploads, keys and errors, on SQLite and PostgreSQL (``store_url``).

Every error is a 4xx problem+json; raw traces and device ids reach admins only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api_helpers import Keys, TestClient, corridor_csv, make_keys, service

Setup = tuple[TestClient, Keys]

CSV = b"trace_id,time,lat,lon\nbus-1,2024-01-02T05:00:00Z,-1.2864,36.8172\n" + b"".join(
    f"bus-1,2024-01-02T05:00:{s:02d}Z,{-1.2864 + s * 1e-5:.6f},36.8172\n".encode()
    for s in range(1, 40))


def _problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    return body


@pytest.fixture
def setup(store_url: str, tmp_path: Path) -> Iterator[Setup]:
    keys = make_keys(store_url)
    with service(store_url, tmp_path / "data", max_upload_bytes=100_000) as client:
        yield client, keys


def test_01_upload_is_stored_once_by_content(setup: Setup) -> None:
    client, keys = setup
    first = client.post("/uploads", files={"file": ("a.csv", CSV)}, headers=keys.field)
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "stored"
    assert body["n_traces"] == 1
    assert body["n_fixes_accepted"] + body["n_fixes_rejected"] == 40
    assert body["sha256"] == hashlib.sha256(CSV).hexdigest()
    again = client.post("/uploads", files={"file": ("b.csv", CSV)}, headers=keys.admin)
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert again.json()["id"] == body["id"]
    listed = client.get("/uploads", headers=keys.admin).json()
    assert [u["id"] for u in listed] == [body["id"]]
    shown = client.get(f"/uploads/{body['id']}", headers=keys.field).json()
    assert shown["n_fixes_accepted"] == body["n_fixes_accepted"]


def test_02_device_ids_and_raw_bytes_reach_admins_only(setup: Setup) -> None:
    client, keys = setup
    upload_id = client.post("/uploads", files={"file": ("a.csv", CSV)},
                            headers=keys.field).json()["id"]
    for who in (keys.field, keys.planner):
        _problem(client.get(f"/uploads/{upload_id}/traces", headers=who), 403)
        _problem(client.get(f"/uploads/{upload_id}/raw", headers=who), 403)
    _problem(client.get("/uploads", headers=keys.planner), 403)
    summary = client.get(f"/uploads/{upload_id}", headers=keys.field)
    assert "device" not in summary.text
    traces = client.get(f"/uploads/{upload_id}/traces", headers=keys.admin).json()
    assert [t["trace_key"] for t in traces] == ["bus-1"]
    assert "device_id" in traces[0]
    raw = client.get(f"/uploads/{upload_id}/raw", headers=keys.admin)
    assert raw.status_code == 200
    assert raw.content == CSV


def test_03_missing_wrong_or_weak_keys_are_401_and_403(setup: Setup) -> None:
    client, keys = setup
    body = _problem(client.post("/uploads", files={"file": ("a.csv", CSV)}), 401)
    assert "X-API-Key" in body["detail"]
    _problem(client.post("/uploads", files={"file": ("a.csv", CSV)},
                         headers={"X-API-Key": "tk_wrong"}), 401)
    _problem(client.post("/uploads", files={"file": ("a.csv", CSV)}, headers=keys.planner),
             403)
    _problem(client.post("/builds", json={}, headers=keys.field), 403)
    _problem(client.get("/journeys", params={"from": "0,0", "to": "0,0"}), 401)


def test_04_bad_files_and_options_are_4xx_problems(setup: Setup) -> None:
    client, keys = setup
    garbage = _problem(client.post("/uploads", files={"file": ("x.csv", b"\x00\x01garbage")},
                                   headers=keys.field), 422)
    assert garbage["upload_id"] >= 1  # the raw bytes are kept
    _problem(client.post("/uploads", files={"file": ("e.csv", b"")}, headers=keys.field), 422)
    _problem(client.post("/uploads", files={"file": ("a.csv", CSV)},
                         data={"format": "shapefile"}, headers=keys.field), 400)
    for zone in ("Mars/Base", "Africa"):
        _problem(client.post("/uploads", files={"file": ("a.csv", CSV)},
                             data={"timezone": zone}, headers=keys.field), 400)
    big, _ = corridor_csv(2)
    assert 100_000 < len(big) < 1_000_000  # refused by the ingest, after reading
    _problem(client.post("/uploads", files={"file": ("big.csv", big)}, headers=keys.field), 413)
    huge = b"x" * 1_300_000  # refused from Content-Length, before reading
    _problem(client.post("/uploads", files={"file": ("huge.csv", huge)}, headers=keys.field),
             413)
    _problem(client.post("/uploads", headers=keys.field), 422)  # no file part
    _problem(client.get("/uploads/999", headers=keys.field), 404)
    _problem(client.get("/uploads/abc", headers=keys.field), 422)
    _problem(client.get("/nowhere"), 404)
    _problem(client.delete("/uploads/1", headers=keys.admin), 405)
    _problem(client.get("/builds/999", headers=keys.admin), 404)
    _problem(client.get("/feeds/7.zip"), 404)
    _problem(client.get("/feeds/latest.zip"), 404)


def test_05_transitwand_app_form_upload(setup: Setup, fixtures_dir: Path) -> None:
    client, keys = setup
    data = (fixtures_dir / "transitwand" / "upload_two_routes.pb").read_bytes()
    form = {"imei": "356938035643809"}
    files = {"data": ("blob", data, "application/octet-stream")}
    _problem(client.post("/upload", data=form, files=files), 401)
    response = client.post(f"/upload?api_key={keys.field_secret}", data=form, files=files)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["format"] == "transitwand"
    assert body["n_traces"] == 2
    assert "356938035643809" not in response.text
    traces = client.get(f"/uploads/{body['id']}/traces", headers=keys.admin).json()
    assert {t["device_id"] for t in traces} == {"356938035643809"}
    # the app's server address can carry the key: https://HOST/k/KEY/ -> /k/KEY/upload
    keyed = client.post(f"/k/{keys.field_secret}/upload", data=form, files=files)
    assert keyed.status_code == 200  # the same capture again: stored once
    assert keyed.json()["id"] == body["id"]
    _problem(client.post("/k/tk_wrong/upload", data=form, files=files), 401)
    _problem(client.post("/upload", data={"imei": "  "}, files=files, headers=keys.field), 400)
    _problem(client.post("/upload", data=form, files={"data": ("b", b"\xff\xfe not proto")},
                         headers=keys.field), 422)


def test_06_keys_created_listed_and_revoked(setup: Setup) -> None:
    client, keys = setup
    created = client.post("/keys", json={"role": "planner", "name": "city"},
                          headers=keys.admin)
    assert created.status_code == 201
    secret = created.json()["key"]
    listed = client.get("/keys", headers=keys.admin).json()
    assert secret not in str(listed)
    assert created.json()["prefix"] in {k["prefix"] for k in listed}
    assert client.get("/builds", headers={"X-API-Key": secret}).status_code == 200
    assert client.delete(f"/keys/{created.json()['id']}",
                         headers=keys.admin).status_code == 204
    _problem(client.get("/builds", headers={"X-API-Key": secret}), 401)
    _problem(client.post("/keys", json={"role": "boss"}, headers=keys.admin), 422)
    _problem(client.delete("/keys/999", headers=keys.admin), 404)


def test_07_openapi_docs_are_served(setup: Setup) -> None:
    client, _ = setup
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/uploads", "/upload", "/builds", "/builds/{build_id}", "/feeds",
                 "/feeds/latest.zip", "/feeds/{version}.zip", "/journeys"):
        assert path in paths


def test_08_public_queries_need_no_key_when_configured(store_url: str, tmp_path: Path) -> None:
    with service(store_url, tmp_path / "d", public_queries=True, public_feeds=False) as client:
        _problem(client.get("/journeys", params={"from": "0,0", "to": "0,0"}), 404)  # no feed
        _problem(client.get("/feeds"), 401)


