"""``transit keys create`` / ``keys list`` and ``transit serve`` start-up errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.api_helpers import service

TRANSIT = str(Path(sys.executable).with_name("transit"))


def test_keys_create_prints_a_working_key_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    made = CliRunner().invoke(app, ["keys", "create", "--role", "planner", "--db", url,
                                    "--name", "city team"])
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert secret.startswith("tk_")
    listed = CliRunner().invoke(app, ["keys", "list", "--db", url])
    assert "planner" in listed.stdout
    assert "city team" in listed.stdout
    assert secret not in listed.stdout  # shown once, stored hashed
    with service(url, tmp_path / "data") as client:
        assert client.get("/builds", headers={"X-API-Key": secret}).status_code == 200
        assert client.post("/builds", headers={"X-API-Key": secret}).status_code == 403


@pytest.mark.slow  # a `transit` subprocess each
@pytest.mark.parametrize(("args", "env", "message"), [
    (["keys", "create", "--role", "boss"], {}, "unknown role 'boss'"),
    (["serve"], {"TRANSIT_MAX_UPLOAD_BYTES": "lots"}, "TRANSIT_MAX_UPLOAD_BYTES"),
    (["serve", "--db", "sqlite:////no/such/folder/x.sqlite"], {}, "does not exist"),
])
def test_bad_input_is_one_line_and_exit_2_or_3(tmp_path: Path, args: list[str],
                                               env: dict[str, str], message: str) -> None:
    if "--db" not in args:
        args = [*args, "--db", f"sqlite:///{tmp_path / 's.sqlite'}"]
    result = subprocess.run([TRANSIT, *args], capture_output=True, text=True, timeout=120,
                            env={**os.environ, **env}, cwd=tmp_path)
    assert result.returncode in (2, 3)
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one line, no traceback
