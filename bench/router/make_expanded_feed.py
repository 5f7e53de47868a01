"""Expand a frequency-based GTFS feed into explicit trips; write a walking .osm.pbf for ferrobus.

The peers cannot read ``frequencies.txt`` (ferrobus ignores it, pyraptor has no notion of it),
so every router benchmark runs on the same *expanded* feed: each frequencies.txt window
becomes trips departing at ``start_time + n * headway_secs`` (gtfs-kit ``expand_frequencies``,
the same departures as an ``exact_times=1`` reading; our router's Monte Carlo offsets are a
separate, ours-only figure). Times are written zero-padded (``06:00:20``).

ferrobus walks on an OpenStreetMap street graph, so it gets an ``.osm.pbf`` whose walking is
*ours*: one straight ``highway=footway`` between every pair of stops up to
``max(max_access_m, max_transfer_m)`` apart, bent through one middle node so that ferrobus's
walk time equals ours to the second. ferrobus (0.2.1, via osm4routing) computes an edge's walk
time as ``floor(length_m / 1.4)`` with ``length_m`` the haversine length of the way's geometry
on a 6,378,100 m sphere (``WALKING_SPEED`` in ferrobus-core/src/lib.rs, ``distance`` in
osm4routing models.rs). Ours is ``distance_m * detour_factor / walk_speed_mps`` with
``distance_m`` the haversine distance on the mean Earth radius (defaults 1.3 and 1.2 m/s), so
each footway gets the length ``1.4 * (rint(our_walk_s) + 0.5)`` and ferrobus floors it to
``rint(our_walk_s)``, as ``transit.walk.walk_s_for_m`` rounds. ferrobus's street Dijkstra
(cutoff ``rint(walk_s(max_transfer_m))`` for transfers, ``rint(walk_s(max_access_m))`` for
access, egress and walk-only journeys) then finds the direct footway, except where a chain
of footways through nearly collinear stops is 1 s shorter by the per-edge rounding (ours
never chains walks): ``peers.check_ferrobus_walking`` measured 566 of 598 stop pairs equal,
31 off by 1 s, 1 by 2 s.

osm4routing keeps only the largest connected component of the street graph, and a stop with
no neighbour within reach would be snapped to some far-away node. Every component is
therefore tied to one hub node ~111 km away by a way whose walk time (~22 h) is far beyond
any cutoff: it only keeps the graph connected.

Usage::

    .venv/bin/python -m bench.router.make_expanded_feed            # Nairobi, cached
    .venv/bin/python -m bench.router.make_expanded_feed --feed other.zip --date 2020-03-03

From Python::

    from bench.router.make_expanded_feed import ensure_expanded_feed, WalkRules
    feed = ensure_expanded_feed()      # ExpandedFeed(zip_path=..., dir_path=..., osm_pbf=...)
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import io
import json
import shutil
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.common import CACHE_DIR, EARTH_RADIUS_M, SHARED_DATA, ensure_peer_venvs, haversine_m

NAIROBI_FEED = SHARED_DATA / "nairobi-gtfs" / "gtfs.zip"
#: A Tuesday inside the Nairobi feed's calendar (DAILY, 2019-01-01..2020-12-31), no exception.
NAIROBI_SERVICE_DATE = dt.date(2019, 11, 5)

#: ferrobus-core ``WALKING_SPEED`` (m/s) and osm4routing's haversine radius (m).
FERROBUS_WALK_SPEED_MPS = 1.4
FERROBUS_EARTH_RADIUS_M = 6_378_100.0

WORKER = Path(__file__).resolve().parent / "_ferrobus_worker.py"

#: GTFS tables copied to the expanded feed (frequencies.txt is dropped: it is expanded).
_TABLES = ("agency", "stops", "routes", "trips", "stop_times", "calendar", "calendar_dates",
           "shapes", "feed_info", "transfers", "fare_attributes", "fare_rules")


@dataclass(frozen=True)
class WalkRules:
    """Walking as our router models it: straight line x detour factor at a walking speed.

    Attributes
    ----------
    detour_factor
        Street distance / straight-line distance (dimensionless).
    walk_speed_mps
        Walking speed, metres per second.
    max_access_m
        Longest straight-line walk from an origin point to a stop or from a stop to a
        destination point, metres.
    max_transfer_m
        Longest straight-line walk between two stops when changing vehicles, metres.
    earth_radius_m
        Sphere radius for the haversine straight-line distance, metres.
    """

    detour_factor: float = 1.3
    walk_speed_mps: float = 1.2
    max_access_m: float = 1000.0
    max_transfer_m: float = 500.0
    earth_radius_m: float = EARTH_RADIUS_M

    def walk_s(self, distance_m: np.ndarray | float) -> np.ndarray:
        """Walk duration in seconds (float) for straight-line distances in metres."""
        return np.asarray(distance_m, dtype=np.float64) * self.detour_factor / self.walk_speed_mps

    @property
    def max_access_s(self) -> int:
        """Access/egress walk cutoff, whole seconds (rounded like the footway lengths)."""
        return int(np.rint(self.walk_s(self.max_access_m)))

    @property
    def max_transfer_s(self) -> int:
        """Transfer walk cutoff, whole seconds (rounded like the footway lengths)."""
        return int(np.rint(self.walk_s(self.max_transfer_m)))

    @property
    def max_way_m(self) -> float:
        """Longest footway written to the .osm.pbf, metres."""
        return max(self.max_access_m, self.max_transfer_m)

    @classmethod
    def coerce(cls, walk: Any) -> WalkRules:
        """``WalkRules`` from None (defaults), itself, or any object with the same fields.

        Accepts the router's ``transit.walk.WalkParams`` (``speed_mps``) as well.
        """
        if walk is None:
            return cls()
        if isinstance(walk, cls):
            return walk
        speed = getattr(walk, "walk_speed_mps", None) or walk.speed_mps
        return cls(detour_factor=float(walk.detour_factor), walk_speed_mps=float(speed),
                   max_access_m=float(walk.max_access_m),
                   max_transfer_m=float(walk.max_transfer_m),
                   earth_radius_m=float(getattr(walk, "earth_radius_m", EARTH_RADIUS_M)))

    def key(self) -> str:
        """Short content hash of the rules, for cache file names."""
        text = json.dumps(asdict(self), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True)
class ExpandedFeed:
    """An expanded feed in the cache, with its walking network for ferrobus.

    Attributes
    ----------
    source_zip
        The original feed.
    zip_path
        Expanded GTFS zip (no frequencies.txt; every trip explicit).
    dir_path
        The same tables unpacked (ferrobus reads GTFS directories, not zips).
    osm_pbf
        Footway network between stops (see module docstring); built lazily by
        ``ensure_expanded_feed(..., with_pbf=True)``.
    service_date
        The day the benchmarks route on.
    walk
        The walking rules the .osm.pbf encodes.
    n_trips, n_stop_times
        Rows of the expanded trips.txt / stop_times.txt.
    stats
        Timings (s) and network sizes measured when the cache entry was built.
    """

    source_zip: Path
    zip_path: Path
    dir_path: Path
    osm_pbf: Path
    service_date: dt.date
    walk: WalkRules
    n_trips: int
    n_stop_times: int
    stats: dict[str, Any] = field(default_factory=dict)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _seconds_to_hms(seconds: pd.Series) -> pd.Series:
    s = seconds.astype("Int64")
    text = (
        (s // 3600).astype(str).str.zfill(2) + ":"
        + ((s % 3600) // 60).astype(str).str.zfill(2) + ":"
        + (s % 60).astype(str).str.zfill(2)
    )
    return text.where(s.notna(), "")


def _hms_to_seconds(text: pd.Series) -> pd.Series:
    parts = text.astype("string").str.strip().str.split(":", expand=True)
    if parts.shape[1] < 3:
        return pd.Series(pd.NA, index=text.index, dtype="Int64")
    h, m, s = (pd.to_numeric(parts[i], errors="coerce") for i in range(3))
    return (h * 3600 + m * 60 + s).astype("Int64")


def expand_feed_tables(feed_zip: Path) -> dict[str, pd.DataFrame]:
    """Read a GTFS zip with gtfs-kit, expand frequencies.txt into trips, return str tables.

    Times come back zero-padded ``HH:MM:SS`` (may exceed 24:00:00); rows are sorted by the
    table's key so the written feed is byte-stable.
    """
    import gtfs_kit as gk

    feed = gk.read_feed(str(feed_zip), dist_units="km")
    expanded = gk.expand_frequencies(feed)
    tables: dict[str, pd.DataFrame] = {}
    for name in _TABLES:
        df = getattr(expanded, name, None)
        if df is None or len(df) == 0:
            continue
        tables[name] = df.copy()
    st = tables["stop_times"]
    for col in ("arrival_time", "departure_time"):
        st[col] = _seconds_to_hms(_hms_to_seconds(st[col].astype("string")))
    st["stop_sequence"] = pd.to_numeric(st["stop_sequence"])
    tables["stop_times"] = st.sort_values(["trip_id", "stop_sequence"], kind="stable")
    tables["trips"] = tables["trips"].sort_values("trip_id", kind="stable")
    return tables


def write_gtfs(tables: dict[str, pd.DataFrame], zip_path: Path, dir_path: Path) -> None:
    """Write tables as ``<name>.txt`` into a directory and a zip with fixed timestamps."""
    if dir_path.exists():
        shutil.rmtree(dir_path)
    dir_path.mkdir(parents=True)
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_zip = zip_path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(tables):
            buf = io.StringIO()
            tables[name].to_csv(buf, index=False, lineterminator="\n")
            data = buf.getvalue().encode("utf-8")
            (dir_path / f"{name}.txt").write_bytes(data)
            info = zipfile.ZipInfo(f"{name}.txt", date_time=(2019, 11, 5, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    tmp_zip.replace(zip_path)


def _ferrobus_metres(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray,
                     lon2: np.ndarray) -> np.ndarray:
    return haversine_m(lat1, lon1, lat2, lon2, radius_m=FERROBUS_EARTH_RADIUS_M)


def build_walk_network(
    stop_lat: np.ndarray, stop_lon: np.ndarray, walk: WalkRules
) -> dict[str, Any]:
    """Nodes and ways of the footway network described in the module docstring.

    Parameters
    ----------
    stop_lat, stop_lon
        Stop coordinates, degrees.
    walk
        Our walking rules; footways join stops up to ``walk.max_way_m`` apart.

    Returns
    -------
    dict
        ``nodes``: list of ``[osm_id, lat, lon]``; ``ways``: list of ``[osm_id, [node ids]]``;
        ``stats``: counts and the worst footway-length error (m) after fitting.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from sklearn.neighbors import BallTree

    coords = np.column_stack([stop_lat, stop_lon]).astype(np.float64)
    uniq, _ = np.unique(coords, axis=0, return_inverse=True)
    n = len(uniq)
    lat, lon = uniq[:, 0], uniq[:, 1]
    tree = BallTree(np.radians(uniq), metric="haversine")
    neigh = tree.query_radius(np.radians(uniq), walk.max_way_m / walk.earth_radius_m)
    src = np.concatenate([np.full(len(nb), i) for i, nb in enumerate(neigh)])
    dst = np.concatenate(list(neigh))
    keep = src < dst
    a, b = src[keep], dst[keep]
    d_ours = haversine_m(lat[a], lon[a], lat[b], lon[b], radius_m=walk.earth_radius_m)
    keep = d_ours <= walk.max_way_m
    a, b, d_ours = a[keep], b[keep], d_ours[keep]
    target_s = np.rint(walk.walk_s(d_ours))
    target_len = FERROBUS_WALK_SPEED_MPS * (target_s + 0.5)

    # Middle node: offset perpendicular to the chord from its midpoint, fitted by Newton steps
    # on the haversine length ferrobus will measure.
    mlat, mlon = (lat[a] + lat[b]) / 2, (lon[a] + lon[b]) / 2
    m_per_deg_lat = np.pi / 180 * FERROBUS_EARTH_RADIUS_M
    m_per_deg_lon = m_per_deg_lat * np.cos(np.radians(mlat))
    east = (lon[b] - lon[a]) * m_per_deg_lon
    north = (lat[b] - lat[a]) * m_per_deg_lat
    chord = np.hypot(east, north)
    ux, uy = -north / chord, east / chord          # unit normal (east, north)
    half = target_len / 2
    h = np.sqrt(np.maximum(half**2 - (chord / 2) ** 2, 0.0))
    for _ in range(4):
        ilat = mlat + h * uy / m_per_deg_lat
        ilon = mlon + h * ux / m_per_deg_lon
        length = (_ferrobus_metres(lat[a], lon[a], ilat, ilon)
                  + _ferrobus_metres(ilat, ilon, lat[b], lon[b]))
        # d(length)/dh for two legs of length ~ half each: 2 * h / half
        slope = np.maximum(2 * h / np.maximum(length / 2, 1e-9), 1e-6)
        h = np.maximum(h + (target_len - length) / slope, 0.0)
    # OSM stores 1e-7 degrees: measure the error on rounded coordinates.
    ilat = np.round(mlat + h * uy / m_per_deg_lat, 7)
    ilon = np.round(mlon + h * ux / m_per_deg_lon, 7)
    rlat, rlon = np.round(lat, 7), np.round(lon, 7)
    length = (_ferrobus_metres(rlat[a], rlon[a], ilat, ilon)
              + _ferrobus_metres(ilat, ilon, rlat[b], rlon[b]))
    err_m = np.abs(length - target_len)
    ferrobus_s = np.floor(length / FERROBUS_WALK_SPEED_MPS)
    n_mismatch = int((ferrobus_s != target_s).sum())

    # Tie every connected component to a hub far away (see module docstring).
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    n_comp, labels = connected_components(graph, directed=False)
    first_of_comp = np.unique(labels, return_index=True)[1]
    hub_id = n + len(a) + 1
    hub_lat = float(lat.max() + 1.0)
    hub_lon = float(lon.mean())

    nodes: list[list[Any]] = [[i + 1, float(rlat[i]), float(rlon[i])] for i in range(n)]
    nodes += [[n + 1 + k, float(ilat[k]), float(ilon[k])] for k in range(len(a))]
    nodes.append([hub_id, hub_lat, hub_lon])
    ways: list[list[Any]] = [[k + 1, [int(a[k]) + 1, n + 1 + k, int(b[k]) + 1]]
                             for k in range(len(a))]
    ways += [[len(a) + 1 + j, [int(i) + 1, hub_id]] for j, i in enumerate(first_of_comp)]
    stats = {
        "n_stop_nodes": n,
        "n_footways": len(a),
        "n_components": int(n_comp),
        "max_length_error_m": float(err_m.max()) if len(err_m) else 0.0,
        "n_walk_s_mismatch": n_mismatch,
    }
    return {"nodes": nodes, "ways": ways, "stats": stats}


def write_osm_pbf(network: dict[str, Any], out_path: Path) -> None:
    """Write ``build_walk_network``'s nodes and ways as .osm.pbf (pyosmium in the peers venv)."""
    from bench.common import run_worker

    python = ensure_peer_venvs(["ferrobus"])["ferrobus"]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_path.with_name(out_path.name + ".part.osm.pbf")
    tmp.unlink(missing_ok=True)
    req = {"command": "write_pbf", "out": str(tmp), "nodes": network["nodes"],
           "ways": network["ways"]}
    records, code, err = run_worker(python, WORKER, req, timeout_s=600)
    if code != 0 or not records or not records[-1].get("ok"):
        raise RuntimeError(f"writing {out_path} failed (exit {code}): {err}")
    tmp.replace(out_path)


def ensure_expanded_feed(
    feed_zip: Path = NAIROBI_FEED,
    *,
    service_date: dt.date = NAIROBI_SERVICE_DATE,
    walk: WalkRules | Any | None = None,
    cache_dir: Path = CACHE_DIR,
    with_pbf: bool = True,
) -> ExpandedFeed:
    """Return the cached expanded feed (and footway .osm.pbf), building what is missing.

    Cache entries are keyed by the source feed's sha256 and, for the .osm.pbf, by the walking
    rules, under ``bench/.peers/cache/``.

    Parameters
    ----------
    feed_zip
        A GTFS zip with frequencies.txt (or without: then expansion is a copy).
    service_date
        The day the benchmark routes on (recorded, and passed to the peers).
    walk
        Walking rules for the .osm.pbf: a ``WalkRules``, the router's ``WalkParams``, or None
        for the defaults (1.3, 1.2 m/s, 1,000 m access, 500 m transfers).
    cache_dir
        Where to keep the expanded feed.
    with_pbf
        Also build the footway .osm.pbf (needs the ferrobus venv for pyosmium).
    """
    walk = WalkRules.coerce(walk)
    feed_zip = Path(feed_zip)
    if not feed_zip.is_file():
        raise FileNotFoundError(f"GTFS feed not found: {feed_zip}")
    key = file_sha256(feed_zip)[:12]
    base = cache_dir / f"expanded-{key}"
    zip_path = base.with_suffix(".zip")
    dir_path = base
    meta_path = base.with_suffix(".json")
    pbf = cache_dir / f"walk-{key}-{walk.key()}.osm.pbf"
    stats: dict[str, Any] = {}
    if meta_path.exists() and zip_path.exists() and dir_path.is_dir():
        stats = json.loads(meta_path.read_text())
    else:
        t0 = time.perf_counter()
        tables = expand_feed_tables(feed_zip)
        stats["expand_s"] = time.perf_counter() - t0
        write_gtfs(tables, zip_path, dir_path)
        stats["n_trips"] = len(tables["trips"])
        stats["n_stop_times"] = len(tables["stop_times"])
        meta_path.write_text(json.dumps(stats, indent=1, sort_keys=True))
    if with_pbf and not pbf.exists():
        stops = pd.read_csv(dir_path / "stops.txt", dtype=str)
        lat = stops["stop_lat"].astype(float).to_numpy()
        lon = stops["stop_lon"].astype(float).to_numpy()
        t0 = time.perf_counter()
        network = build_walk_network(lat, lon, walk)
        write_osm_pbf(network, pbf)
        pbf_stats = dict(network["stats"], pbf_build_s=time.perf_counter() - t0)
        pbf.with_suffix(".json").write_text(json.dumps(pbf_stats, indent=1, sort_keys=True))
    if pbf.with_suffix(".json").exists():
        stats = {**stats, "walk_network": json.loads(pbf.with_suffix(".json").read_text())}
    return ExpandedFeed(
        source_zip=feed_zip, zip_path=zip_path, dir_path=dir_path, osm_pbf=pbf,
        service_date=service_date, walk=walk, n_trips=int(stats["n_trips"]),
        n_stop_times=int(stats["n_stop_times"]), stats=stats,
    )


def main(argv: list[str] | None = None) -> int:
    """CLI: build (or show) the cached expanded feed and footway network."""
    p = argparse.ArgumentParser(prog="python -m bench.router.make_expanded_feed",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--feed", type=Path, default=NAIROBI_FEED)
    p.add_argument("--date", type=dt.date.fromisoformat, default=NAIROBI_SERVICE_DATE)
    p.add_argument("--no-pbf", action="store_true", help="skip the footway .osm.pbf")
    args = p.parse_args(argv)
    feed = ensure_expanded_feed(args.feed, service_date=args.date, with_pbf=not args.no_pbf)
    print(f"expanded feed : {feed.zip_path}")
    print(f"  directory   : {feed.dir_path}")
    print(f"  trips       : {feed.n_trips:,}   stop_times: {feed.n_stop_times:,}")
    if "expand_s" in feed.stats:
        print(f"  expand      : {feed.stats['expand_s']:.2f} s (gtfs-kit expand_frequencies)")
    if not args.no_pbf:
        print(f"walk network  : {feed.osm_pbf}")
        print(f"  {json.dumps(feed.stats.get('walk_network', {}), sort_keys=True)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
