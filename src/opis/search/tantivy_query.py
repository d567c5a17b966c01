"""Tantivy's side of what opis searches: the index's fields and their analyzers (words
lower-cased, Latin diacritics folded, stemmed per language), and our query tree
compiled into Tantivy's queries. ``search/tantivy_engine.py`` writes and reads the
index with them."""

from __future__ import annotations

import functools
import re

import tantivy

from opis.search.languages import cjk_bigrams, has_cjk
from opis.search.query import And, Name, Node, Not, Or, Phrase, Prefix, Term

LANG_FIELDS = {"text_ru": "ru_stem", "text_de": "de_stem"}
KEYWORD_FIELDS = ("person", "place", "organization", "event", "repository",
                  "classification", "collection")
TEXT_FIELDS = ["title", "summary", "text", "meta", "notes"]  # notes: footnotes, source notes
SEARCH_FIELDS = [*TEXT_FIELDS, "text_ru", "text_de"]
BOOSTS = {"title": 3.0, "summary": 2.0, "meta": 1.5, "text": 1.0, "notes": 0.8}
# What linking a named person adds to a document's score: below any word's BM25 score
# in a text, so a document whose text has the name ranks above one that only links it.
LINKED_SCORE = 0.01


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", fast=True)
    for name in TEXT_FIELDS:
        sb.add_text_field(name, stored=name != "meta", tokenizer_name="en_fold")
    for name, tokenizer in LANG_FIELDS.items():
        sb.add_text_field(name, stored=False, tokenizer_name=tokenizer)
    sb.add_text_field("text_cjk", stored=False, tokenizer_name="default")
    sb.add_text_field("lang", stored=False, tokenizer_name="raw", fast=True)
    sb.add_text_field("date", stored=True, tokenizer_name="raw")
    sb.add_integer_field("date_start", indexed=True, fast=True, stored=False)
    sb.add_integer_field("date_end", indexed=True, fast=True, stored=False)
    for name in KEYWORD_FIELDS:  # multi-valued keywords: filters and facet aggregations
        sb.add_text_field(name, stored=False, tokenizer_name="raw", fast=True)
    # Whole subject headings as keywords: related documents weigh a shared heading by its
    # rarity with a term lookup (a phrase over the metadata took 45 ms at 520,000 records).
    sb.add_text_field("subject", stored=False, tokenizer_name="raw")
    # A fixed pseudo-random bucket per document: facet counts of a search matching a large
    # part of the archive are estimated from the hits in a few buckets.
    sb.add_integer_field("sample", indexed=True, fast=False, stored=False)
    sb.add_integer_field("year", indexed=True, fast=True, stored=False)
    sb.add_integer_field("decade", indexed=True, fast=True, stored=False)
    return sb.build()


def analyzer(language: str) -> tantivy.TextAnalyzer:
    """Words lower-cased, Latin diacritics folded (ö→o, ś→s, ō→o: "Hammarskjold" finds
    "Hammarskjöld" and the reverse), then stemmed. Russian's stemmer folds ё→е itself."""
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(40)).filter(tantivy.Filter.lowercase())
            .filter(tantivy.Filter.ascii_fold()).filter(tantivy.Filter.stemmer(language))
            .build())


ANALYZERS = {"en_fold": "english", "ru_stem": "russian", "de_stem": "german"}


def register_analyzers(index: tantivy.Index) -> None:
    """The analyzers of the text fields; registered at every open."""
    for name, language in ANALYZERS.items():
        index.register_tokenizer(name, analyzer(language))


# The "text" field's analyzer, to compare a snippet's words with the query's as the
# index compared them: "Koreans" is a hit for "Korean", "Dvořák" for "Dvorak".
EN_STEM = analyzer("english")
# A prefix as the index holds its words: lower-cased, Latin diacritics folded.
WORD = re.compile(r"[^\W\d_]{3,}")  # a stored text's words, for "did you mean"
FOLD = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw())
         .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.ascii_fold()).build())


@functools.lru_cache(maxsize=4096)
def snippet_key(word: str) -> str:
    return " ".join(EN_STEM.analyze(word))


def quoted(word: str) -> str:
    return '"' + word.replace("\\", " ").replace('"', " ") + '"'


def linked_query(schema: tantivy.Schema, entity_id: str) -> tantivy.Query:
    """Documents that link the entity (its id is in the keyword field of its kind), at a
    small constant score: found by any name of the person, ranked below a literal match."""
    kind = entity_id.split("/", 1)[0]
    if kind not in KEYWORD_FIELDS:
        return tantivy.Query.empty_query()
    return tantivy.Query.const_score_query(
        tantivy.Query.term_query(schema, kind, entity_id), LINKED_SCORE)


def compile_query(index: tantivy.Index, schema: tantivy.Schema, node: Node) -> tantivy.Query:
    """Our query tree as Tantivy query objects. Words go through the query parser only
    inside quotes, so no word can ever be read as syntax."""
    occur = tantivy.Occur
    if isinstance(node, Term | Phrase):
        words = node.text if isinstance(node, Term) else " ".join(node.words)
        q, _errors = index.parse_query_lenient(quoted(words), SEARCH_FIELDS, field_boosts=BOOSTS)
        if has_cjk(words):
            cjk, _errors = index.parse_query_lenient(quoted(cjk_bigrams(words)), ["text_cjk"])
            return tantivy.Query.boolean_query([(occur.Should, q), (occur.Should, cjk)])
        return q
    if isinstance(node, Prefix):
        stem = "".join(FOLD.analyze(re.sub(r"[^\w]", "", node.stem)))
        if not stem:
            return tantivy.Query.empty_query()
        return tantivy.Query.boolean_query([
            (occur.Should, tantivy.Query.boost_query(
                tantivy.Query.regex_query(schema, f, re.escape(stem) + ".*"), BOOSTS[f]))
            for f in TEXT_FIELDS
        ])
    if isinstance(node, Not):
        return tantivy.Query.boolean_query([
            (occur.Must, tantivy.Query.all_query()),
            (occur.MustNot, compile_query(index, schema, node.item)),
        ])
    if isinstance(node, And):
        clauses = [
            (occur.MustNot, compile_query(index, schema, i.item)) if isinstance(i, Not)
            else (occur.Must, compile_query(index, schema, i))
            for i in node.items
        ]
        if all(isinstance(i, Not) for i in node.items):
            clauses.insert(0, (occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.boolean_query(clauses)
    if isinstance(node, Or):
        return tantivy.Query.boolean_query(
            [(occur.Should, compile_query(index, schema, i)) for i in node.items])
    if isinstance(node, Name):
        exact = tantivy.Query.boost_query(compile_query(index, schema, node.exact), 2.0)
        return tantivy.Query.boolean_query(
            [(occur.Should, exact)] +
            [(occur.Should, compile_query(index, schema, v)) for v in node.variants] +
            [(occur.Should, linked_query(schema, eid)) for eid in node.entities])
    raise TypeError(node)
