"""Writers for the crash test: each loops over real writes (an ingest of text-export
files, or curators' edits) until it is killed with SIGKILL, appending one line to an
acknowledgement file after each write returns, so the test knows which writes were
acknowledged and must survive."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from sqlalchemy import text

from opis.services.archive import Archive
from opis.services.curation import CurationError, Curator

WORDS = ["plenum", "embassy", "Pyongyang", "cooperative", "delegation", "harvest",
         "factionalism", "ministry", "railway", "conference", "treaty", "report"]


def _ack(path: str, line: str) -> None:
    """One write() per line: once it returns, the line survives the process's death."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _export_row(rid: str, rng: random.Random) -> dict:
    """One record as the archive's JSON export has it."""
    words = " ".join(rng.choice(WORDS) for _ in range(120))
    return {"document_url": f"https://digitalarchive.example.org/document/{rid}",
            "record_id": rid, "title": f"Dispatch {rid} on {rng.choice(WORDS)}",
            "original_publication_date": "May 1, 1957", "text_body": words,
            "summary": f"Summary of {rid}.", "language": ["Russian"],
            "subjects_discussed": ["Korea (North)"], "authors": ["Ivanov, V."]}


def run(url: str, mode: str, workdir: str, run_no: int, acks: str) -> None:
    archive = Archive(url)
    _ack(acks, f"ready {mode} {run_no}")
    curator = Curator(archive)  # heals what the previous kill left: may be killed too
    rng = random.Random(run_no)
    if mode == "ingest":
        for i in range(10_000):
            rids = [f"k{run_no}x{i}y{j}" for j in range(3)]
            path = Path(workdir) / f"batch-{run_no}-{i}.jsonl"
            path.write_text("".join(json.dumps(_export_row(rid, rng)) + "\n" for rid in rids),
                            encoding="utf-8")
            report = archive.ingest([path])  # one file, one transaction: all or nothing
            assert report.ok, report.failed
            for rid in rids:
                _ack(acks, f"ingest {rid}")
        return
    with archive.db.sessions() as session:
        ids = list(session.scalars(text("SELECT id FROM records ORDER BY id")))
    for i in range(10_000):
        rid = rng.choice(ids)
        token = f"t{run_no}q{i}z"
        try:
            if rng.random() < 0.15:
                state = curator.state(rid)
                if state.status == "published":
                    result = curator.withdraw(rid, author="crash", reason=f"withdraw {token}")
                else:
                    result = curator.reinstate(rid, author="crash", reason=f"reinstate {token}")
            else:
                state = curator.state(rid)
                record = state.record
                result = curator.edit(rid, {
                    "title": f"Edited {token} " + record.title[:60],
                    "text": record.text + f"\nPostscript {token}.\n"},
                    author="crash", reason=f"edit {token}", version=state.version)
        except CurationError:
            continue
        _ack(acks, f"edit {rid} {result.version} {token}")
