"""Benchmarks, run by `make bench` (`python -m bench`); never timed inside the tests."""
