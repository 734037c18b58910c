"""Helpers shared by the tests and the benchmarks: real servers, publishers, sinks, a browser."""
