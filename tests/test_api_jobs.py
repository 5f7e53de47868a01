"""Start-up recovery of jobs: builds left ``running`` fail, ``queued`` ones run."""

from __future__ import annotations

import time
from pathlib import Path

from api.store import builds as repo
from api.store.db import open_store
from tests.api_helpers import make_keys, service


def test_startup_fails_running_builds_and_runs_queued_ones(store_url: str,
                                                            tmp_path: Path) -> None:
    keys = make_keys(store_url)
    engine = open_store(store_url)
    with engine.begin() as conn:
        running = repo.create_build(conn, {}, None)
        assert repo.claim_build(conn, running)  # as if a dead server had started it
        queued = repo.create_build(conn, {}, None)
    engine.dispose()
    with service(store_url, tmp_path / "data") as client:
        dead = client.get(f"/builds/{running}", headers=keys.admin).json()
        assert dead["status"] == "failed"
        assert "interrupted" in dead["error"]
        deadline = time.monotonic() + 60
        while True:
            waiting = client.get(f"/builds/{queued}", headers=keys.admin).json()
            if waiting["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    # it ran: with no uploads stored the builder says so, and nothing is published
    assert waiting["status"] == "failed"
    assert "no trip segments" in waiting["error"]
    assert waiting["upload_ids"] == []
