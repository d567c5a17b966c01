"""Precision and recall of person mentions against hand-made gold lists.

    python bench/entities.py [--json out.json]

Each gold file in bench/gold/ names a record and its person mentions as character
spans of the record's text. A predicted mention counts when its span equals a gold
span. Two figures per record: the extractor alone (rules + gazetteer), and the
ingest pipeline, where links a source made itself (FRUS persName) come first and
extracted names fill in around them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opis.enrich.entities import extract  # noqa: E402
from opis.model import Record  # noqa: E402
from opis.readers import read_path  # noqa: E402

GOLD = Path(__file__).parent / "gold"


def load_record(source: str, record_id: str) -> Record:
    for item in read_path(ROOT / source):
        if isinstance(item, Record) and item.id == record_id:
            return item
    raise SystemExit(f"record {record_id} not found in {source}")


def extracted(record: Record) -> set[tuple[int, int]]:
    return {(c.start, c.end) for c in extract(record) if c.field == "text" and c.kind == "person"}


def pipeline(record: Record) -> set[tuple[int, int]]:
    """Source links to persons first, then extracted names that do not overlap them."""
    linked = {(m.start, m.end) for m in record.mentions
              if m.field == "text" and "/p_" in m.entity_id}
    out = set(linked)
    for s, e in extracted(record):
        if not any(s < le and ls < e for ls, le in linked):
            out.add((s, e))
    return out


def score(predicted: set, gold: set) -> tuple[float, float, int, int, int]:
    tp = len(predicted & gold)
    p = tp / len(predicted) if predicted else 1.0
    r = tp / len(gold) if gold else 1.0
    return p, r, tp, len(predicted) - tp, len(gold) - tp


def measure() -> list[dict]:
    rows = []
    for path in sorted(GOLD.glob("persons-*.json")):
        gold_doc = json.loads(path.read_text(encoding="utf-8"))
        record = load_record(gold_doc["source"], gold_doc["record"])
        gold = {(m["start"], m["end"]) for m in gold_doc["mentions"]}
        for m in gold_doc["mentions"]:
            assert record.text[m["start"]:m["end"]] == m["text"], (path, m)
        for method, predicted in (("extractor", extracted(record)),
                                  ("pipeline", pipeline(record))):
            p, r, tp, fp, fn = score(predicted, gold)
            rows.append({"record": record.id, "method": method, "gold": len(gold),
                         "precision": round(p, 3), "recall": round(r, 3),
                         "tp": tp, "fp": fp, "fn": fn})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    rows = measure()
    print(f"{'record':28} {'method':10} {'gold':>5} {'P':>6} {'R':>6} {'fp':>4} {'fn':>4}")
    for r in rows:
        print(f"{r['record']:28} {r['method']:10} {r['gold']:5d} {r['precision']:6.3f} "
              f"{r['recall']:6.3f} {r['fp']:4d} {r['fn']:4d}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
