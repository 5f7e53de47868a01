"""`transit demo` on the bundled example: the whole pipeline runs from a fresh clone."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "transit"


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "demo-out"
    done = subprocess.run([str(BIN), "demo", "--out", str(out)], capture_output=True,
                          text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    text = done.stdout
    for step in ("1. ingest", "2. build", "3. validate", "4. evaluate"):
        assert step in text
    assert "own rules: 0 errors" in text
    assert "gtfs-guru: 0 errors" in text
    for name in ("demo.sqlite", "feed.zip", "feed.report.json", "evaluation.json"):
        assert (out / name).is_file(), name
    score = json.loads((out / "evaluation.json").read_text())
    assert score["stops"]["f1"] > 0.5  # the builder finds most stops (bench/ holds targets)
