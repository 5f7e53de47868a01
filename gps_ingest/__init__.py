"""Traces in: read every field format, validate, clean with reason codes, split trips."""
