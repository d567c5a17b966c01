"""A PDF or scan whose reader stops making progress fails alone, by the page it was on
(OPIS_MAX_PAGE_SECONDS), and the next file is read by a fresh worker."""

from __future__ import annotations

import sys
import textwrap

import pytest

from opis.readers import isolated
from opis.readers.base import LimitError
from opis.readers.limits import Limits

READER = textwrap.dedent('''
    """A reader that hangs on the page its file names, as a looping renderer would."""
    import time
    from pathlib import Path

    def read(path, limits, on_page=None):
        stall = int(Path(path).read_text(encoding="utf-8"))
        for n in range(1, 4):
            if on_page is not None:
                on_page(n)
            if n == stall:
                time.sleep(3600)
        return iter(())
''')


@pytest.fixture
def stalling_reader(tmp_path, monkeypatch):
    folder = tmp_path / "readers"
    folder.mkdir()
    (folder / "opis_stalling_reader.py").write_text(READER, encoding="utf-8")
    monkeypatch.syspath_prepend(str(folder))  # the spawned worker gets this sys.path
    isolated.shutdown()  # a worker an earlier test left running has the old sys.path
    yield "opis_stalling_reader"
    isolated.shutdown()
    sys.modules.pop("opis_stalling_reader", None)


def test_a_stalled_page_fails_its_file_with_the_page_and_the_variable(tmp_path,
                                                                      stalling_reader):
    scan = tmp_path / "Записка 김일성 “draft”.pdf"
    scan.write_text("2", encoding="utf-8")
    with pytest.raises(LimitError) as caught:
        isolated.read(stalling_reader, scan, Limits(page_seconds=1.5))
    message = str(caught.value)
    assert "page 2 was still being read after 1.5 seconds" in message
    assert "OPIS_MAX_PAGE_SECONDS" in message
    assert scan.name in str(caught.value.path)


def test_the_next_file_is_read_by_a_fresh_worker(tmp_path, stalling_reader):
    stuck, fine = tmp_path / "stuck.pdf", tmp_path / "fine.pdf"
    stuck.write_text("1", encoding="utf-8")
    fine.write_text("0", encoding="utf-8")  # never stalls
    with pytest.raises(LimitError, match="the first page|page 1"):
        isolated.read(stalling_reader, stuck, Limits(page_seconds=1))
    assert isolated.read(stalling_reader, fine, Limits(page_seconds=5)) == []


def test_the_limit_is_read_from_the_environment():
    assert Limits.from_env({"OPIS_MAX_PAGE_SECONDS": "42"}).page_seconds == 42
    with pytest.raises(ValueError, match="OPIS_MAX_PAGE_SECONDS"):
        Limits.from_env({"OPIS_MAX_PAGE_SECONDS": "soon"})
