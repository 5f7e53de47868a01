"""Helpers of the service tests: keys in a fresh store, an app on it, synthetic traces.

The synthetic traces are the builder tests' corridor rides (:mod:`tests.build_synth`):
a vehicle along an L-shaped road with stops every 400 m, dwelling at each, sampled every
second, written as the CSV a phone export would give.
"""

from __future__ import annotations

import io
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from api.app import create_app
from api.settings import Settings
from api.store.db import open_store
from api.store.keys import create_key
from tests.build_synth import l_corridor, ride

with warnings.catch_warnings():  # starlette's TestClient asks for httpx2 on import
    warnings.filterwarnings("ignore", message=".*httpx2")
    from fastapi.testclient import TestClient

__all__ = ["Keys", "TestClient", "corridor_csv", "make_keys", "service", "wait_build"]

T0_MS = 1_704_171_600_000  # 2024-01-02 05:00 UTC = 08:00 in Nairobi (am_peak)
TZ = "Africa/Nairobi"


@dataclass(frozen=True)
class Keys:
    """One key per role, as headers."""

    admin: dict[str, str]
    planner: dict[str, str]
    field: dict[str, str]
    field_secret: str


def make_keys(url: str) -> Keys:
    """Create one key per role in the store at ``url`` (migrating it)."""
    engine = open_store(url)
    try:
        with engine.begin() as conn:
            secrets = {role: create_key(conn, role)[1] for role in ("admin", "planner", "field")}
    finally:
        engine.dispose()
    return Keys(*({"X-API-Key": secrets[r]} for r in ("admin", "planner", "field")),
                field_secret=secrets["field"])


@contextmanager
def service(url: str, data_dir: Path, **settings: Any) -> Iterator[TestClient]:
    """A started app on the store at ``url``."""
    app = create_app(Settings(database_url=url, data_dir=data_dir, **settings))
    with TestClient(app) as client:
        yield client


def corridor_csv(n_rides: int = 4, *, prefix: str = "", start_ms: int = T0_MS,
                 seed: int = 0) -> tuple[bytes, int]:
    """Rides both ways along the corridor as CSV bytes, and the number of fixes.

    Ride ``k`` of each direction is recorded by phone ``phone-<prefix><k>`` (the CSV's
    ``device`` column).
    """
    corridor = l_corridor()
    out = io.StringIO()
    out.write("trace_id,time,lat,lon,route,device\n")
    n = 0
    for d in (0, 1):
        for k in range(n_rides):
            seg, _ = ride(corridor, d, start_ms=start_ms + k * 420_000 + d * 1_800_000,
                          trace_key=f"{prefix}{d}-{k}", seed=seed + 100 * d + k,
                          skip=frozenset({k + 2}))
            stamps = np.datetime_as_string(seg.time_ms.astype("datetime64[ms]"), unit="ms")
            for t, la, lo in zip(stamps, seg.lat, seg.lon, strict=True):
                out.write(f"{prefix}{d}-{k},{t}Z,{la:.6f},{lo:.6f},7,phone-{prefix}{k}\n")
            n += len(seg.time_ms)
    return out.getvalue().encode(), n


def wait_build(client: TestClient, build_id: int, headers: dict[str, str],
               timeout_s: float = 120.0) -> dict[str, Any]:
    """Poll ``GET /builds/{id}`` until the build ends; return its last state."""
    deadline = time.monotonic() + timeout_s
    while True:
        body: dict[str, Any] = client.get(f"/builds/{build_id}", headers=headers).json()
        if body["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.2)
