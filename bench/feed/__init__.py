"""Feed benchmark: writer, validators, simulator, accuracy (python -m bench.feed)."""
