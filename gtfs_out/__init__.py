"""GTFS out and back: write a deterministic feed, read feeds, validate them (findings)."""
