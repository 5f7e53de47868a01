"""Independent validators, their notices turned into :class:`~gtfs_out.findings.Finding`.

Two validators that install from PyPI and run offline:

* gtfs-guru (Rust, Python API ``gtfs_guru.validate(path)``), the fast default;
* gtfs-validator (the MobilityData notice codes; ``gtfs-validator -i feed.zip -o out/``),
  run as a subprocess, its ``report.json`` parsed.

Both use MobilityData's notice codes; the codes are kept verbatim, ``source`` names the tool.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from gtfs_out.findings import Finding, Severity
from transit.errors import FeedError, InputError

__all__ = ["TOOLS", "Tool", "run_gtfs_guru", "run_gtfs_validator", "validate_independent"]

Tool = Literal["gtfs-guru", "gtfs-validator"]
TOOLS: tuple[Tool, ...] = ("gtfs-guru", "gtfs-validator")
_SEVERITY: dict[str, Severity] = {"ERROR": "error", "WARNING": "warning", "INFO": "info"}
_ENTITY_KEYS = ("stopId", "tripId", "routeId", "shapeId", "serviceId", "agencyId",
                "stopId1", "tripIdA", "csvRowNumber")
_FIELD_KEYS = ("fieldName", "field")
_VALUE_KEYS = ("fieldValue", "value", "stopName", "routeShortName")


def _entity(context: Mapping[str, Any]) -> str:
    for key in _ENTITY_KEYS:
        value = context.get(key)
        if value not in (None, ""):
            return f"row {value}" if key == "csvRowNumber" else str(value)
    return ""


def _first(context: Mapping[str, Any], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = context.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def _finding(code: str, severity: str, context: Mapping[str, Any], message: str, tool: str,
             file: str | None = None) -> Finding:
    return Finding(code=code, severity=_SEVERITY.get(severity.upper(), "info"),
                   file=file or str(context.get("filename", "") or ""),
                   entity_id=_entity(context), field=_first(context, _FIELD_KEYS),
                   value=_first(context, _VALUE_KEYS), message=message, source=tool)


def run_gtfs_guru(path: str | Path, *, date: str | None = None) -> list[Finding]:
    """Findings of gtfs-guru on the feed at ``path`` (``date`` as ``YYYY-MM-DD``)."""
    import gtfs_guru  # optional dev dependency: imported only when asked for

    try:
        result = gtfs_guru.validate(str(path), date=date) if date else gtfs_guru.validate(
            str(path))
    except Exception as exc:  # the Rust side raises plain exceptions
        raise FeedError(f"gtfs-guru cannot read the feed ({exc})", where=str(path),
                        fix="give a GTFS zip or folder") from None
    out = []
    for n in result.notices:
        context = n.context() or {}
        out.append(_finding(str(n.code), str(n.severity), context, str(n.message or ""),
                            "gtfs-guru", file=n.file or None))
    return sorted(out, key=Finding.sort_key)


def _validator_exe() -> str:
    exe = shutil.which("gtfs-validator") or str(Path(sys.executable).parent / "gtfs-validator")
    if not Path(exe).exists():
        raise InputError("gtfs-validator is not installed",
                         fix="pip install gtfs-validator, or use --tool gtfs-guru")
    return exe


def parse_validator_report(report: Mapping[str, Any]) -> list[Finding]:
    """Findings from a gtfs-validator ``report.json`` (one per sample notice)."""
    out = []
    for notice in report.get("notices", []):
        code, severity = str(notice.get("code", "")), str(notice.get("severity", "INFO"))
        samples = notice.get("sampleNotices") or [{}]
        for context in samples:
            out.append(_finding(code, severity, context, code.replace("_", " "),
                                "gtfs-validator"))
    return sorted(out, key=Finding.sort_key)


def run_gtfs_validator(path: str | Path, *, date: str | None = None,
                       timeout_s: float = 900) -> list[Finding]:
    """Findings of ``gtfs-validator -i path -o <tmp>`` (its report.json parsed)."""
    with tempfile.TemporaryDirectory(prefix="gtfs-validator-") as out_dir:
        cmd = [_validator_exe(), "-i", str(path), "-o", out_dir]
        if date:
            cmd += ["-d", date]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s,
                              check=False)
        report_path = Path(out_dir) / "report.json"
        if not report_path.exists():
            raise FeedError(f"gtfs-validator wrote no report (exit {proc.returncode}: "
                            f"{proc.stderr.strip()[-200:]})", where=str(path),
                            fix="check that the path is a GTFS zip or folder")
        report = json.loads(report_path.read_text(encoding="utf-8"))
    return parse_validator_report(report)


def validate_independent(path: str | Path, *, tool: Tool = "gtfs-guru",
                         date: str | None = None) -> list[Finding]:
    """Findings of one independent validator (``"gtfs-guru"`` or ``"gtfs-validator"``)."""
    if tool == "gtfs-guru":
        return run_gtfs_guru(path, date=date)
    if tool == "gtfs-validator":
        return run_gtfs_validator(path, date=date)
    raise InputError(f"unknown validator {tool!r}", fix=f"use one of {', '.join(TOOLS)}")
