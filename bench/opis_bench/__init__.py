"""Benchmark support: a deterministic synthetic corpus in the formats opis reads.

A development package, not part of opis: it lives under ``bench/`` at the repository root
and is not in the wheel (see docs/performance.md). The scripts in ``bench/`` import it as
``opis_bench`` because ``python bench/<script>.py`` puts ``bench/`` on ``sys.path``; the
tests get the same through pytest's ``pythonpath`` setting. ``python bench/generate.py``
is the command (:mod:`opis_bench.cli`). Nothing is re-exported here, so
``opis_bench.generate`` stays the module and is not shadowed by its ``generate`` function.
"""
