.PHONY: run test lint format venv

run:  ## the whole system with a live demo on embedded defaults
	bash scripts/run.sh

test:  ## the whole test suite against throwaway PostgreSQL and Redis servers
	bash scripts/test.sh

lint:  ## ruff (lint and format) everywhere, mypy on every app (pyproject.toml)
	bash -c '. scripts/lib.sh && ensure_venv dev'
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

format:
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .
