"""Regenerate ``transitwand_pb2.py`` and its type stub from ``transitwand.proto``.

Run from the repository root (needs ``pip install grpcio-tools``, not a project dependency)::

    .venv/bin/python -m gps_ingest.proto.generate

The bundled protoc must not be newer than the installed ``protobuf`` runtime (the generated
module checks this at import). The stub gets a ``# ruff: noqa`` line: it is generated code.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO = "transitwand.proto"


def main() -> int:
    """Run protoc on the .proto beside this file; return its exit status."""
    from grpc_tools import protoc

    status = int(protoc.main([
        "grpc_tools.protoc", f"-I{HERE}", f"--python_out={HERE}", f"--pyi_out={HERE}",
        str(HERE / PROTO),
    ]))
    stub = HERE / "transitwand_pb2.pyi"
    if status == 0 and stub.exists():
        text = stub.read_text(encoding="utf-8")
        if not text.startswith("# ruff: noqa"):
            stub.write_text("# ruff: noqa\n" + text, encoding="utf-8")
    return status


if __name__ == "__main__":
    sys.exit(main())
