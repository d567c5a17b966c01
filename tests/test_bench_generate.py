"""The synthetic benchmark corpus: same seed same bytes, the archive's schema, streaming,
and every format readable by the opis reader for it. The kit lives in bench/opis_bench/
(not in the wheel); pytest's ``pythonpath`` puts bench/ on the path."""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import sys
import tracemalloc
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from opis.model.dates import to_edtf
from opis.readers.wcda_text import parse
from opis_bench.cli import generate_app
from opis_bench.generate import (
    JSON_FIELDS,
    document,
    generate,
    iter_records,
    json_line,
    synthetic_tei_volume,
    to_wcda_json,
    vocabulary,
)

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parent.parent

SAMPLE = Path(__file__).parent / "data" / "wcda-records.jsonl"
TEI = {"t": "http://www.tei-c.org/ns/1.0"}
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


def digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def jsonl_lines(folder: Path) -> list[dict]:
    return [json.loads(line) for p in sorted(folder.glob("*.jsonl"))
            for line in p.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("fmt", ["jsonl", "text", "tei"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, fmt):
    a = generate(tmp_path / "a", 40, seed=7, fmt=fmt, shard_size=15)
    b = generate(tmp_path / "b", 40, seed=7, fmt=fmt, shard_size=15)
    generate(tmp_path / "c", 40, seed=8, fmt=fmt, shard_size=15)
    assert digests(tmp_path / "a") == digests(tmp_path / "b")
    assert a.files == b.files and a.bytes == b.bytes and a.records == 40
    other = digests(tmp_path / "c")
    assert other.keys() == digests(tmp_path / "a").keys()  # same layout, other content
    assert all(other[k] != v for k, v in digests(tmp_path / "a").items())


def test_a_record_depends_only_on_seed_and_index(tmp_path):
    generate(tmp_path / "all", 30, seed=3, shard_size=100)
    generate(tmp_path / "part", 30, seed=3, shard_size=10)  # other sharding, same records
    assert jsonl_lines(tmp_path / "all") == jsonl_lines(tmp_path / "part")
    assert to_wcda_json(document(3, 17)) == jsonl_lines(tmp_path / "all")[17]
    assert list(islice(iter_records(30, 3, start=17), 1))[0] == to_wcda_json(document(3, 17))


def test_jsonl_lines_have_the_archive_schema(tmp_path):
    generate(tmp_path, 120, seed=2, shard_size=50)
    records = jsonl_lines(tmp_path)
    assert len(records) == 120
    real = json.loads(SAMPLE.read_text(encoding="utf-8").splitlines()[0])
    assert tuple(real) == JSON_FIELDS  # the real scrape's 22 fields, in its order
    strings = {"document_url", "original_publication_date", "title", "text_body", "summary",
               "source", "original_upload_date", "rights", "record_id", "scraped_at"}
    optional_strings = {"credits", "original_classification"}
    lists = {"associated_places", "subjects_discussed", "original_archive_title", "language"}
    optional_lists = {"authors", "associated_people_orgs", "document_contributors", "donors"}
    assert strings | optional_strings | lists | optional_lists | {
        "page_number", "page_position"} == set(JSON_FIELDS)
    seen_null = Counter()
    for i, rec in enumerate(records):
        assert tuple(rec) == JSON_FIELDS
        assert rec["record_id"] == str(1_000_000 + i)
        assert (rec["page_number"], rec["page_position"]) == (i // 10, i % 10 + 1)
        for key in strings:
            assert isinstance(rec[key], str) and rec[key], key
        for key in optional_strings:
            assert rec[key] is None or isinstance(rec[key], str), key
            seen_null[key] += rec[key] is None
        for key in lists | optional_lists:
            value = rec[key]
            if key in optional_lists and value is None:
                seen_null[key] += 1
                continue
            assert isinstance(value, list) and value and all(isinstance(x, str) for x in value)
        assert to_edtf(rec["original_publication_date"]), rec["original_publication_date"]
        year = int(to_edtf(rec["original_publication_date"])[:4])
        assert 1945 <= year <= 1991
        assert 1500 <= len(rec["text_body"]) <= 60_000
        assert rec["document_url"].endswith("/" + rec["record_id"])
        assert "Synthetic" in rec["rights"]
    assert len({r["language"][0] for r in records}) >= 6  # several source languages
    assert any("--Foreign relations--" in s for r in records for s in r["subjects_discussed"])
    assert {"month", "day"} <= {
        "day" if len(to_edtf(r["original_publication_date"])) == 10 else "month"
        for r in records}  # exact and partial dates
    assert all(seen_null[k] for k in ("credits", "original_classification", "donors"))


def test_json_line_is_json_dumps():
    for i in range(40):
        doc = document(11, i)
        assert json_line(doc) == json.dumps(to_wcda_json(doc), ensure_ascii=False)


def test_shards_and_lazy_records(tmp_path):
    report = generate(tmp_path, 25, shard_size=10)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["records-00000.jsonl", "records-00001.jsonl", "records-00002.jsonl"]
    assert [len(p.read_text().splitlines()) for p in sorted(tmp_path.iterdir())] == [10, 10, 5]
    assert report.files == 3 and report.records == 25
    assert report.bytes == sum(p.stat().st_size for p in tmp_path.iterdir())
    assert inspect.isgeneratorfunction(iter_records)
    first = list(islice(iter_records(10**9, seed=1), 5))  # only five are ever made
    assert [r["record_id"] for r in first] == [str(1_000_000 + i) for i in range(5)]


def test_memory_does_not_grow_with_the_number_of_records(tmp_path):
    vocabulary()  # loaded once per process; not part of what a run allocates

    def peak(n: int) -> int:
        tracemalloc.start()
        generate(tmp_path / str(n), n, seed=5, shard_size=n)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    small, large = peak(40), peak(400)
    assert large < small * 1.5 + 1_000_000, (small, large)


def test_text_exports_parse_with_their_apparatus(tmp_path):
    generate(tmp_path, 60, seed=4, fmt="text", shard_size=25)
    files = sorted(tmp_path.rglob("*.txt"))
    assert len(files) == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["text-00000", "text-00001", "text-00002"]
    kinds: Counter[str] = Counter()
    chars = 0
    for path in files:
        record = parse(path, path.read_bytes())
        assert record.id == path.stem
        assert record.title and record.date and record.original_language
        assert record.source_url == f"https://example.org/document/{path.stem}"
        assert record.contents is not None and record.contents.language == "en"
        assert record.check_annotations() == []
        for a in record.annotations:
            assert record.text[a.start:a.end] == a.text
            kinds[a.kind] += 1
        chars += len(record.text)
    for kind in ("romanization", "supplied", "illegible", "sic", "original_term",
                 "handwritten", "gloss", "typed_over", "deleted", "stamp", "head"):
        assert kinds[kind], kind
    marks = sum(n for k, n in kinds.items() if k != "head")
    assert 0.5 < marks / chars * 1000 < 2.0  # about the reference's one per 1,000 characters


def test_text_export_matches_the_json_record(tmp_path):
    doc = document(9, 3)
    generate(tmp_path / "t", 4, seed=9, fmt="text")
    path = tmp_path / "t" / "text-00000" / f"{doc.record_id}.txt"
    record = parse(path, path.read_bytes())
    data = to_wcda_json(doc)
    assert record.title == data["title"]
    assert record.date == to_edtf(data["original_publication_date"])
    assert record.summary == data["summary"]
    assert record.archival_reference is not None
    assert record.archival_reference.text in data["source"]


def _volume_checks(path: Path) -> int:
    tree = etree.parse(str(path))  # raises on anything not well-formed
    ids = [el.get(XML_ID) for el in tree.iter() if el.get(XML_ID)]
    assert len(ids) == len(set(ids))
    assert tree.xpath("//t:list[@type='names']/t:item/t:hi/t:persName", namespaces=TEI)
    assert tree.xpath("//t:list[@type='terms']/t:item/t:hi/t:term", namespaces=TEI)
    known = set(ids)
    for el in tree.xpath("//t:persName[@corresp] | //t:gloss[@target]", namespaces=TEI):
        assert (el.get("corresp") or el.get("target")).lstrip("#") in known
    return len(tree.xpath("//t:div[@type='document']", namespaces=TEI))


def test_tei_volumes_are_well_formed_with_their_documents(tmp_path):
    generate(tmp_path, 35, seed=6, fmt="tei", shard_size=15)
    volumes = sorted(tmp_path.glob("volume-*.xml"))
    assert [p.name for p in volumes] == ["volume-000.xml", "volume-001.xml", "volume-002.xml"]
    assert [_volume_checks(p) for p in volumes] == [15, 15, 5]


def test_synthetic_tei_volume_has_the_size_asked_for(tmp_path):
    path = tmp_path / "big.xml"
    report = synthetic_tei_volume(path, target_bytes=400_000, seed=2)
    assert report.bytes == path.stat().st_size
    assert 300_000 < report.bytes < 500_000
    assert _volume_checks(path) == report.records > 10


def test_tei_volume_reads_with_the_frus_reader(tmp_path):
    tei_frus = pytest.importorskip("opis.readers.tei_frus")
    from opis.model import Record

    generate(tmp_path, 12, seed=1, fmt="tei")
    items = list(tei_frus.read(tmp_path / "volume-000.xml"))
    records = [i for i in items if isinstance(i, Record)]
    assert len(records) == 12
    assert all(r.text and r.date and r.date.startswith(("19",)) for r in records)
    assert any(r.mentions for r in records)


def test_jsonl_reads_with_the_archive_json_reader(tmp_path):
    wcda_json = pytest.importorskip("opis.readers.wcda_json")
    from opis.model import Record

    generate(tmp_path, 30, seed=1, shard_size=30)
    path = tmp_path / "records-00000.jsonl"
    records = [r for r in wcda_json.read(path) if isinstance(r, Record)]
    lines = jsonl_lines(tmp_path)
    assert [r.id for r in records] == [x["record_id"] for x in lines]
    assert [r.text for r in records] == [x["text_body"] for x in lines]
    assert all(r.title and r.original_language for r in records)


def test_cli_generate_prints_the_report(tmp_path):
    result = CliRunner().invoke(generate_app, ["--docs", "12", "--out", str(tmp_path),
                                               "--format", "text", "--shard-size", "5",
                                               "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "records/s" in result.output
    assert len(list(tmp_path.rglob("*.txt"))) == 12
    bad = CliRunner().invoke(generate_app, ["--docs", "1", "--out", str(tmp_path),
                                            "--format", "pdf"])
    assert bad.exit_code != 0


def test_generate_script_runs_from_the_repository_root(tmp_path):
    """``python bench/generate.py`` is the command now that ``opis bench`` is gone."""
    done = subprocess.run(
        [sys.executable, "bench/generate.py", "--docs", "3", "--out", str(tmp_path / "c")],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(jsonl_lines(tmp_path / "c")) == 3
    product = subprocess.run([sys.executable, "-m", "opis", "bench", "--help"], cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert product.returncode != 0 and "No such command" in product.stderr
