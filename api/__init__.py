"""The edges: the `transit` command line, the FastAPI service and the SQLAlchemy store."""
