"""Disk cache of built timetables, keyed by the feed's content hash.

Building a timetable parses every GTFS table; loading one back is a handful of
``numpy.load`` calls. The key is the feed's sha256 (of the zip bytes, or of a folder's
``*.txt`` files), the service date, the frequency mode, the walking rules and a format
version, so a changed feed or setting never reads a stale file. Files are written to a
temporary name and renamed, so readers never see half a file.

The cache folder is ``$TRANSIT_CACHE_DIR`` when set, else ``.transit-cache`` in the
current folder.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from gtfs_out.read import feed_sha256, read_feed
from transit.errors import FeedError
from transit.timetable import FrequencyMode, Timetable, build_timetable
from transit.walk import WalkParams

__all__ = ["CACHE_VERSION", "cache_dir", "cache_path", "load_timetable", "read_timetable",
           "write_timetable"]

#: Bump when the Timetable layout changes; old files are then ignored.
CACHE_VERSION = 3


def cache_dir() -> Path:
    """The cache folder: ``$TRANSIT_CACHE_DIR`` or ``./.transit-cache``."""
    return Path(os.environ.get("TRANSIT_CACHE_DIR", ".transit-cache"))


def cache_path(folder: Path, sha256: str, service_date: dt.date, walk: WalkParams,
               frequencies: FrequencyMode) -> Path:
    """The file that holds (or will hold) one timetable."""
    name = (f"tt-v{CACHE_VERSION}-{sha256[:24]}-{service_date:%Y%m%d}-{frequencies}-"
            f"{walk.key()}.npz")
    return folder / name


def write_timetable(tt: Timetable, path: Path) -> None:
    """Write ``tt`` as one ``.npz`` (arrays plus a JSON text of the boundary maps)."""
    meta = {
        "stop_ids": list(tt.stop_ids), "stop_names": list(tt.stop_names),
        "pattern_route_id": list(tt.pattern_route_id), "route_names": tt.route_names,
        "trip_ids": list(tt.trip_ids), "freq_trip_ids": list(tt.freq_trip_ids),
        "service_date": tt.service_date.isoformat(), "max_speed_mps": tt.max_speed_mps,
        "walk": [tt.walk.detour_factor, tt.walk.speed_mps, tt.walk.max_access_m,
                 tt.walk.max_transfer_m],
        "frequencies": tt.frequencies, "feed_sha256": tt.feed_sha256,
        "dropped_trips": [list(x) for x in tt.dropped_trips],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.stem, suffix=".tmp", dir=path.parent)
    try:
        payload: dict[str, Any] = {"_meta": np.asarray(json.dumps(meta)), **tt.arrays()}
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **payload)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_timetable(path: Path) -> Timetable:
    """Read a timetable written by :func:`write_timetable`.

    Raises
    ------
    FeedError
        When the file is not a readable timetable cache.
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["_meta"]))
            arrays = {name: data[name] for name in data.files if name != "_meta"}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise FeedError(f"unreadable timetable cache ({exc})", where=str(path),
                        fix="delete the file; it is rebuilt on the next run") from None
    return Timetable(
        **arrays,
        stop_ids=tuple(meta["stop_ids"]), stop_names=tuple(meta["stop_names"]),
        pattern_route_id=tuple(meta["pattern_route_id"]), route_names=meta["route_names"],
        trip_ids=tuple(meta["trip_ids"]), freq_trip_ids=tuple(meta["freq_trip_ids"]),
        service_date=dt.date.fromisoformat(meta["service_date"]),
        max_speed_mps=float(meta["max_speed_mps"]), walk=WalkParams(*meta["walk"]),
        frequencies=meta["frequencies"], feed_sha256=meta["feed_sha256"],
        dropped_trips=tuple((a, b) for a, b in meta["dropped_trips"]))


def load_timetable(feed_path: str | Path, service_date: dt.date, *,
                   walk: WalkParams | None = None, frequencies: FrequencyMode = "sample",
                   folder: Path | None = None, use_cache: bool = True
                   ) -> tuple[Timetable, bool]:
    """The timetable of a feed on a service day, from the cache when possible.

    Returns
    -------
    (timetable, from_cache)
        ``from_cache`` is True when the timetable was read from the cache.

    Raises
    ------
    FeedError
        When the feed cannot be read.
    InputError
        When no service runs on ``service_date``.
    """
    walk = walk or WalkParams()
    sha = feed_sha256(feed_path) if Path(feed_path).exists() else ""
    path = cache_path(folder or cache_dir(), sha, service_date, walk, frequencies)
    if use_cache and sha and path.is_file():
        try:
            return read_timetable(path), True
        except FeedError:
            path.unlink(missing_ok=True)
    feed = read_feed(feed_path)
    tt = build_timetable(feed, service_date, walk=walk, frequencies=frequencies,
                         feed_sha256=feed.sha256)
    if use_cache:
        # A read-only folder only costs the next run a rebuild.
        with contextlib.suppress(OSError):
            write_timetable(tt, path)
    return tt, False
