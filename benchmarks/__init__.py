"""Benchmarks of geoverify against the tools a GIS analyst would use instead (issue 10).

``python -m benchmarks run [--size town|province|country]`` generates deterministic data, runs
geoverify and each alternative interleaved, and writes ``benchmarks/RESULTS.md``. Nothing here
runs in the test suite: benchmarks measure, tests assert.
"""
