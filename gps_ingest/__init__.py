"""Traces in: read every field format, validate, clean with reason codes, split trips."""

#: The trace formats ``--format`` accepts (``auto`` recognises them by content). Kept here,
#: free of heavy imports, so the CLI can show them without loading the readers.
FORMATS = ("auto", "csv", "gpx", "geojson", "transitwand")
