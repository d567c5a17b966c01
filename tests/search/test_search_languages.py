"""Search in the originals' languages: Russian and German stemming, CJK without spaces."""

from __future__ import annotations

import pytest

from opis.model import Contents, Record
from opis.search.base import SearchRequest
from opis.search.languages import cjk_bigrams

RECORDS = [
    Record(id="ru1", title="Запись беседы", original_language="ru",
           contents=Contents("transcription", "ru"),
           text="Посольство СССР в КНДР сообщает о переговорах с товарищем Ким Ир Сеном."),
    Record(id="de1", title="Vermerk", original_language="de",
           contents=Contents("transcription", "de"),
           text="Der Bundeskanzler führte Verhandlungen über die Wirtschaftsbeziehungen."),
    Record(id="ko1", title="회담 기록", original_language="ko",
           contents=Contents("transcription", "ko"),
           text="김일성은 평양에서 소련 대사를 접견하였다."),
    Record(id="zh1", title="谈话记录", original_language="zh",
           contents=Contents("transcription", "zh"),
           text="毛泽东主席在北京接见了朝鲜代表团。"),
    Record(id="ja1", title="会談要旨", original_language="ja",
           contents=Contents("transcription", "ja"),
           text="佐藤総理大臣は蒋経国国防部長と会談した。"),
    Record(id="en1", title="Translation", original_language="ru",
           contents=Contents("translation", "en"),
           text="The embassy reports negotiations.",
           extra={"original_text": "Посольство докладывает о переговорах.",
                  "original_language": "ru"}),
]


def test_bigrams():
    assert cjk_bigrams("김일성은") == "김일 일성 성은"
    assert cjk_bigrams("a 北 b") == "北"


@pytest.mark.parametrize("query,expected", [
    ("посольства", {"ru1", "en1"}),          # another case of посольство
    ("переговоры", {"ru1", "en1"}),          # plural nominative vs prepositional
    ("Verhandlung", {"de1"}),                 # singular finds plural
    ("Wirtschaftsbeziehung", {"de1"}),
    ("김일성", {"ko1"}),                        # a word inside a run without spaces
    ("평양", {"ko1"}),
    ("毛泽东", {"zh1"}),
    ("北京", {"zh1"}),
    ("蒋経国", {"ja1"}),
    ("佐藤", {"ja1"}),
])
def test_original_language_search(archive, query, expected):
    archive.put(RECORDS)
    hits = {h.id for h in archive.search(SearchRequest(query=query)).result.hits}
    assert hits == expected, (query, hits)


def test_cjk_does_not_match_scattered_characters(archive):
    archive.put(RECORDS)
    # Both characters occur in ko1 but not next to each other.
    hits = {h.id for h in archive.search(SearchRequest(query="김평")).result.hits}
    assert hits == set()
