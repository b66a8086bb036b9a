"""The study catalogue: one module per study (`STUDY = Study(...)`), plus the shared profiles. A study is one file
here; it imports only the study language (studies/spec.py) and profiles.py (tests/test_import_rules.py)."""
