"""A small local model for the embedding tests: words hashed into 64 dimensions.

It is what ``OPIS_EMBEDDER=semantic_fixtures:hashing`` plugs in (the way an archive
plugs a model of its own), and fast enough that the stage's mechanics (resuming,
re-embedding only what changed, both backends) are tested without the real model.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from opis.model import Record
from opis.search.query import words_of


class HashingEmbedder:
    name = "test-hashing-64"
    dimensions = 64
    passage_words = 40

    def __init__(self) -> None:
        self.calls: list[int] = []  # how many texts each call embedded

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in words_of(text.casefold()):
                h = hashlib.blake2b(word.encode(), digest_size=4).digest()
                out[row, int.from_bytes(h) % self.dimensions] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0
        return out / norms


def hashing() -> HashingEmbedder:
    return HashingEmbedder()


def record(rid: str, title: str, paragraphs: list[str], summary: str | None = None,
           notes: list[str] = ()) -> Record:
    return Record(id=rid, title=title, summary=summary, text="\n\n".join(paragraphs),
                  extra={"notes": [{"id": f"n{i}", "text": t} for i, t in enumerate(notes)]}
                  if notes else {})


def not_a_model() -> object:
    """A factory returning something that is no Embedder (the error-message test)."""
    return object()


class SlowHashingEmbedder(HashingEmbedder):
    """As slow as a real model on a busy core, so a test can kill a run midway."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import time

        time.sleep(0.3)
        return super().embed(texts)


def slow_hashing() -> SlowHashingEmbedder:
    return SlowHashingEmbedder()


# Two records telling the same event (a shared passage) and one that does not: what
# "related by content" must tell apart (services/test_reads_alike.py, the browser flow).
SHARED = ("The ambassador reported that comrade Kim Il Sung criticised the faction of "
          "Choe Chang-ik at the August plenum and demanded their expulsion from the party")
ALIKE = [
    record("a", "Записка посла о пленуме", [
        SHARED + ".", "Посол Иванов беседовал с Ким Ир Сеном (김일성, 金日成) о «пленуме»."]),
    record("b", "Report on the August plenum", [
        "A second account. " + SHARED + " and from the Central Committee.",
        "Dvořák’s “note” followed."]),
    record("c", "조선로동당 대표단의 방문", [
        "대표단은 평양에서 공장과 학교를 방문하였다. 金日成 同志 没有 出席。"]),
]
