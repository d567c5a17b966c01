"""Bulk export of the archive (or of a search result) and lossless import of opis's JSONL.

``jsonl`` is opis's own format: one JSON object per line, each with a ``type``, read
back by ``import_archive`` into an empty database that is then the same archive:
records with their ids, status, timestamps, versions and content hashes, their
annotations and mentions, the authority file with every spelling, the glossary,
collections in their order, every revision and the audit log. Accounts (users with
their password hashes, API token hashes) travel only when asked for. Login failures,
server settings (the session signing key) and the search index never do: the first two
belong to one server, the index is rebuilt from the records.

Lines are written with sorted keys and no spaces, and rows in a fixed order, so exporting
the same archive twice gives the same bytes; a round trip through ``import_archive`` is
checked that way in the tests.

``csv``, ``ris`` and ``tei`` are for people and other tools: published records only. A
``tei`` export to a path ending in ``.xml`` is one teiCorpus; to any other path, a folder
with one TEI file per record.
"""

from __future__ import annotations

import csv
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

from lxml import etree

from opis.model import Record
from opis.search.base import SearchRequest, repository_of
from opis.services.archive import Archive
from opis.services.export.mapping import ExportContext
from opis.services.export.ris import to_ris
from opis.services.export.tei import TEI_NS, to_tei_element
from opis.store import archive_lines as lines
from opis.store import archive_load, dumps
from opis.store.archive_lines import BulkError, BulkReport
from opis.store.dumps import OLD_JSONL_MAGIC, BackupError

FORMATS = ("jsonl", "csv", "tei", "ris")
MAGIC = "opis-export"
VERSION = 1
PUBLISHED = "published"
CSV_COLUMNS = (
    "id", "title", "date", "authors", "summary", "original_language", "text_language",
    "classification", "document_number", "repository", "archival_reference", "fond", "opis",
    "delo", "folios", "contributors", "subjects", "places", "people", "organizations",
    "citation", "source_url", "rights", "opis_url",
)
_CHUNK = 500


# -- small conversions ---------------------------------------------------------------------

@contextmanager
def _atomic(path: Path, newline: str | None = None) -> Iterator[TextIO]:
    """Write beside ``path`` and move into place only when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        with tmp.open("x", encoding="utf-8", newline=newline) as f:  # the umask's mode
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def search_ids(archive: Archive, query: str) -> list[str]:
    """Every record a search finds, in the order the search ranks them."""
    ids: list[str] = []
    offset, page = 0, 1000
    while True:
        timed = archive.search(SearchRequest(query=query, limit=page, offset=offset,
                                             facets=False))
        ids.extend(h.id for h in timed.result.hits)
        offset += page
        if offset >= timed.result.total or not timed.result.hits:
            return list(dict.fromkeys(ids))


# -- export --------------------------------------------------------------------------------

def export_archive(archive: Archive, fmt: str, out: Path, *, query: str | None = None,
                   include_accounts: bool = False, site: str | None = None) -> BulkReport:
    """Write the whole archive, or the records a search finds, to ``out``. ``site``: the
    archive's public address (``OPIS_BASE_URL``); with it, each CSV row, RIS entry and
    TEI file names the record's opis page and today as the access date, as the site's
    own per-document exports do."""
    if fmt not in FORMATS:
        raise BulkError(f"unknown export format {fmt!r}; use one of: {', '.join(FORMATS)}")
    ids = search_ids(archive, query) if query else None
    report = BulkReport(fmt, out)
    if fmt == "jsonl":
        with _atomic(out) as f, lines.snapshot(archive.db) as session:
            lines.write(session, f, report, ids, query, include_accounts)
        return report
    with lines.snapshot(archive.db) as session:
        records = lines.published(session, ids)
        where = _Pages(site)
        if fmt == "csv":
            with _atomic(out, newline="") as f:
                _write_csv(records, f, report, where)
        elif fmt == "ris":
            with _atomic(out) as f:
                for record in records:
                    f.write(to_ris(record, where.context(record)).rstrip("\n") + "\n\n")
                    report.add("records")
        elif out.suffix.lower() != ".xml":
            _write_tei_folder(records, out, report, where)
        else:
            with _atomic(out) as f:
                _write_tei_corpus(records, f, report, query, where)
    return report


@dataclass(frozen=True)
class _Pages:
    """Where each record's opis page is, when the archive's address is known."""

    site: str | None

    def url(self, record: Record) -> str | None:
        if not self.site:
            return None
        return f"{self.site.rstrip('/')}/document/{quote(record.id, safe='')}"

    def context(self, record: Record) -> ExportContext | None:
        url = self.url(record)
        return ExportContext(url=url, accessed=date.today()) if url else None


def _joined(values: Iterable[str | None]) -> str:
    return "; ".join(v for v in values if v)


def csv_row(record: Record, opis_url: str | None = None) -> list[str]:
    """One spreadsheet row: the fields people sort and filter on (lists joined by "; ")."""
    ref = record.archival_reference
    values: dict[str, str | None] = {
        "id": record.id, "title": record.title, "date": record.date,
        "authors": _joined(a.name for a in record.authors), "summary": record.summary,
        "original_language": record.original_language,
        "text_language": record.contents.language if record.contents else None,
        "classification": record.classification, "document_number": record.document_number,
        "repository": repository_of(record), "archival_reference": ref.text if ref else None,
        "fond": ref.fond if ref else None, "opis": ref.opis if ref else None,
        "delo": ref.delo if ref else None, "folios": ref.folios if ref else None,
        "contributors": _joined(f"{c.role}: {c.name}" for c in record.contributors),
        "subjects": _joined(record.subjects), "places": _joined(record.places),
        "people": _joined(record.people), "organizations": _joined(record.organizations),
        "citation": record.citation, "source_url": record.source_url, "rights": record.rights,
        "opis_url": opis_url,
    }
    return [neutralized(values[c] or "") for c in CSV_COLUMNS]


# A cell a spreadsheet would run as a formula (OWASP's list: = + - @, tab, carriage
# return). A record's fields come from donors and editors, so such a cell gets a "'"
# in front, which spreadsheets show as text and hide; a plain number is left alone.
# (defusedcsv does the same for = + - @ | % but not tab or CR, and rewrites "|".)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?\d[\d,.]*")


def neutralized(cell: str) -> str:
    """``cell`` as a spreadsheet will only ever show it: "=HYPERLINK(...)" -> "'=HYPERLINK(...)"."""
    if cell.startswith(_FORMULA_START) and not _NUMBER.fullmatch(cell):
        return "'" + cell
    return cell


def _write_csv(records: Iterable[Record], f: TextIO, report: BulkReport,
               where: _Pages) -> None:
    writer = csv.writer(f)
    writer.writerow(CSV_COLUMNS)
    for record in records:
        writer.writerow(csv_row(record, where.url(record)))
        report.add("records")


def _write_tei_corpus(records: Iterable[Record], f: TextIO, report: BulkReport,
                      query: str | None, where: _Pages) -> None:
    def t(tag: str) -> str:
        return f"{{{TEI_NS}}}{tag}"

    corpus = etree.Element(t("teiCorpus"), nsmap={None: TEI_NS})
    header = etree.SubElement(corpus, t("teiHeader"))
    file_desc = etree.SubElement(header, t("fileDesc"))
    title = "opis archive" + (f": records found by “{query}”" if query else "")
    etree.SubElement(etree.SubElement(file_desc, t("titleStmt")), t("title")).text = title
    pub = etree.SubElement(file_desc, t("publicationStmt"))
    etree.SubElement(pub, t("publisher")).text = "opis"
    etree.SubElement(pub, t("date"), when=datetime.now(UTC).date().isoformat())
    etree.SubElement(etree.SubElement(file_desc, t("sourceDesc")), t("p")).text = (
        "Exported from opis; each TEI element below is one record.")
    n = 0
    for record in records:
        # its xml:ids carry the record id: unique
        corpus.append(to_tei_element(record, context=where.context(record)))
        report.add("records")
        n += 1
    if n == 0:
        raise BulkError("no published record to export: a teiCorpus needs at least one")
    f.write(etree.tostring(corpus, xml_declaration=True, encoding="UTF-8",
                           pretty_print=True).decode("utf-8"))


def _write_tei_folder(records: Iterable[Record], out: Path, report: BulkReport,
                      where: _Pages) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for record in records:
        name = quote(record.id, safe="") + ".tei.xml"
        body = etree.tostring(to_tei_element(record, context=where.context(record)),
                              xml_declaration=True, encoding="UTF-8", pretty_print=True)
        (out / name).write_bytes(body)
        report.add("records")


def import_archive(archive: Archive, path: Path, *, merge: bool = False,
                   progress: Callable[[int], None] | None = None) -> BulkReport:
    """Load an opis JSONL export in one transaction (all or nothing), then rebuild the
    search index. Refuses a database with records or entities in it unless ``merge``,
    which adds what is missing and keeps what is there."""
    if not path.is_file():
        raise BulkError(f"no file at {path}")
    report = BulkReport("jsonl", path)
    with path.open("rb") as f:
        first = f.readline(4096)
    if OLD_JSONL_MAGIC.encode() in first:
        return _import_old_backup(archive, path, merge, report)
    try:
        # The archive's write lock and one transaction, nothing staged; the index is
        # rebuilt through the unit of work after the commit (a crash in between: the
        # record count differs, and the next open rebuilds).
        with archive.writes.lock, archive.db.transaction() as session, \
                path.open(encoding="utf-8") as f:
            if not merge and not archive_load.is_empty(session):
                raise BulkError("the database is not empty: import into a new database, or "
                                "pass --merge to add what is missing and keep what is there")
            archive_load.load(session, f, path, merge, report, progress)
    except UnicodeDecodeError as e:
        raise BulkError(f"{path} is not UTF-8 text ({e.reason})") from None
    report.indexed = archive.reindex()
    return report


def _import_old_backup(archive: Archive, path: Path, merge: bool,
                       report: BulkReport) -> BulkReport:
    """A JSON Lines backup of an opis from before the one archive format holds every
    table row for row, accounts included: it can only fill an archive with nothing in
    it, not even an account, or it would replace what is there."""
    with archive.writes.lock:
        with archive.db.primary_sessions() as session:
            empty = archive_load.is_empty(session, accounts=True)
        if merge or not empty:
            raise BulkError(f"{path} is a backup of an older opis (opis-backup), which "
                            "replaces a whole archive: import it into a new database "
                            "without --merge, or use 'opis restore'")
        try:
            dumps.jsonl_restore(archive.db, path)
        except BackupError as e:
            raise BulkError(str(e)) from None
    report.add("backup tables")
    report.indexed = archive.reindex()
    return report


__all__ = ["FORMATS", "BulkError", "BulkReport", "csv_row", "neutralized", "export_archive",
           "import_archive", "search_ids"]
