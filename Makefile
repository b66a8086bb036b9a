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

# bench-check (CI) runs every benchmark function once, untimed, at its cheaper sizes: the 256 px cases,
# torch.compile and the ProGAN / pix2pixHD / SPADE steps take over an hour on a 2-core CPU without native bf16
# (the fast path's autocast is emulated there); `make bench` times them all, `make bench-check BENCH_CHECK=` runs them.
BENCH_CHECK ?= not compile and not -256- and not progan and not pix2pixhd and not spade

bench-check: $(VENV)
	$(PY) -m pytest bench --benchmark-disable -q -p no:cacheprovider -k "$(BENCH_CHECK)"

lint: $(VENV)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf .venv runs .pytest_cache .ruff_cache
