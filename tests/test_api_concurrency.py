"""50 concurrent uploads (10 of them sent twice at once) while a build runs.

Every file is stored exactly once (a file sent twice gets one id), nothing is lost, and
the build reads one consistent snapshot: the fixes it saw are exactly those of the
uploads it lists.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.api_helpers import TZ, corridor_csv, make_keys, service, wait_build

pytestmark = pytest.mark.slow

N_FILES = 50
N_TWICE = 10
N_FIXES = 30


def _small_csv(i: int) -> bytes:
    rows = [f"u{i},2024-01-03T06:{s // 60:02d}:{s % 60:02d}Z,{-1.30 + i * 1e-3 + s * 2e-5:.6f},"
            f"{36.80 + s * 2e-5:.6f}" for s in range(N_FIXES)]
    return ("trace_id,time,lat,lon\n" + "\n".join(rows) + "\n").encode()


def test_50_concurrent_uploads_and_a_build(store_url: str, tmp_path: Path) -> None:
    keys = make_keys(store_url)
    files = [_small_csv(i) for i in range(N_FILES)]
    with service(store_url, tmp_path / "data", timezone=TZ) as client:
        seed, _ = corridor_csv(4)
        assert client.post("/uploads", files={"file": ("seed.csv", seed)},
                           headers=keys.field).status_code == 201
        build_id = client.post("/builds", json={}, headers=keys.admin).json()["id"]

        def send(i: int) -> tuple[int, int, int]:
            r = client.post("/uploads", files={"file": (f"f{i}.csv", files[i % N_FILES])},
                            headers=keys.field)
            return i % N_FILES, r.status_code, r.json().get("id", -1)

        jobs = list(range(N_FILES)) + [N_FILES + i for i in range(N_TWICE)]
        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(send, jobs))
        build = wait_build(client, build_id, keys.admin)
        uploads = client.get("/uploads", headers=keys.admin).json()
        traces = {u["id"]: client.get(f"/uploads/{u['id']}/traces", headers=keys.admin).json()
                  for u in uploads}

    assert sorted({code for _, code, _ in answers}) in ([201], [200, 201])
    ids_for_file: dict[int, set[int]] = {}
    for i, _, upload_id in answers:
        ids_for_file.setdefault(i, set()).add(upload_id)
    assert all(len(ids) == 1 for ids in ids_for_file.values())  # sent twice: one upload
    assert len(uploads) == 1 + N_FILES  # the seed and each file, once
    assert len({u["sha256"] for u in uploads}) == len(uploads)
    by_sha = {u["sha256"]: u for u in uploads}
    for i, data in enumerate(files):
        stored = by_sha[hashlib.sha256(data).hexdigest()]
        assert stored["status"] == "stored"
        assert {stored["id"]} == ids_for_file[i]
        assert stored["n_fixes_accepted"] + stored["n_fixes_rejected"] == N_FIXES
    assert build["status"] == "succeeded", build["error"]
    seen = build["upload_ids"]
    assert 1 in seen
    assert set(seen) <= set(traces)
    assert build["n_fixes"] == sum(t["n_fixes"] for u in seen for t in traces[u])
