"""Precision and recall of linked person mentions against hand-made gold lists.

    python bench/linking.py [--json out.json]

bench/entities.py asks whether the extractor found a name's span; this asks what a
historian sees: whether each person mention on the page links to the right person.
Each ``bench/gold/links-*.json`` names a record, its source file and every person
mention in its text with the person meant. The sources are ingested into a fresh
archive (the whole pipeline: FRUS links, persons lists, extraction, linking), and a
stored person mention counts as right when it overlaps a gold mention and its entity
is that person (by preferred name or a variant, diacritics aside; an entity named by
the surname alone counts when the surname is the person's).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opis.services.archive import Archive  # noqa: E402

GOLD = Path(__file__).parent / "gold"


def fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text.lower())
                   if not unicodedata.combining(c))


def same_person(entity, person: str) -> bool:  # noqa: ANN001 - an opis Entity
    names = {fold(entity.preferred), *(fold(v) for v in entity.variants)}
    if fold(person) in names:
        return True
    return " " not in entity.preferred and fold(entity.preferred) == fold(person.split()[-1])


def measure(archive: Archive, golds: list[dict]) -> list[dict]:
    rows = []
    for gold in golds:
        record = archive.get(gold["record"])
        if record is None:
            raise SystemExit(f"record {gold['record']} was not ingested from {gold['source']}")
        for m in gold["mentions"]:
            assert record.text[m["start"]:m["end"]] == m["text"], (gold["record"], m)
        ents = archive.entities(m.entity_id for m in record.mentions)
        predicted = [m for m in record.mentions if m.field == "text"
                     and ents.get(m.entity_id) and ents[m.entity_id].kind == "person"]
        right, found = 0, set()
        for p in predicted:
            hit = next((i for i, g in enumerate(gold["mentions"])
                        if p.start < g["end"] and g["start"] < p.end
                        and same_person(ents[p.entity_id], g["person"])), None)
            if hit is not None:
                right += 1
                found.add(hit)
        n = len(gold["mentions"])
        rows.append({"record": gold["record"], "gold": n, "linked": len(predicted),
                     "right": right,
                     "precision": round(right / len(predicted), 3) if predicted else 1.0,
                     "recall": round(len(found) / n, 3) if n else 1.0})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    golds = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(GOLD.glob("links-*.json"))]
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(str(Path(tmp) / "opis.db"))
        try:
            report = archive.ingest(sorted({ROOT / g["source"] for g in golds}))
            if not report.ok:
                raise SystemExit(f"ingest failed: {report.failed}")
            rows = measure(archive, golds)
        finally:
            archive.close()
    print(f"{'record':24} {'gold':>5} {'linked':>6} {'right':>5} {'P':>6} {'R':>6}")
    for r in rows:
        print(f"{r['record']:24} {r['gold']:5d} {r['linked']:6d} {r['right']:5d} "
              f"{r['precision']:6.3f} {r['recall']:6.3f}")
    gold = sum(r["gold"] for r in rows)
    linked = sum(r["linked"] for r in rows)
    right = sum(r["right"] for r in rows)
    found = sum(round(r["recall"] * r["gold"]) for r in rows)
    print(f"{'all':24} {gold:5d} {linked:6d} {right:5d} {right / max(1, linked):6.3f} "
          f"{found / max(1, gold):6.3f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
