"""Schemathesis against the app's own OpenAPI schema: no request gives a server error.

A real uvicorn server runs in a thread on a free loopback port, with a small published
feed (the hand-built network of :mod:`tests.small_network`) so queries reach the router.
Every operation gets a bounded number of generated requests with an admin key (which
passes every role check) and without one; each answer must be below 500, and every 4xx
must be problem+json.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.settings import Settings
from api.store import feeds as feed_repo
from api.store.db import open_store
from gtfs_out.write import feed_bytes
from tests.api_helpers import make_keys
from tests.small_network import small_network

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, str, dict[str, str]]]:
    folder = tmp_path_factory.mktemp("schema")
    url = f"sqlite:///{folder / 'store.sqlite'}"
    keys = make_keys(url)
    engine = open_store(url)
    with engine.begin() as conn:
        feed_repo.publish_feed(conn, feed_bytes(small_network()), source="small",
                               build_id=None, feed_version=None)
    engine.dispose()
    app = create_app(Settings(database_url=url, data_dir=folder / "data",
                              max_upload_bytes=200_000, run_jobs=False))
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical",
                            access_log=False)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    schema = schemathesis.openapi.from_dict(app.openapi())
    try:
        yield schema, f"http://127.0.0.1:{port}", keys.admin
    finally:
        uv.should_exit = True
        thread.join(30)


def _operations() -> list[str]:
    app = create_app(Settings(database_url="sqlite://", run_jobs=False))
    return sorted(f"{method.upper()} {path}" for path, item in app.openapi()["paths"].items()
                  for method in item)


@pytest.mark.parametrize("operation", _operations())
def test_no_server_error(server: tuple[Any, str, dict[str, str]], operation: str) -> None:
    schema, base_url, admin = server
    method, path = operation.split(" ", 1)
    op = schema[path][method]

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              suppress_health_check=list(HealthCheck), derandomize=True)
    @given(case=op.as_strategy(), with_key=st.sampled_from([True, True, True, False]))
    def run(case: Any, with_key: bool) -> None:
        headers = dict(case.headers or {})
        headers.pop("X-API-Key", None)
        if with_key:
            headers.update(admin)
        case.headers = headers
        response = case.call(base_url=base_url)
        assert response.status_code < 500, (case.method, case.formatted_path, case.query,
                                            response.text[:500])
        if 400 <= response.status_code < 500:
            assert response.headers["content-type"][0].startswith(
                "application/problem+json"), response.headers

    run()
