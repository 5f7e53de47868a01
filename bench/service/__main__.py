"""Service load benchmark on loopback: ``/journeys`` latency and throughput, and the
``/feeds/latest.zip`` ``If-None-Match`` -> ``304`` path.

Run: ``.venv/bin/python -m bench.service [--data ../shared/data] [--seconds 10]
[--feeds sample,abidjan,nairobi] [--save-answers FILE]``
(``--feeds nairobi``: only the Nairobi rows, about 30 s at the default 10 s per run;
``--save-answers``: the JSON answers to 300 distinct /journeys questions per feed, as
lines ``feed<TAB>path<TAB>body``, to diff the answers of two versions of the code).

1. Starts ``transit serve`` (a fresh SQLite store, public queries) on a free port.
2. Follows the README: uploads the Abidjan sample traces, starts a build, waits for the
   published feed (version 1); then publishes a feed built from all 762 Abidjan traces
   (``POST /feeds``, version 2: a whole city's build, ~3,300 stops on long routes, one
   template trip per pattern and time band) and the Digital Matatus Nairobi feed
   (version 3: 4,273 stops, headway-based) to load the router harder.
3. For each feed, drives ``GET /journeys?from&to&depart=07:30&window=60`` with wrk
   (Debian package ``wrk``; a Python load generator when it is missing): *distinct*
   random stop-to-stop pairs, never repeated (every request computes: 60 departure
   minutes x 5 Monte Carlo draws); the same with a single departure and draw
   (``window=0&draws=1``); and a *hot set* of 50 pairs asked again and again (answers
   kept per feed version). Four connections: latency is not queueing. Beside latency and
   throughput it prints the server's CPU time per request (user + system, from /proc) and
   how many cores the server kept busy: on a shared machine the CPU time is the figure that
   compares between runs (2 cores / CPU per request is the throughput an idle machine
   allows).
4. Checks ``If-None-Match`` on ``/feeds/latest.zip`` gives 304 and measures it.

Targets (issue 6): ``/journeys`` p50 under 20 ms and at least 200 requests/s on the
2-core machine; 304 on a matching ``If-None-Match``. There is no peer HTTP service to
compare with; the table prints the targets beside our figures.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import TextIO

import httpx
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
TRANSIT = str(Path(sys.executable).with_name("transit"))

_LUA = """
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end
function init(args)
  paths = {}
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  step = tonumber(args[2])
  i = id
end
function request()
  local p = paths[(i % #paths) + 1]
  i = i + step
  return wrk.format("GET", p)
end
"""


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (all its threads); NaN off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(folder: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "TRANSIT_DATA_DIR": str(folder / "data"),
           "TRANSIT_PUBLIC_QUERIES": "true", "TRANSIT_TIMEZONE": "Africa/Abidjan"}
    proc = subprocess.Popen([TRANSIT, "serve", "--db", f"sqlite:///{folder / 'store.sqlite'}",
                             "--port", str(port), "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("transit serve did not start")


def _admin_key(folder: Path) -> str:
    out = subprocess.run([TRANSIT, "keys", "create", "--role", "admin", "--db",
                          f"sqlite:///{folder / 'store.sqlite'}"], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def _publish_abidjan(client: httpx.Client, data: Path, admin: dict[str, str]) -> float:
    folder = data / "abidjan-gps-traces"
    t0 = time.perf_counter()
    for name in ("sample_trackpoints.csv", "sample_waypoints.csv"):
        with (folder / name).open("rb") as fh:
            r = client.post("/uploads", files={"file": (name, fh)}, headers=admin)
            r.raise_for_status()
    build = client.post("/builds", json={"timezone": "Africa/Abidjan"}, headers=admin).json()
    while build["status"] not in ("succeeded", "failed"):
        time.sleep(0.25)
        build = client.get(f"/builds/{build['id']}", headers=admin).json()
    if build["status"] != "succeeded":
        raise SystemExit(f"build failed: {build['error']}")
    return time.perf_counter() - t0


def _build_abidjan_full(data: Path, out: Path) -> Path:
    """A feed built from all 762 Abidjan traces (field stops withheld, as bench.build
    does): a whole city's build, to load the router as a user's own feed would."""
    from bench.build.abidjan import BUILD_OPTIONS, load_segments
    from gtfs_out.write import write_feed
    from transit.build import build_network

    segments = load_segments(data / "abidjan-gps-traces", with_field_stops=False)
    res = build_network(segments, BUILD_OPTIONS)
    return write_feed(res.network, out)


def _stops(client: httpx.Client) -> pd.DataFrame:
    zipped = zipfile.ZipFile(io.BytesIO(client.get("/feeds/latest.zip").content))
    return pd.read_csv(zipped.open("stops.txt"), dtype=str)


def _paths(stops: pd.DataFrame, n: int, seed: int, query: str = "window=60") -> list[str]:
    rng = np.random.default_rng(seed)
    lat, lon = stops["stop_lat"].to_numpy(), stops["stop_lon"].to_numpy()
    a = rng.integers(0, len(stops), n)
    b = rng.integers(0, len(stops), n)
    return [f"/journeys?from={lat[i]},{lon[i]}&to={lat[j]},{lon[j]}&depart=07:30&{query}"
            for i, j in zip(a, b, strict=True)]


def _warm(client: httpx.Client, paths: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(client.get, paths))


def _wrk(base: str, paths: list[str], seconds: int, connections: int,
         folder: Path) -> dict[str, float]:
    listing = folder / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = folder / "paths.lua"
    script.write_text(_LUA)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency",
                          "-s", str(script), base, "--", str(listing), "2"],
                         check=True, capture_output=True, text=True).stdout
    def ms(label: str) -> float:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50_ms": ms("50%"), "p90_ms": ms("90%"), "p99_ms": ms("99%"),
            "rps": float(rps.group(1)) if rps else float("nan"),
            "requests": float(total.group(1)) if total else 0.0,
            "errors": float(non2xx.group(1)) if non2xx else 0.0}


def _python_load(base: str, paths: list[str], seconds: int,
                 connections: int) -> dict[str, float]:
    from concurrent.futures import ThreadPoolExecutor

    stop_at = time.monotonic() + seconds
    latencies: list[float] = []
    errors = 0

    def worker(k: int) -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=30) as client:
            i = k
            while time.monotonic() < stop_at:
                t0 = time.perf_counter()
                r = client.get(paths[i % len(paths)])
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += r.status_code >= 400
                i += connections
    t0 = time.monotonic()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(worker, range(connections)))
    elapsed = time.monotonic() - t0
    lat = np.array(latencies)
    return {"p50_ms": float(np.percentile(lat, 50)), "p90_ms": float(np.percentile(lat, 90)),
            "p99_ms": float(np.percentile(lat, 99)), "rps": len(lat) / elapsed,
            "requests": float(len(lat)), "errors": float(errors)}


def _not_modified(client: httpx.Client) -> tuple[int, float]:
    etag = client.get("/feeds/latest.zip").headers["etag"]
    t0 = time.perf_counter()
    n = 200
    codes = {client.get("/feeds/latest.zip", headers={"If-None-Match": etag}).status_code
             for _ in range(n)}
    per_ms = (time.perf_counter() - t0) / n * 1000
    return (codes.pop() if len(codes) == 1 else -1), per_ms


def _save_answers(client: httpx.Client, feed: str, paths: list[str], out: TextIO) -> None:
    """Ask ``paths`` one by one (questions the load runs never ask) and write each answer."""
    for path in paths:
        r = client.get(path)
        out.write(f"{feed}\t{path}\t{r.status_code} {r.text}\n")
    out.flush()


#: The feeds the benchmark can load (``--feeds``), in the order they are published.
FEEDS = {"sample": "Abidjan sample build", "abidjan": "Abidjan, all 762 traces built",
         "nairobi": "Nairobi Digital Matatus"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--feeds", default=",".join(FEEDS),
                        help=f"comma-separated rows to run, of {', '.join(FEEDS)} "
                             "(default: all)")
    parser.add_argument("--save-answers", type=Path, default=None,
                        help="write the answers to 300 distinct /journeys questions per feed "
                             "(feed, path, body per line) before the load runs")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.feeds.split(",") if name.strip()]
    unknown = sorted(set(chosen) - set(FEEDS))
    if unknown or not chosen:
        parser.error(f"--feeds: unknown {', '.join(unknown) or '(none given)'}; "
                     f"choose among {', '.join(FEEDS)}")
    use_wrk = shutil.which("wrk") is not None
    load = "wrk" if use_wrk else "python (install wrk: apt-get install -y wrk)"
    print(f"load generator: {load}; {os.cpu_count()} cores; {args.connections} connections, "
          f"{args.seconds} s per run; load average {os.getloadavg()[0]:.1f} at start",
          flush=True)
    rows: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-service-") as tmp:
        folder = Path(tmp)
        admin = {"X-API-Key": _admin_key(folder)}
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = _start(folder, port)
        print(f"server pid {proc.pid} on port {port}", flush=True)
        try:
            with httpx.Client(base_url=base, timeout=300) as client:
                feeds: list[tuple[str, str, Path | None]] = []
                if "sample" in chosen:
                    took = _publish_abidjan(client, args.data, admin)
                    print(f"README flow: 2 uploads + build + publish in {took:.1f} s",
                          flush=True)
                    feeds.append(("sample", FEEDS["sample"], None))
                if "abidjan" in chosen:
                    full = _build_abidjan_full(args.data, folder / "abidjan-full.zip")
                    feeds.append(("abidjan", FEEDS["abidjan"], full))
                if "nairobi" in chosen:
                    feeds.append(("nairobi", FEEDS["nairobi"],
                                  args.data / "nairobi-gtfs" / "gtfs.zip"))
                answers = args.save_answers.open("w") if args.save_answers else None
                for name, label, zip_path in feeds:
                    if zip_path is not None:
                        with zip_path.open("rb") as fh:
                            client.post("/feeds", files={"file": (zip_path.name, fh)},
                                        headers=admin, timeout=600).raise_for_status()
                    stops = _stops(client)
                    distinct = _paths(stops, 50_000, seed=1)
                    single = _paths(stops, 50_000, seed=3, query="window=0&draws=1")
                    hot = _paths(stops, 50, seed=2)
                    _warm(client, hot + distinct[:10] + single[:10])  # JIT, pool, hot set
                    if answers is not None:
                        _save_answers(client, name, distinct[-300:], answers)
                    for kind, paths in (("distinct", distinct[10:]),
                                        ("distinct, window=0 draws=1", single[10:]),
                                        ("hot set of 50 (answers kept)", hot)):
                        cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
                        if use_wrk:
                            res = _wrk(base, paths, args.seconds, args.connections, folder)
                        else:
                            res = _python_load(base, paths, args.seconds, args.connections)
                        cpu_s, wall_s = _cpu_s(proc.pid) - cpu0, time.monotonic() - t0
                        res["cpu_ms"] = cpu_s / max(res["requests"], 1.0) * 1000
                        res["cores"] = cpu_s / wall_s
                        rows.append((f"{label} ({len(stops):,} stops), {kind}", res))
                        print(f"  {rows[-1][0]}: p50 {res['p50_ms']:.1f} ms, "
                              f"{res['rps']:.0f} req/s, server CPU {res['cpu_ms']:.2f} ms "
                              f"per request on {res['cores']:.2f} cores; load average "
                              f"{os.getloadavg()[0]:.1f}", flush=True)
                if answers is not None:
                    answers.close()
                code, per_ms = _not_modified(client)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    print()
    print(f"{'GET /journeys (depart 07:30, window 60 min, 5 draws unless said)':<70} "
          f"{'p50 ms':>7} "
          f"{'p90 ms':>7} {'p99 ms':>7} {'req/s':>7} {'errors':>7} {'CPU ms':>7} {'cores':>6}")
    for name, r in rows:
        print(f"{name:<70} {r['p50_ms']:>7.1f} {r['p90_ms']:>7.1f} {r['p99_ms']:>7.1f} "
              f"{r['rps']:>7.0f} {int(r['errors']):>7} {r['cpu_ms']:>7.2f} {r['cores']:>6.2f}")
    print(f"{'target (issue 6)':<70} {'< 20':>7} {'':>7} {'':>7} {'>= 200':>7} {'0':>7}")
    print(f"CPU ms: the server's CPU time per request; cores: its CPU time over the run's "
          f"wall time ({os.cpu_count()} cores here; load average "
          f"{os.getloadavg()[0]:.1f} at the end)")
    print(f"\nGET /feeds/latest.zip with If-None-Match: HTTP {code} "
          f"({per_ms:.2f} ms per request, sequential); target 304")


if __name__ == "__main__":
    main()
