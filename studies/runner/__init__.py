"""The runner: execute a study's runs (execute.py), evaluate each (evaluation.py), build their pieces once (build.py),
run them as cluster jobs (cluster.py), and open a finished run for inference (checkpoints.py)."""
