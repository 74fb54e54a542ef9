# The course's two commands: `make lab` (open the lessons) and `make test` (run the whole suite).
# Every target builds the environment in .venv first when it is missing or out of date.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
READY  := $(VENV)/.ready

# nbgrader runs `alembic` from the environment's bin when it creates a gradebook.
export PATH := $(abspath $(BIN)):$(PATH)
LESSONS := $(sort $(notdir $(wildcard solutions/*)))
# Jupyter refuses to run as root unless told it may (containers, CI machines).
AS_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)
# JupyterLab's port (it moves to the next free one when taken), the folder it shows, and any
# further options.
LAB_PORT ?= 8888
LAB_ROOT ?= lessons
LAB_ARGS ?=
# pytest workers: one per core unless JOBS is given.
JOBS ?= auto

# `make grade`: which lesson, and the folder (or LMS zip) of submissions to collect first (optional).
LESSON      ?= 02_perceptron
SUBMISSIONS ?=
GRADE_ARGS  ?=

.PHONY: help setup lab formgrader test nbval release validate grade bench strip clean

help:
	@echo "make lab        set up .venv and open JupyterLab on lessons/ (http://127.0.0.1:8888)"
	@echo "make formgrader set up .venv and open JupyterLab on nbgrader's Formgrader (instructors)"
	@echo "make test       set up .venv and run the whole test suite"
	@echo "make nbval      set up .venv and execute every solution notebook with nbval (errors fail)"
	@echo "make release    regenerate lessons/ from solutions/ with nbgrader"
	@echo "make validate   nbgrader-validate every solution notebook"
	@echo "make grade      grade LESSON's submissions (SUBMISSIONS=folder or .zip), sandboxed, in parallel"
	@echo "make bench      print performance tables: notebooks, import nnlab, numpy vs torch, GPU, grading, judged test cells"
	@echo "make strip      remove outputs from the solution notebooks (then run make release)"
	@echo "make clean      remove .venv, caches and the class-run folder .course/"

setup: $(READY)

# pip picks torch==2.13.0 from a local CPU build where the machine ships one, and the
# normal wheel for the platform everywhere else (see pyproject.toml).
$(READY): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[lab,test]"
	touch $@

lab: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir=$(LAB_ROOT) $(AS_ROOT) $(LAB_ARGS)

# The Formgrader only works in a server rooted at the course folder (this one), not at lessons/.
formgrader: setup
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir=. --LabApp.default_url=/formgrader $(AS_ROOT) $(LAB_ARGS)

test: setup
	$(BIN)/python -m pytest -n $(JOBS) --dist loadfile --durations=10

# The notebooks alone, as a fork's lighter CI job runs them; `make test` executes each solution
# already (under plain nbgrader, in tests/test_lesson_grading.py), so it does not run this too.
nbval: setup
	$(BIN)/python -m pytest -n $(JOBS) solutions

release: setup
	$(BIN)/nbgrader generate_assignment "*" --force --log-level=WARN

validate: setup
	for lesson in $(LESSONS); do \
		$(BIN)/nbgrader validate solutions/$$lesson/$$lesson.ipynb || exit 1; \
	done

grade: setup
	$(BIN)/python -m autograder grade $(LESSON) $(SUBMISSIONS) $(GRADE_ARGS)

# `make bench`: performance figures, printed as tables; each script's docstring says what it measures.
# The grading benchmark grades a generated class of BENCH_STUDENTS three times (about 30 s a student
# on 2 cores); the CUDA comparison prints "no CUDA GPU: skipped" where torch sees none.
BENCH_STUDENTS ?= 8

bench: setup
	$(BIN)/python benchmarks/notebooks.py
	$(BIN)/python benchmarks/backends.py
	$(BIN)/python benchmarks/gpu.py
	$(BIN)/python benchmarks/grading.py --students $(BENCH_STUDENTS)
	$(BIN)/python benchmarks/judge_cells.py

strip: setup
	$(BIN)/jupyter nbconvert --clear-output --inplace --log-level=WARN solutions/*/*.ipynb

clean:
	rm -rf $(VENV) .course .pytest_cache src/*.egg-info
