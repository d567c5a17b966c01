"""Archives for the reading-room tests: the packaged sample corpus, ingested once per
test process and copied where a test writes, and a small bilingual record."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BILINGUAL = """---
id: bilingual-1
title: Record of a Conversation with Kim Il Sung (test)
date: 1956-09-20
original_language: ru
contents: {kind: translation, language: en}
archival_reference: RGANI, f. 5, op. 28, d. 412, ll. 1-3
subjects: ["Korea (North)--Foreign relations--Soviet Union", "Korea (North)--Politics and government"]
original_text: "Запись беседы с Ким Ир Сеном. Ким Ир Сен сказал, что пленум прошёл."
scans: [{url: /static/favicon.svg, label: First page}]
---

Record of a conversation with Kim Il Sung. Kim Il Sung said the plenum went well.
"""

_lock = threading.Lock()
_built: dict[str, Path] = {}


def sample_db() -> Path:
    """The sample corpus ingested once per process: its SQLite file (index beside it)."""
    from opis.cli import sample_corpus
    from opis.services.archive import Archive

    with _lock:
        if "sample" not in _built:
            folder = Path(tempfile.mkdtemp(prefix="opis-rr-"))
            archive = Archive(str(folder / "sample.db"))
            report = archive.ingest([sample_corpus()])
            assert report.ok, report.failed
            archive.close()
            _built["sample"] = folder / "sample.db"
        return _built["sample"]


def copy_db(source: Path, target_dir: Path) -> Path:
    """A private copy of an archive (database and index) a test may change."""
    target = target_dir / source.name
    shutil.copy2(source, target)
    index = Path(str(source) + ".tantivy")
    if index.exists():
        shutil.copytree(index, Path(str(target) + ".tantivy"))
    return target


@contextmanager
def serve(app: object) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread; yield its base URL."""
    import socket

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)
