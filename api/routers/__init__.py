"""One router per resource; handlers call repository functions and pure functions only."""
