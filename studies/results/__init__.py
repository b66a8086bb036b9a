"""A study's results: the tables rebuilt from its runs (tables.py, collect.py), the per-item file (per_item.py) and
the statistics (stats.py). The results schema itself is metrics/tables.py's."""
