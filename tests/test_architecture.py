"""The package dependency directions of STYLE.md, enforced with import-linter contracts.

api -> (gps_ingest | gtfs_out) -> transit; the core imports no database, HTTP or CLI code.
The contracts live in pyproject.toml ([tool.importlinter]).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_core_does_not_import_outer_packages() -> None:
    """Belt and braces: no module under transit/ names an outer package in an import."""
    for path in (REPO / "transit").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for outer in ("gps_ingest", "gtfs_out", "api"):
            assert f"import {outer}" not in text, path
            assert f"from {outer}" not in text, path
