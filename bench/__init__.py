"""`make bench`: our tile server against clodius 0.20.4 (see docs/performance.md)."""
