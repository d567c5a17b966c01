"""Search latency on one synthetic corpus: opis vs a bare Tantivy index vs SQLite FTS5
served by Datasette.

    python bench/search_compare.py --docs 10000 --json results.json

In one run it generates ``--docs`` records (JSON Lines, opis_bench.generate), then builds

  (a) a bare Tantivy index (the ``tantivy`` package; BM25 over title, summary and text;
      no opis code) and queries it in-process;
  (b) an SQLite FTS5 table (external content, the layout Datasette detects) served by
      ``datasette serve`` on a free loopback port, queried over its JSON API:
      ``/<db>/records.json?_search=...&_searchmode=raw`` (Datasette's table search; it
      does not rank, rows come in rowid order, i.e. with ``_sort`` off) and, ranked by
      FTS5's BM25, ``/<db>.json?sql=... ORDER BY rank``;
  (c) opis: ``Archive.ingest`` then ``Archive.search`` in-process, with the request the
      search page makes (:func:`opis_request`: 20 hits and the facets).

Query kinds: single terms, phrases, boolean (AND/OR/NOT), name variants (a person
spelled in another romanization than most documents use), and facet-filtered (a term
within one original language). ``--queries`` of each kind (200 by default), the same
for every engine. Prints p50/p95/p99 per kind and engine, mean hits, and the ratios
opis/Datasette and opis/Tantivy; ``--json`` writes all figures. Only 127.0.0.1 is used.

Datasette latencies include its HTTP round trip (keep-alive connection); opis and Tantivy
are called in-process. Hit counts differ by design: Tantivy and opis stem English words,
FTS5's unicode61 tokenizer does not stem but folds diacritics (so "Il-sŏng" matches
"Il-song").
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import os
import platform
import random
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from opis_bench.generate import generate, vocabulary

KINDS = ("term", "phrase", "boolean", "variant", "facet")
LANGUAGES = {"Russian": "ru", "Chinese": "zh", "Korean": "ko", "German": "de",
             "English": "en", "Japanese": "ja", "Polish": "pl", "Hungarian": "hu"}
LIMIT = 20
TEXT_FIELDS = ["title", "summary", "text"]


# -- queries ------------------------------------------------------------------------------------


@dataclass
class Query:
    """One query, written once and said in each engine's syntax."""

    kind: str
    words: list[str]  # a term, or the words of a phrase or name
    op: str | None = None  # AND, OR, NOT between words[0] and words[1] (boolean)
    language: str | None = None  # facet: the original language's name

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def opis(self) -> str:
        if self.op:
            return f'"{self.words[0]}" {self.op} "{self.words[1]}"'
        return f'"{self.text}"'

    def tantivy(self) -> str:
        if self.op == "AND":
            return f'+"{self.words[0]}" +"{self.words[1]}"'
        if self.op == "OR":
            return f'"{self.words[0]}" OR "{self.words[1]}"'
        if self.op == "NOT":
            return f'+"{self.words[0]}" -"{self.words[1]}"'
        return f'"{self.text}"'

    def fts5(self) -> str:
        if self.op:
            return f'"{self.words[0]}" {self.op} "{self.words[1]}"'
        return f'"{self.text}"'


def build_queries(per_kind: int, seed: int) -> dict[str, list[Query]]:
    """The same queries for every engine, from the generator's own vocabulary."""
    rng = random.Random(seed)
    v = vocabulary()
    singles: list[str] = []
    phrases: list[list[str]] = []
    for name in ("ECON", "POL", "PROB", "MIL", "GROUP", "ISSUE", "BODY"):
        for item in v.tables[name][0]:
            words = [w for w in item.split() if w not in ("the", "of", "and", "a", "in")]
            if len(item.split()) == 1:
                singles.append(item)
            elif 2 <= len(item.split()) <= 4:
                phrases.append(item.split())
            singles += [w for w in words if len(w) > 4 and w.isalpha()]
    for variants in (x for pl in v.places.values() for x in pl):
        singles += [p for p in variants if p.isalpha()]
    singles += [p.surname for p in v.people if p.surname.isalpha()]
    singles = sorted(set(singles))
    variant_names = [(p.variants[k]) for p in v.people for k in range(1, len(p.variants))]
    queries: dict[str, list[Query]] = {k: [] for k in KINDS}
    for _ in range(per_kind):
        queries["term"].append(Query("term", [rng.choice(singles)]))
        queries["phrase"].append(Query("phrase", rng.choice(phrases)))
        queries["boolean"].append(Query("boolean", rng.sample(singles, 2),
                                        op=rng.choice(("AND", "OR", "NOT"))))
        queries["variant"].append(Query("variant", rng.choice(variant_names).split()))
        queries["facet"].append(Query("facet", [rng.choice(singles)],
                                      language=rng.choice(sorted(LANGUAGES))))
    return queries


def read_corpus(folder: Path) -> Iterator[dict[str, Any]]:
    for path in sorted(folder.glob("*.jsonl")):
        with path.open(encoding="utf-8") as f:
            for line in f:
                yield json.loads(line)


# -- engines ------------------------------------------------------------------------------------


@dataclass
class Engine:
    name: str
    run: Callable[[Query], int]  # answers a query, returns its total hits
    build_seconds: float
    note: str = ""
    close: Callable[[], None] = field(default=lambda: None)
    bytes: int | None = None  # on disk: the index, or the database it lives in
    reused: bool = False  # opened from an earlier run instead of built


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path`` (a file's own size if it is one)."""
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _built(marker: Path, docs: int) -> float | None:
    """The build seconds a marker recorded for ``docs`` records, or None: a build that
    did not finish leaves no marker, so it is never mistaken for a complete one."""
    try:
        data = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return float(data["seconds"]) if data.get("docs") == docs else None


def _mark(marker: Path, docs: int, seconds: float) -> None:
    marker.write_text(json.dumps({"docs": docs, "seconds": round(seconds, 2)}) + "\n")


def tantivy_engine(corpus: Path, work: Path, reuse: bool = False,
                   docs: int | None = None) -> Engine:
    """(a) A bare Tantivy index: no opis code, BM25 over title, summary and text.

    With ``reuse`` and a finished index of ``docs`` records in ``work``, it is opened
    instead of built (a 1M-record build takes the better part of an hour); the build
    time reported is then the first build's."""
    started = time.perf_counter()
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    for name in TEXT_FIELDS:
        sb.add_text_field(name, stored=name == "title", tokenizer_name="en_stem")
    sb.add_text_field("lang", stored=False, tokenizer_name="raw", fast=True)
    schema = sb.build()
    folder, marker = work / "tantivy", work / "tantivy.done"
    previous = _built(marker, docs) if reuse and docs is not None else None
    if previous is None:
        marker.unlink(missing_ok=True)
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir(parents=True)
        index = tantivy.Index(schema, path=str(folder))
        writer = index.writer(256_000_000, 1)
        for rec in read_corpus(corpus):
            writer.add_document(tantivy.Document(
                id=rec["record_id"], title=rec["title"], summary=rec["summary"] or "",
                text=rec["text_body"], lang=LANGUAGES.get(rec["language"][0], "")))
        writer.commit()
        writer.wait_merging_threads()
        if docs is not None:
            _mark(marker, docs, time.perf_counter() - started)
    else:
        index = tantivy.Index(schema, path=str(folder), reuse=True)
    index.reload()
    searcher = index.searcher()

    def run(q: Query) -> int:
        query = index.parse_query(q.tantivy(), TEXT_FIELDS)
        if q.language:
            query = tantivy.Query.boolean_query([
                (tantivy.Occur.Must, query),
                (tantivy.Occur.Must, tantivy.Query.term_query(schema, "lang",
                                                              LANGUAGES[q.language]))])
        result = searcher.search(query, LIMIT, count=True)
        for _, address in result.hits:
            searcher.doc(address)  # fetch the stored fields a result page shows
        return result.count or 0

    build = time.perf_counter() - started if previous is None else previous
    note = "in-process, en_stem" + ("; reused" if previous is not None else "")
    return Engine("tantivy", run, build, note, bytes=folder_bytes(folder),
                  reused=previous is not None)


def build_fts_db(corpus: Path, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.executescript("""
        CREATE TABLE records (
            rowid INTEGER PRIMARY KEY, record_id TEXT, title TEXT, summary TEXT,
            text_body TEXT, language TEXT, date TEXT);
        CREATE VIRTUAL TABLE records_fts USING fts5(
            title, summary, text_body, content="records", content_rowid="rowid");
    """)
    conn.executemany(
        "INSERT INTO records (record_id, title, summary, text_body, language, date) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ((r["record_id"], r["title"], r["summary"], r["text_body"], r["language"][0],
          r["original_publication_date"]) for r in read_corpus(corpus)))
    conn.execute("INSERT INTO records_fts(records_fts) VALUES ('rebuild')")
    conn.execute("CREATE INDEX records_language ON records (language)")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def datasette_engines(corpus: Path, work: Path, reuse: bool = False,
                      docs: int | None = None) -> list[Engine]:
    """(b) SQLite FTS5 behind ``datasette serve`` on 127.0.0.1, queried over HTTP JSON.

    ``reuse`` keeps a finished FTS database of ``docs`` records, as for Tantivy."""
    if importlib.util.find_spec("datasette") is None:
        raise ImportError("Datasette is not installed (pip install -e '.[bench]')")
    started = time.perf_counter()
    db_path, marker = work / "fts.db", work / "fts.done"
    previous = _built(marker, docs) if reuse and docs is not None else None
    if previous is None:
        marker.unlink(missing_ok=True)
        db_path.unlink(missing_ok=True)
        build_fts_db(corpus, db_path)
        if docs is not None:
            _mark(marker, docs, time.perf_counter() - started)
    fts_seconds = time.perf_counter() - started if previous is None else previous
    started = time.perf_counter()
    port = free_port()
    log = (work / "datasette.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", "-i", str(db_path), "--host", "127.0.0.1",
         "--port", str(port), "--setting", "sql_time_limit_ms", "60000",
         "--setting", "default_page_size", str(LIMIT), "--setting", "facet_time_limit_ms", "1"],
        stdout=log, stderr=subprocess.STDOUT)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(path: str) -> dict[str, Any]:
        try:
            conn.request("GET", path)
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()  # the server dropped an idle keep-alive connection: once more
            conn.request("GET", path)
            response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"Datasette answered {response.status} for {path}: {body[:300]!r}")
        return json.loads(body)

    deadline = time.monotonic() + 300  # opening a multi-gigabyte file takes a while
    while True:  # bounded wait for the server to come up
        try:
            get("/-/versions.json")
            break
        except (ConnectionError, OSError, http.client.HTTPException):
            if proc.poll() is not None or time.monotonic() > deadline:
                log_path = work / "datasette.log"
                raise RuntimeError(f"datasette did not start; see {log_path}") from None
            conn.close()
            time.sleep(0.2)
    build = fts_seconds + time.perf_counter() - started  # the FTS table, then the server

    def table(q: Query) -> int:
        params = [("_search", q.fts5()), ("_searchmode", "raw"), ("_size", str(LIMIT)),
                  ("_col", "record_id"), ("_col", "title"), ("_nofacet", "1")]
        if q.language:
            params.append(("language", q.language))
        data = get("/fts/records.json?" + urllib.parse.urlencode(params))
        return data.get("filtered_table_rows_count") or 0

    ranked_sql = (
        "select records.record_id, records.title from records_fts "
        "join records on records.rowid = records_fts.rowid "
        "where records_fts match :q {filter} order by rank limit {limit}")

    def ranked(q: Query) -> int:
        sql = ranked_sql.format(filter="and records.language = :lang" if q.language else "",
                                limit=LIMIT)
        params = [("sql", sql), ("q", q.fts5()), ("_shape", "array")]
        if q.language:
            params.append(("lang", q.language))
        rows = get("/fts.json?" + urllib.parse.urlencode(params))
        return len(rows)

    def close() -> None:
        conn.close()
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()

    reused = "; reused" if previous is not None else ""
    return [
        Engine("datasette", table, build, "HTTP, table _search, unranked (rowid order)"
               + reused, close, bytes=folder_bytes(db_path), reused=previous is not None),
        Engine("datasette-ranked", ranked, 0.0, "HTTP, SQL ORDER BY rank (BM25); hits capped"
               f" at {LIMIT}"),
    ]


# -- (c) opis ------------------------------------------------------------------------------------


def opis_request(query: Query) -> Any:
    """The ``SearchRequest`` the search page sends for ``query``, made by the page's own
    ``SearchParams`` (``/search?q=...&language=ru``): 20 hits, facets on at the page's
    sizes, so what is timed is what a reader waits for, less HTML and HTTP."""
    from opis.web.search import SearchParams

    filters = {"language": [LANGUAGES[query.language]]} if query.language else {}
    return SearchParams(q=query.opis(), filters=filters).request()


def archive_engine(archive: Any, name: str = "opis", note: str = "in-process",
                   build_seconds: float = 0.0) -> Engine:
    """An engine over an open ``opis.services.archive.Archive``: ``Archive.search`` of
    :func:`opis_request`, in-process; closing the engine closes the archive."""

    def run(q: Query) -> int:
        return archive.search(opis_request(q)).result.total

    return Engine(name, run, build_seconds, note, archive.close)


def opis_setup(corpus: Path, work: Path, seed: int) -> tuple[Any, str]:
    """An archive (SQLite file + Tantivy index in ``work``) holding the corpus, and how it
    got there: ``Archive.ingest`` of the JSON Lines, or of text exports of the same records
    if this opis cannot read them; a kept ``--work`` archive of the same size is reused."""
    from opis.services.archive import Archive

    archive = Archive(str(work / "opis.db"))
    docs = sum(1 for _ in read_corpus(corpus))
    if archive.count() == docs:  # a kept --work folder: the same corpus is already in
        return archive, f"reused the archive in {work} ({docs} records)"
    report = archive.ingest([corpus])
    if not report.failed:
        return archive, f"Archive.ingest of the JSON Lines ({len(report.added)} records)"
    text = work / "corpus-text"
    generate(text, docs, seed=seed, fmt="text")
    report = archive.ingest([text])
    if report.failed:
        archive.close()
        raise RuntimeError(f"opis ingest failed: {report.failed[0]}")
    return archive, f"Archive.ingest of text exports ({len(report.added)} records)"


def opis_engine(corpus: Path, work: Path, seed: int) -> Engine:
    started = time.perf_counter()
    archive, how = opis_setup(corpus, work, seed)
    return archive_engine(archive, "opis", f"in-process; {how}", time.perf_counter() - started)


# -- measuring and reporting -------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def measure(engine: Engine, queries: dict[str, list[Query]]) -> dict[str, dict[str, float]]:
    for q in queries["term"][:10]:  # warm caches and connections
        engine.run(q)
    out: dict[str, dict[str, float]] = {}
    for kind, qs in queries.items():
        times: list[float] = []
        hits = 0
        for q in qs:
            started = time.perf_counter()
            hits += engine.run(q)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        out[kind] = {"p50": percentile(times, 50), "p95": percentile(times, 95),
                     "p99": percentile(times, 99), "mean_hits": hits / max(1, len(qs)),
                     "queries": len(qs)}
    return out


def print_tables(results: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    engines = list(results)
    print(f"\nlatency in ms (p50 / p95 / p99) and mean hits, {LIMIT} results a page")
    print(f"{'kind':<9}" + "".join(f"{e:>34}" for e in engines))
    for kind in KINDS:
        row = f"{kind:<9}"
        for e in engines:
            r = results[e][kind]
            row += f"{r['p50']:>9.2f}{r['p95']:>9.2f}{r['p99']:>9.2f}{r['mean_hits']:>7.0f}"
        print(row)
    ratios: dict[str, Any] = {}
    if "opis" in results:
        others = [e for e in engines if e != "opis"]
        print("\nratio opis / other (p50, p95): below 1 means opis is faster")
        print(f"{'kind':<9}" + "".join(f"{'opis/' + e:>26}" for e in others))
        for kind in KINDS:
            row = f"{kind:<9}"
            for e in others:
                p50 = results["opis"][kind]["p50"] / results[e][kind]["p50"]
                p95 = results["opis"][kind]["p95"] / results[e][kind]["p95"]
                ratios.setdefault(f"opis/{e}", {})[kind] = {"p50": round(p50, 3),
                                                             "p95": round(p95, 3)}
                row += f"{p50:>13.2f}{p95:>13.2f}"
            print(row)
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--queries", type=int, default=200, help="queries of each kind")
    parser.add_argument("--engines", default="tantivy,datasette,opis",
                        help="comma-separated: tantivy, datasette, opis")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--work", type=Path, help="keep the corpus and indexes here (a "
                        "second run with the same --docs/--seed reuses the opis archive, "
                        "the Tantivy index and the FTS database)")
    args = parser.parse_args()
    wanted = {e.strip() for e in args.engines.split(",") if e.strip()}

    with tempfile.TemporaryDirectory(prefix="opis-search-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        corpus = work / "corpus"
        print(f"{args.docs:,} records, seed {args.seed}, {args.queries} queries of each kind; "
              f"{platform.python_version()}, {os.cpu_count()} cores")
        for stale in corpus.glob("*.jsonl"):  # shards of a larger earlier run
            stale.unlink()
        report = generate(corpus, args.docs, seed=args.seed)
        print(f"generated {report.bytes / 1e6:.1f} MB in {report.seconds:.1f} s")
        queries = build_queries(args.queries, args.seed)
        reuse = args.work is not None

        engines: list[Engine] = []
        builders: list[tuple[str, Callable[[], list[Engine]]]] = [
            ("tantivy", lambda: [tantivy_engine(corpus, work, reuse, args.docs)]),
            ("datasette", lambda: datasette_engines(corpus, work, reuse, args.docs)),
            ("opis", lambda: [opis_engine(corpus, work, args.seed)]),
        ]
        results: dict[str, dict[str, dict[str, float]]] = {}
        for name, build in builders:  # one engine at a time: nothing else runs meanwhile
            if name not in wanted:
                continue
            try:
                built = build()
            except ImportError as e:
                print(f"skipped {name}: {e}")
                continue
            engines += built
            try:
                for e in built:
                    print(f"built {e.name:<17} in {e.build_seconds:7.1f} s  ({e.note})")
                    results[e.name] = measure(e, queries)
            finally:
                for e in built:
                    e.close()
        ratios = print_tables(results)
        if args.json:
            args.json.write_text(json.dumps({
                "docs": args.docs, "seed": args.seed, "queries_per_kind": args.queries,
                "limit": LIMIT, "python": platform.python_version(), "cpus": os.cpu_count(),
                "corpus_bytes": report.bytes,
                "build_seconds": {e.name: round(e.build_seconds, 2) for e in engines},
                "notes": {e.name: e.note for e in engines},
                "latency_ms": results, "ratios": ratios,
                "examples": {k: [q.opis() for q in qs[:3]] for k, qs in queries.items()},
            }, indent=2) + "\n")
            print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
