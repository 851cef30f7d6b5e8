"""Stdlib-only foundation: units, errors, clock, and the shared data contracts."""
