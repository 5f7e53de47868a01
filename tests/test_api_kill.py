"""Kill -9 the server during a build: on restart the published feed is intact and the
build is marked failed.

Runs the real ``transit serve`` in a subprocess on a free loopback port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.api_helpers import TZ, corridor_csv, make_keys

pytestmark = pytest.mark.slow

TRANSIT = str(Path(sys.executable).with_name("transit"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(url: str, data_dir: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "TRANSIT_DATA_DIR": str(data_dir), "TRANSIT_TIMEZONE": TZ}
    proc = subprocess.Popen([TRANSIT, "serve", "--db", url, "--port", str(port),
                             "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"transit serve did not start: {err[-2000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr:
            proc.stderr.close()


def _wait(client: httpx.Client, build_id: int, admin: dict[str, str],
          until: tuple[str, ...]) -> dict[str, object]:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        body: dict[str, object] = client.get(f"/builds/{build_id}", headers=admin).json()
        if body["status"] in until:
            return body
        time.sleep(0.02)
    pytest.fail(f"build {build_id} never reached {until}")


def test_kill_9_during_a_build_keeps_the_feed_and_fails_the_job(tmp_path: Path) -> None:
    # SQLite only: two server start-ups make this the slowest service test, and the
    # start-up recovery it checks is the same code on PostgreSQL (test_api_builds covers
    # the failed-build path there)
    store_url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    keys = make_keys(store_url)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with _server(store_url, tmp_path / "data", port) as proc, \
            httpx.Client(base_url=base, timeout=60) as client:
        first, _ = corridor_csv(4)
        assert client.post("/uploads", files={"file": ("a.csv", first)},
                           headers=keys.field).status_code == 201
        b1 = client.post("/builds", json={}, headers=keys.admin).json()["id"]
        assert _wait(client, b1, keys.admin, ("succeeded", "failed"))["status"] == "succeeded"
        published = client.get("/feeds/latest.zip")
        assert published.status_code == 200
        more, _ = corridor_csv(16, prefix="b", seed=7)
        assert client.post("/uploads", files={"file": ("b.csv", more)},
                           headers=keys.field).status_code == 201
        b2 = client.post("/builds", json={}, headers=keys.admin).json()["id"]
        running = _wait(client, b2, keys.admin, ("running", "succeeded", "failed"))
        assert running["status"] == "running"  # the build outlasts the polling
        proc.kill()  # SIGKILL: no clean-up of any kind
        proc.wait()
    with _server(store_url, tmp_path / "data", port), \
            httpx.Client(base_url=base, timeout=60) as client:
        after = client.get(f"/builds/{b2}", headers=keys.admin).json()
        assert after["status"] == "failed"
        assert "interrupted" in after["error"]
        feeds = client.get("/feeds").json()
        assert [f["version"] for f in feeds] == [1]
        again = client.get("/feeds/latest.zip")
        assert again.content == published.content
        assert again.headers["etag"] == published.headers["etag"]
        assert client.get("/health").json()["feed_version"] == 1
