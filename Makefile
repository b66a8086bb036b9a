# ganbench: every target creates .venv and installs the project into it when missing.
PY      := .venv/bin/python
VENV    := .venv/.installed
PROFILE ?= quick
STUDY   ?= ablation_patchgan
RUNS    ?= runs

.PHONY: run test dashboard bench bench-check lint format clean

$(VENV): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q -e ".[dev]" -c constraints.txt
	touch $(VENV)

run: $(VENV)
	$(PY) -m studies.run $(STUDY) --profile $(PROFILE)

test: $(VENV)
	$(PY) -m pytest -q
	$(PY) -m pytest -q --doctest-modules metrics

dashboard: $(VENV)
	$(PY) -m streamlit run dashboard/app.py --server.headless true --browser.gatherUsageStats false -- --runs $(RUNS)

bench: $(VENV)
	mkdir -p runs/bench
	$(PY) -m pytest bench --benchmark-json=runs/bench/benchmark.json
	$(PY) -m bench.report runs/bench/benchmark.json --out runs/bench/results.csv

bench-check: $(VENV)
	$(PY) -m pytest bench --benchmark-disable -q -p no:cacheprovider

lint: $(VENV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf .venv runs .pytest_cache .ruff_cache
