"""Reader limits: a file over one fails alone, named with its place and the limit, and
the ingest goes on. The attack set of issue 13: a PDF whose stream inflates to 1 GB, a
PNG that claims 10 gigapixels, JSON and YAML nested 900 and 5,000 levels deep, oversized
records, a PDF of more pages than the limit; good records in Cyrillic, Hangul and Hanzi
load beside them."""

from __future__ import annotations

import contextlib
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import psutil
import pytest
from PIL import Image
from typer.testing import CliRunner

from opis.cli import app
from opis.model import Record
from opis.readers import LimitError, Limits, Rejected, read_path
from opis.services.archive import Archive
from paths import DATA, ROOT
from scan_fixtures import DEJAVU, RUSSIAN, page, require_tesseract

GOOD = [
    {"record_id": "good-ru", "title": "Запись беседы с товарищем Нам Иром",
     "text_body": "Совершенно секретно. «Посольство СССР в КНДР» — запись беседы, Ёжиков.",
     "language": ["Russian"]},
    {"record_id": "good-ko", "title": "소련 대사관과의 회담 기록",
     "text_body": "조선민주주의인민공화국 외무성 “회담” 기록, 1956년 12월 28일 평양",
     "language": ["Korean"]},
    {"record_id": "good-zh", "title": "关于朝鲜问题的谈话记录",
     "text_body": "中华人民共和国外交部 ‘谈话’ 记录，Zhōu Ēnlái, Đặng", "language": ["Chinese"]},
]
GOOD_IDS = [g["record_id"] for g in GOOD]


def _deep(levels: int) -> str:
    """A JSON value nested ``levels`` arrays deep (written out: Python's encoder would
    itself give up)."""
    return "[" * levels + "]" * levels


def _deep_line(record_id: str, levels: int) -> str:
    return (f'{{"record_id": "{record_id}", "title": "Глубоко", "text_body": "x", '
            f'"nested": {_deep(levels)}}}')


def _jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _good_lines() -> list[str]:
    return [json.dumps(g, ensure_ascii=False) for g in GOOD]


def _assert_good_stored(archive: Archive) -> None:
    for record_id in GOOD_IDS:
        record = archive.get(record_id)
        assert record is not None, record_id
    assert "«Посольство СССР в КНДР»" in archive.get("good-ru").text
    assert archive.get("good-ko").title == "소련 대사관과의 회담 기록"
    assert "‘谈话’" in archive.get("good-zh").text


# -- deep nesting ------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [900, 5000])
def test_deep_json_line_fails_alone(archive: Archive, tmp_path: Path, levels: int) -> None:
    """Issue 13 #6: one field nested 900 levels deep crashed the whole ingest with a
    RecursionError. 900 levels parse and are refused by the depth check; 5,000 are
    deeper than Python's parser goes and are refused all the same."""
    good = _good_lines()
    path = _jsonl(tmp_path / "deep.jsonl", [good[0], _deep_line("deep", levels), *good[1:]])
    report = archive.ingest([path])
    [failure] = report.failed
    assert failure.path == str(path) and failure.line == 2
    assert failure.limit == "OPIS_MAX_DEPTH"
    assert "nested deeper than the limit of 64 levels" in failure.message
    assert sorted(report.added) == sorted(GOOD_IDS)
    assert archive.get("deep") is None
    _assert_good_stored(archive)


def test_nesting_up_to_the_limit_is_stored(tmp_path: Path) -> None:
    """The record is level 1, so 63 arrays under one field reach the limit of 64 and are
    stored (through the hash, orjson and the database), and 64 are refused."""
    path = _jsonl(tmp_path / "edge.jsonl", [_deep_line("at-limit", 63),
                                            _deep_line("over-limit", 64)])
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([path])
    assert report.added == ["at-limit"]
    [failure] = report.failed
    assert failure.line == 2 and failure.limit == "OPIS_MAX_DEPTH"
    value = archive.get("at-limit").extra["nested"]
    for _ in range(62):
        [value] = value
    assert value == []
    archive.close()


def test_deep_json_array_element_fails_alone(tmp_path: Path) -> None:
    rows = ",\n".join([*_good_lines()[:2], _deep_line("deep", 900), _good_lines()[2]])
    path = tmp_path / "deep.json"
    path.write_text(f"[\n{rows}\n]\n", encoding="utf-8")
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([path])
    [failure] = report.failed
    assert failure.line == 4 and "field 'nested' is nested deeper" in failure.message
    assert sorted(report.added) == sorted(GOOD_IDS)
    _assert_good_stored(archive)
    archive.close()


def test_deep_csv_cell_fails_alone(tmp_path: Path) -> None:
    path = tmp_path / "records.csv"
    lines = ["record_id,title,text_body,subjects_discussed"]
    lines += [f'{g["record_id"]},{g["title"]},"{g["text_body"]}",' for g in GOOD[:2]]
    lines.append(f'deep,Глубоко,x,"{_deep(5000)}"')
    lines.append(f'{GOOD[2]["record_id"]},{GOOD[2]["title"]},"{GOOD[2]["text_body"]}",')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([path])
    [failure] = report.failed
    assert failure.line == 4 and failure.limit == "OPIS_MAX_DEPTH"
    assert "column 'subjects_discussed' is nested deeper" in failure.message
    assert sorted(report.added) == sorted(GOOD_IDS)
    archive.close()


@pytest.mark.parametrize("levels", [900, 5000])
def test_deep_yaml_front_matter_fails_alone(tmp_path: Path, levels: int) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    deep = folder / "deep.md"
    deep.write_text(f"---\ntitle: Глубоко\nnested: {_deep(levels)}\n---\nТекст.\n",
                    encoding="utf-8")
    good = folder / "good.md"
    good.write_text("---\ntitle: 关于朝鲜问题的谈话记录\nid: good-md\n---\n"
                    "조선민주주의인민공화국 «Посольство» ‘谈话’\n", encoding="utf-8")
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([folder])
    [failure] = report.failed
    assert failure.path == str(deep) and failure.line == 3
    assert failure.message.startswith("the front matter is nested deeper than the limit")
    assert report.added == ["good-md"]
    assert archive.get("good-md").text == "조선민주주의인민공화국 «Посольство» ‘谈话’"
    archive.close()


def test_deep_sidecar_fails_its_scan_alone(tmp_path: Path) -> None:
    scan = tmp_path / "scan.png"
    Image.new("L", (50, 50), 255).save(scan)
    (tmp_path / "scan.png.yml").write_text(f"title: x\nnested: {_deep(900)}\n")
    with pytest.raises(LimitError) as raised:
        list(read_path(scan, Limits()))
    assert "the sidecar is nested deeper than the limit of 64 levels" in str(raised.value)


# -- record size -------------------------------------------------------------------------


def test_oversized_records_fail_alone_with_their_line(tmp_path: Path) -> None:
    """A line over the record size is skipped unread; a text, a field or a list over
    its limit refuses that record only, before anything of it is stored."""
    good = _good_lines()
    long_text = json.dumps({"record_id": "long-text", "title": "t", "text_body": "щ" * 5000})
    long_field = json.dumps({"record_id": "long-field", "title": "t", "summary": "요" * 3000})
    many = json.dumps({"record_id": "many", "title": "t", "subjects_discussed":
                       [f"тема {i}" for i in range(300)]})
    huge_line = json.dumps({"record_id": "huge", "title": "t", "text_body": "中" * 400_000},
                           ensure_ascii=False)
    path = _jsonl(tmp_path / "big.jsonl",
                  [good[0], long_text, long_field, good[1], many, huge_line, good[2]])
    limits = Limits(record_mb=1, text_chars=4000, field_chars=2000, annotations=200)
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([path], limits=limits)
    failures = {f.line: f for f in report.failed}
    assert sorted(failures) == [2, 3, 5, 6]
    assert failures[2].limit == "OPIS_MAX_TEXT_CHARS"
    assert "record 'long-text': text is 5,000 characters, over the limit of 4,000" \
        in failures[2].message
    assert failures[3].limit == "OPIS_MAX_FIELD_CHARS"
    assert "field 'summary' is 3,000 characters" in failures[3].message
    assert failures[5].limit == "OPIS_MAX_ANNOTATIONS"
    assert "field 'subjects' has 300 entries" in failures[5].message
    assert failures[6].limit == "OPIS_MAX_RECORD_MB"
    assert "line is 1.1 MB, over the limit of 1 MB" in failures[6].message
    assert sorted(report.added) == sorted(GOOD_IDS)
    _assert_good_stored(archive)
    assert all(archive.get(r) is None for r in ("long-text", "long-field", "many", "huge"))
    report_json = report.to_json()
    assert report_json["limits"]["OPIS_MAX_TEXT_CHARS"] == 4000
    assert {f["limit"] for f in report_json["failures"]} == {
        "OPIS_MAX_TEXT_CHARS", "OPIS_MAX_FIELD_CHARS", "OPIS_MAX_ANNOTATIONS",
        "OPIS_MAX_RECORD_MB"}
    archive.close()


def test_annotation_limit_refuses_a_text_export(tmp_path: Path) -> None:
    """The generic check covers every reader: here the text export's apparatus."""
    limits = Limits(annotations=10)
    [item] = list(read_path(DATA / "wcda_114165.txt", limits))
    assert isinstance(item, Rejected)
    assert item.error.limit == "OPIS_MAX_ANNOTATIONS"
    assert "annotations, over the limit of 10 (set OPIS_MAX_ANNOTATIONS" in item.error.message
    [record] = list(read_path(DATA / "wcda_114165.txt", Limits()))
    assert len(record.annotations) > 10


def test_a_tei_volume_keeps_what_fits(tmp_path: Path) -> None:
    """Documents of a volume over the text limit are refused one by one; the rest and
    the volume's collection (without the refused ones) are stored."""
    volume = DATA / "frus1955-57v03-excerpt.xml"
    lengths = sorted(len(r.text) for r in read_path(volume, Limits())
                     if isinstance(r, Record))
    limit = lengths[len(lengths) // 2]
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([volume], limits=Limits(text_chars=limit))
    refused = [f for f in report.failed if f.limit == "OPIS_MAX_TEXT_CHARS"]
    assert refused and len(refused) == sum(n > limit for n in lengths)
    assert len(report.added) == sum(n <= limit for n in lengths)
    [(collection, size)] = archive.list_collections()
    assert size == len(report.added)
    archive.close()


def test_file_size_limit_names_the_variable(tmp_path: Path) -> None:
    path = _jsonl(tmp_path / "a.jsonl", _good_lines() * 200)
    with pytest.raises(LimitError) as raised:
        list(read_path(path, Limits(file_mb=0.05)))
    assert "over the limit of 0.05 MB (set OPIS_MAX_FILE_MB to change it)" in str(raised.value)


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_env({"OPIS_MAX_DEPTH": "16", "OPIS_MAX_FILE_MB": "1.5",
                              "OPIS_MAX_TEXT_CHARS": "2_000_000"})
    assert (limits.depth, limits.file_mb, limits.text_chars) == (16, 1.5, 2_000_000)
    assert limits.pages == Limits().pages
    for bad in ("0", "-3", "many", "1.5", "inf"):
        with pytest.raises(ValueError, match="OPIS_MAX_PAGES must be a whole number above 0"):
            Limits.from_env({"OPIS_MAX_PAGES": bad})
    with pytest.raises(ValueError, match="OPIS_MAX_FILE_MB must be a number above 0"):
        Limits.from_env({"OPIS_MAX_FILE_MB": "inf"})


def test_cli_refuses_a_bad_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPIS_MAX_DEPTH", "deep")
    result = CliRunner().invoke(app, ["ingest", str(tmp_path), "--db", str(tmp_path / "a.db")])
    assert result.exit_code == 2
    assert "OPIS_MAX_DEPTH must be a whole number above 0, got 'deep'" in result.output


# -- images ------------------------------------------------------------------------------


def _png(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` × ``height`` gray pixels, with almost no data:
    what a decompression bomb looks like to a reader that trusts the header."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))
    return path


def test_image_bomb_fails_alone(tmp_path: Path) -> None:
    """A 100,000 × 100,000 PNG (10 gigapixels, 10 GB decoded) is refused from its header;
    one just over a lowered limit is refused by opis's limit, not Pillow's default."""
    bomb = _png(tmp_path / "bomb.png", 100_000, 100_000)
    over = tmp_path / "over.png"
    Image.new("L", (1200, 1000), 255).save(over)
    good = _jsonl(tmp_path / "good.jsonl", _good_lines())
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([bomb, over, good], limits=Limits(image_megapixels=1))
    failures = {Path(f.path).name: f for f in report.failed}
    assert set(failures) == {"bomb.png", "over.png"}
    assert failures["bomb.png"].message == (
        "image is 10,000.0 megapixels, over the limit of 1 megapixels "
        "(set OPIS_MAX_IMAGE_MEGAPIXELS to change it)")
    assert "is 1.2 megapixels, over the limit of 1 megapixels" in failures["over.png"].message
    assert sorted(report.added) == sorted(GOOD_IDS)
    archive.close()


def test_default_pixel_limit_refuses_the_bomb_and_reads_a_page(tmp_path: Path) -> None:
    require_tesseract("rus")
    folder = tmp_path / "in"
    folder.mkdir()
    bomb = _png(folder / "bomb.png", 100_000, 100_000)
    scan = folder / "scan.png"
    page(RUSSIAN, "ru").save(scan, dpi=(300, 300))
    (folder / "scan.png.yml").write_text("title: Запись беседы\noriginal_language: ru\n",
                                           encoding="utf-8")
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([folder])
    [failure] = report.failed
    assert failure.path == str(bomb) and failure.limit == "OPIS_MAX_IMAGE_MEGAPIXELS"
    assert "over the limit of 100 megapixels" in failure.message
    [record_id] = report.added
    assert "Посольство" in archive.get(record_id).text
    archive.close()


def test_tiff_of_too_many_pages(tmp_path: Path) -> None:
    path = tmp_path / "pages.tif"
    frames = [Image.new("L", (40, 40), 255) for _ in range(3)]
    frames[0].save(path, save_all=True, append_images=frames[1:])
    with pytest.raises(LimitError) as raised:
        list(read_path(path, Limits(pages=2)))
    assert "image has 3 pages, over the limit of 2 pages (set OPIS_MAX_PAGES" in str(raised.value)


# -- PDFs --------------------------------------------------------------------------------


def _raw_pdf(path: Path, objects: list[bytes]) -> Path:
    """A PDF written object by object (object 1 is the catalog), with its xref table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def _stream(data: bytes, entries: bytes = b"") -> bytes:
    return (b"<< /Length %d /Filter /FlateDecode %s>>\nstream\n" % (len(data), entries)
            + data + b"\nendstream")


def _inflating_to(megabytes: int, unit: bytes = b" ") -> bytes:
    """A zlib stream of ``megabytes`` MB of ``unit`` repeated, about 1/1000 of that long,
    made in a second: after a full flush deflate starts afresh, so every megabyte
    compresses to the same block, written once and repeated; the trailer is the
    checksum of the whole."""
    chunk = unit * ((1 << 20) // len(unit))
    deflate = zlib.compressobj(9)
    first = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.flush()[:-4]
    checksum = 1
    for _ in range(megabytes):
        checksum = zlib.adler32(chunk, checksum)
    return first + block * (megabytes - 1) + end + struct.pack(">I", checksum)


def _one_page_pdf(path: Path, content: bytes, resources: bytes = b"",
                  extra: list[bytes] | None = None) -> Path:
    return _raw_pdf(path, [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << " + resources + b" >> >>",
        content, *(extra or []),
    ])


def _text_pdf(path: Path, text: str) -> Path:
    from fpdf import FPDF

    if not DEJAVU.exists():
        pytest.skip("no DejaVu font: apt-get install fonts-dejavu-core")
    doc = FPDF()
    doc.add_font("DejaVu", fname=str(DEJAVU))
    doc.set_font("DejaVu", size=12)
    doc.add_page()
    doc.multi_cell(0, 8, text)
    doc.output(str(path))
    return path


def _peak_rss(pid: int, stop: threading.Event, peak: list[int]) -> None:
    """The largest total resident memory of a process and all its descendants."""
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    while not stop.is_set():
        total = 0
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        for p in processes:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += p.memory_info().rss
        peak[0] = max(peak[0], total)
        time.sleep(0.02)


def test_pdf_bomb_fails_alone_and_memory_stays_bounded(tmp_path: Path) -> None:
    """Issue 13 #5: a small PDF whose content stream inflates to 1 GB took the ingest
    above 11.7 GB and aborted it (exit 134) with no report (this one, before the fix,
    under a 4 GB cap: signal 6 after 37 s, no report). Now PDFs are read in a process
    capped at OPIS_MAX_READER_MEMORY_MB: the bomb ends only that process, is reported
    with its page, and the files after it are stored."""
    folder = tmp_path / "in"
    folder.mkdir()
    # 2 MB of PDF, 1 GB of drawing operators: PDFium keeps an object for each (about
    # 20 bytes of memory for each byte of content), so before this the ingest aborted.
    bomb = _one_page_pdf(folder / "a-bomb.pdf", _stream(_inflating_to(1024, b"0 0 m 1 1 l S\n")))
    assert bomb.stat().st_size < 2_500_000
    text = "Совершенно секретно. «Посольство СССР в КНДР» — запись беседы с Нам Иром."
    _text_pdf(folder / "b-letter.pdf", text)
    _jsonl(folder / "c-good.jsonl", _good_lines())
    report_path = tmp_path / "report.json"
    env = dict(os.environ, OPIS_MAX_READER_MEMORY_MB="1024")
    src = str(ROOT / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "opis", "ingest", str(folder), "--db", str(tmp_path / "a.db"),
         "--report", str(report_path)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_peak_rss, args=(proc.pid, stop, peak))
    sampler.start()
    try:
        out, err = proc.communicate(timeout=300)
    finally:
        stop.set()
        sampler.join()
    print(f"peak memory of the ingest and its workers: {peak[0] / 2**20:.0f} MB")
    assert proc.returncode == 1, err  # finished, with a failure to report
    assert f"failed {bomb}: page 1: ran out of memory, over the limit of 1,024 MB" in out
    assert "OPIS_MAX_READER_MEMORY_MB" in out and "Traceback" not in out + err
    report = json.loads(report_path.read_text())
    assert report["failed"] == 1 and report["added"] == 4
    [failure] = report["failures"]
    assert failure["file"] == str(bomb) and failure["limit"] == "OPIS_MAX_READER_MEMORY_MB"
    assert report["limits"]["OPIS_MAX_READER_MEMORY_MB"] == 1024
    # The capped reader plus the main process and the extraction workers: bounded, far
    # below the 11.7 GB the bomb took before.
    assert peak[0] < (1024 + 1536) * 2**20
    archive = Archive(str(tmp_path / "a.db"))
    _assert_good_stored(archive)
    [letter] = [r for r in report["records"]["added"] if r not in GOOD_IDS]
    assert "«Посольство СССР в КНДР»" in archive.get(letter).text
    archive.close()


def test_pdf_of_more_pages_than_the_limit(tmp_path: Path) -> None:
    """2,001 pages (the default limit is 2,000) are refused before any page is parsed."""
    pages = 2001
    kids = b" ".join(b"%d 0 R" % (4 + i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % pages,
               _stream(zlib.compress(b"BT ET"))]
    objects += [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>"
                ] * pages
    path = _raw_pdf(tmp_path / "long.pdf", objects)
    good = _jsonl(tmp_path / "good.jsonl", _good_lines())
    archive = Archive(str(tmp_path / "a.db"))
    report = archive.ingest([path, good])
    [failure] = report.failed
    assert failure.message == ("PDF has 2,001 pages, over the limit of 2,000 pages "
                               "(set OPIS_MAX_PAGES to change it)")
    assert sorted(report.added) == sorted(GOOD_IDS)
    archive.close()


def test_pdf_page_embedding_a_huge_image_is_refused_before_rendering(tmp_path: Path) -> None:
    """An image XObject that claims 50,000 × 50,000 pixels (2.5 GB decoded) on a page
    with no text layer, which would be rendered for OCR: refused from its size."""
    image = _stream(zlib.compress(b"\0" * 4096),
                    b"/Type /XObject /Subtype /Image /Width 50000 /Height 50000 "
                    b"/ColorSpace /DeviceGray /BitsPerComponent 8 ")
    path = _one_page_pdf(tmp_path / "image.pdf", _stream(zlib.compress(
        b"q 612 0 0 792 0 0 cm /Im1 Do Q")), b"/XObject << /Im1 5 0 R >>", [image])
    with pytest.raises(LimitError) as raised:
        list(read_path(path, Limits()))
    assert getattr(raised.value, "limit", None) == "OPIS_MAX_IMAGE_MEGAPIXELS"
    assert ("page 1 embeds an image of 50,000 × 50,000 pixels (2,500.0 megapixels), over "
            "the limit of 100 megapixels") in str(raised.value)
