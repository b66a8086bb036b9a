"""pytest-benchmark suites (kept out of the default test run) and their report."""
