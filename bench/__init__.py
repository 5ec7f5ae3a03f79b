"""Benchmarks, run by `make bench` (never by `make test`): figures beside a same-run baseline."""
