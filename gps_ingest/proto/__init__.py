"""Protocol Buffers definitions of field-capture formats and their generated Python modules.

``transitwand.proto`` reproduces the published TransitWand messages (conveyal/transit-wand);
``transitwand_pb2.py``/``.pyi`` are generated from it by ``python -m gps_ingest.proto.generate``
(needs ``grpcio-tools``, a development-only tool) and committed.
"""
