"""Benchmark support: a deterministic synthetic corpus in the formats opis reads.

Speed is measured by the scripts under ``bench/`` at the repository root; this package
only makes their data (``opis.bench.generate``) and the ``opis bench`` command
(``opis.bench.cli``). Nothing is re-exported here, so ``opis.bench.generate`` stays the
module and is not shadowed by its ``generate`` function.
"""
