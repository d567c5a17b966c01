"""Write a deterministic synthetic corpus in a format opis reads.

    python bench/generate.py --docs 10000 --out DIR [--seed 1] [--format jsonl|text|tei]
        [--shard-size 10000]

Same ``--docs`` and ``--seed``, same bytes. The generator is ``opis_bench.generate``
(bench/opis_bench/generate.py); run from the repository root with opis installed.
"""

from opis_bench.cli import main

if __name__ == "__main__":
    main()
