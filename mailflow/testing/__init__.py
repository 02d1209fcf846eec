"""Helpers for tests, benchmarks and the demo: never imported by the product
(except the demo command)."""
