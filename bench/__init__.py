"""Benchmarks: run each from the repo root as a module, e.g. `.venv/bin/python -m bench.answer`.

Shared set-up (paths, ports, processes) is in bench/common.py; results go to bench/results/.
"""
