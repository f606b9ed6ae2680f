"""Shared helpers of the benchmark harness (see bench/run.py)."""
