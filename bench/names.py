"""Retrieval quality for names spelled another way than the documents spell them.

    python bench/names.py [--db URL] [--json out.json]

Builds the packaged sample corpus into a fresh archive (SQLite + Tantivy by default,
or the PostgreSQL URL given) and runs each variant-spelling query below, printing
recall@10 (share of the expected documents in the first ten hits) and mean
reciprocal rank (1 / rank of the first expected document).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from opis.cli import sample_corpus  # noqa: E402
from opis.search.base import SearchRequest  # noqa: E402
from opis.services.archive import Archive  # noqa: E402

REF = {"114165"}
CHIANG = {"300638", "300639", "300640", "300641"}
PEKING = {"300239", "frus1955-57v03-d1", "frus1955-57v03-d10", "frus1955-57v03-d12",
          "frus1955-57v03-d2", "frus1955-57v23p2-d5", "frus1955-57v23p2-d7"}
QUEMOY = {"frus1955-57v03-d2", "frus1955-57v03-d3", "frus1955-57v03-d7", "frus1955-57v03-d9"}
ZHOU = {"frus1955-57v03-d3", "frus1955-57v03-d5", "frus1955-57v03-d9"}

# (query as a historian might type it, documents that name that person or place)
QUERIES: list[tuple[str, set[str]]] = [
    ("Kim Tu-bong", REF), ("Kim Tu Bong", REF), ("Kim Dubong", REF), ("Kim Du Bong", REF),
    ("Ch'oe Ch'ang-ik", REF), ("Choi Chang-ik", REF), ("Choe Changik", REF),
    ("Pak Ch'ang-ok", REF), ("Park Chang-ok", REF), ("Pak Chong-ae", REF),
    ("Pak Chŏng-ae", REF), ("Pak Kŭm-ch'ŏl", REF), ("Pak Kum-chol", REF),
    ("Ch'oe Yong-gŏn", REF), ("Choe Yong-gon", REF), ("Kim Il-sŏng", REF),
    ("Kim Il-sung", REF), ("Kim Ilsung", REF), ("P'eng Te-huai", REF),
    ("Peng Teh-huai", REF), ("Mikoian", REF), ("Mikojan", REF), ("Khrushchov", REF),
    ("Chruschtschow", REF), ("Ponomaryov", REF), ("Beliaev", REF), ("Yi Sang-jo", REF),
    ("Lee Sang-jo", REF), ("Pang Hak-se", REF), ("Ch'ŏngjin", REF), ("Yun Kong-hŭm", REF),
    ("Sŏ Hwi", REF), ("Pak Yŏng-bin", REF), ("Kim Ch'ang-man", REF),
    ("Chou En-lai", ZHOU), ("Zhou Enlai", ZHOU),
    ("Jiang Jingguo", CHIANG), ("Chiang Ching-kuo", CHIANG), ("Chiang Ching-Kuo", CHIANG),
    ("Mao Tse-tung", {"300640"}), ("Teng Hsiao-p'ing", {"300640"}),
    ("Liu Shao-ch'i", {"300640"}), ("Sato Eisaku", {"300638", "300641"}),
    ("Satoh", {"300638", "300641"}), ("Peiping", PEKING), ("Beijing", PEKING),
    ("Jinmen", QUEMOY), ("Chiang Chieh-shih", {"300638"}),
]


def evaluate(archive: Archive) -> tuple[list[dict], float, float]:
    rows = []
    for query, expected in QUERIES:
        hits = [h.id for h in archive.search(SearchRequest(query=query, limit=10)).result.hits]
        found = expected & set(hits)
        rank = next((i for i, h in enumerate(hits, 1) if h in expected), None)
        rows.append({"query": query, "expected": len(expected), "found": len(found),
                     "recall@10": len(found) / len(expected),
                     "rr": 1 / rank if rank else 0.0, "first_hits": hits[:3]})
    recall = sum(r["recall@10"] for r in rows) / len(rows)
    mrr = sum(r["rr"] for r in rows) / len(rows)
    return rows, recall, mrr


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        archive = Archive(args.db or str(Path(tmp) / "names.db"))
        report = archive.ingest([sample_corpus()])
        rows, recall, mrr = evaluate(archive)
        archive.close()
    print(f"{len(report.added) + len(report.unchanged)} records, {len(rows)} queries")
    for r in rows:
        flag = "" if r["recall@10"] == 1 and r["rr"] == 1 else "  <--"
        print(f"{r['query']:22} recall@10 {r['recall@10']:.2f}  rr {r['rr']:.2f}  "
              f"{', '.join(r['first_hits'])}{flag}")
    print(f"\nrecall@10 {recall:.3f}   MRR {mrr:.3f}")
    if args.json:
        args.json.write_text(json.dumps({"recall@10": recall, "mrr": mrr, "queries": rows},
                                        indent=2))


if __name__ == "__main__":
    main()
