"""Linking a record's names to the authority file at ingest, and curating that file."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from opis.enrich.entities import Candidate, extract
from opis.enrich.name_rules import (
    FEMALE_TITLES,
    choose_referent,
    fold,
    is_common_surname,
    title_before,
    title_fits,
)
from opis.enrich.persons_list import PersonEntry, parse_entry, see_forms, see_matches
from opis.model import Record
from opis.model.entity import Entity, GlossaryEntry, Mention
from opis.model.headings import split_heading
from opis.names import authority
from opis.names.gazetteer import Known, default_gazetteer
from opis.store import entities as store
from opis.store.errors import StoreSession

ORG_WORDS = re.compile(
    r"\b(?:Department|Office|Bureau|Agency|Committee|Commission|Council|Ministry|Embassy|"
    r"Army|Navy|Force|Command|Organization|Party|Union|Nations|Administration|Service|"
    r"Board|Staff|Corps|Bank|Fund|Group|Conference|Assembly|Government|Mission|Station|"
    r"Division|Section|Institute|Secretariat|Cabinet)\b")

NOT_ORG = re.compile(r"\b(?:telegram|despatch|dispatch|airgram|memorandum|instruction|"
                     r"circular|report|message)\b", re.IGNORECASE)


@dataclass
class FileContext:
    """What links records of one source file across its batches: the ids the reader
    gave its own authority items (a FRUS persons list) and its glossary."""

    reader_ids: dict[str, str] = field(default_factory=dict)
    glossary: dict[str, GlossaryEntry] = field(default_factory=dict)
    # Persons-list "see" entries ("Yang, Dr.: see You Chan Yang") waiting for their target.
    see_refs: dict[str, tuple[PersonEntry, Entity]] = field(default_factory=dict)
    descriptions: dict[str, str | None] = field(default_factory=dict)  # entity id -> role
    # Stored mention counts of rival entities (sharing a key), asked once per file: they
    # only break ties between rivals, and counting a popular name's mentions again for
    # every batch would make ingest slower as the archive grows.
    rival_counts: dict[tuple[str, ...], dict[str, int]] = field(default_factory=dict)


@lru_cache(maxsize=65536)
def _ends(spelling: str) -> tuple[str, ...]:
    """The first and last words of a name of several words ("Kim Il Sung": Kim, Sung)."""
    words = spelling.replace(",", " ").split()
    return (words[0], words[-1]) if len(words) > 1 else ()


@lru_cache(maxsize=65536)
def _folded_ends(spelling: str) -> tuple[str, ...]:
    """The first and last words of a spelling without case or diacritics."""
    return tuple(fold(w) for w in _ends(spelling))


class Linker:
    """Resolves names to entities within one ingest transaction.

    Lookups are memoized for the transaction: each distinct key costs one indexed query,
    and names repeated across a file's records cost nothing (ingest of millions)."""

    def __init__(self, session: StoreSession, context: FileContext | None = None):
        self.session = session
        context = context or FileContext()
        self.reader_ids = context.reader_ids  # ids a reader gave -> stored entity ids
        self.see_refs = context.see_refs
        self._descriptions = context.descriptions
        self._text = ""  # the record being linked: a surname's title is read from it
        self.glossary = context.glossary
        self._by_key: dict[tuple[str, str], list[str]] = {}  # (kind, key) -> entity ids
        self._known_keys: set[str] = set()
        self._spellings: dict[str, set[str]] = {}  # entity id -> spellings
        self._kinds: dict[str, str] = {}
        self._counts: dict[str, int] = {}  # mentions seen in this transaction
        self._stored_counts = context.rival_counts
        # Resolutions that did not depend on the record (one entity had the key): the same
        # name in the next record resolves without looking again. Cleared whenever a key
        # gains a second entity, since the choice then depends on the record.
        self._memo: dict[tuple, str] = {}

    # -- the memo -------------------------------------------------------------------------

    def kind_of(self, eid: str) -> str | None:
        return self._kinds.get(eid)

    def _ids(self, kind: str, key: str) -> list[str]:
        if key not in self._known_keys:
            self._load_keys([key])
        return self._by_key.get((kind, key), [])

    def _load_keys(self, keys: Iterable[str]) -> None:
        missing = [k for k in keys if k not in self._known_keys]
        if not missing:
            return
        self._known_keys.update(missing)
        rows = store.lookup_keys(self.session, missing)
        new_ids = set()
        for key, eid, kind in rows:
            self._add_id(kind, key, eid)
            self._kinds[eid] = kind
            if eid not in self._spellings:
                new_ids.add(eid)
        for eid, spellings in store.spellings_of(self.session, new_ids).items():
            self._spellings[eid] = spellings

    def _add_spelling(self, eid: str, spelling: str) -> None:
        known = self._spellings.setdefault(eid, set())
        if spelling in known:
            return
        key = authority.key(spelling)
        store.add_variant(self.session, eid, spelling, key)
        known.add(spelling)
        self._known_keys.add(key)
        self._add_id(self._kinds[eid], key, eid)

    def _add_id(self, kind: str, key: str, eid: str) -> None:
        ids = self._by_key.setdefault((kind, key), [])
        if eid not in ids:
            ids.append(eid)
            if len(ids) > 1:
                self._memo.clear()

    def _create(self, entity: Entity) -> str:
        store.create_entity(self.session, entity, authority.key)
        self._kinds[entity.id] = entity.kind
        self._spellings[entity.id] = set()
        for s in dict.fromkeys([entity.preferred, *entity.variants]):
            self._spellings[entity.id].add(s)
            key = authority.key(s)
            self._known_keys.add(key)
            self._add_id(entity.kind, key, entity.id)
        return entity.id

    # -- authority items that readers yield (FRUS persons and terms lists) ---------------

    def add_reader_entity(self, entity: Entity) -> str | None:
        """A persons-list entry as an authority record (enrich/persons_list.py reads its
        shape); a "see" entry becomes the record of the entry it points to."""
        entry = parse_entry(entity.preferred, entity.description)
        if entry.see:
            self.see_refs[entity.id] = (entry, entity)
            return None
        spellings = [s for s in dict.fromkeys([entity.preferred, *entry.variants,
                                               *entity.variants]) if s != entry.preferred]
        ident = dict(entity.identifiers)
        ident.setdefault("source_id", entity.id)
        known = Known(entity.kind, entry.preferred, tuple(spellings), entity.description)
        eid, _ = self._resolve_known(entity.kind, entry.preferred, known, set(), ident)
        self.reader_ids[entity.id] = eid
        self._descriptions[eid] = entity.description
        for ref, (alias, _) in list(self.see_refs.items()):
            if see_matches(alias.see, [entry.preferred, *spellings]):
                self._alias(ref, alias, eid)
        return eid

    def _alias(self, ref: str, alias: PersonEntry, eid: str) -> None:
        """A "see" entry's name is one more spelling of the person it points to."""
        self.reader_ids[ref] = eid
        del self.see_refs[ref]
        for s in see_forms(alias.see):
            self._add_spelling(eid, s)

    def _settle_see_refs(self) -> None:
        """Before the first record: a "see" entry whose target never came is a person."""
        for ref, (alias, entity) in list(self.see_refs.items()):
            eid = next((e for e in self.reader_ids.values()
                        if see_matches(alias.see, self._spellings.get(e, ()))), None)
            if eid is not None:
                self._alias(ref, alias, eid)
                continue
            del self.see_refs[ref]
            known = Known(entity.kind, alias.preferred, alias.variants, entity.description)
            self.reader_ids[ref] = self._resolve_known(
                entity.kind, alias.preferred, known, set(),
                {**entity.identifiers, "source_id": entity.id})[0]

    def add_glossary(self, entry: GlossaryEntry) -> None:
        if entry.id:
            self.glossary[entry.id] = entry

    # -- records -----------------------------------------------------------------------

    def preload(self, found: Iterable[list[Candidate]]) -> None:
        """Look up every name of a batch of records in one query, not one per record."""
        keys = set()
        for cands in found:
            for c in cands:
                keys.add(authority.key(c.text))
                if c.known:
                    keys.add(authority.key(c.known.preferred))
        self._load_keys(keys)

    def link(self, record: Record, cands: list[Candidate] | None = None, *,
             preloaded: bool = False) -> None:
        """Replace ``record.mentions`` with resolved mentions (reader's and extracted);
        ``cands`` are the extractor's findings when they were computed elsewhere, and
        ``preloaded`` when ``preload`` has looked up their names already."""
        if self.see_refs:
            self._settle_see_refs()
        self._text = record.text
        mentions: list[Mention] = []
        in_record: set[str] = set()
        taken: list[tuple[int, int]] = []
        for m in record.mentions:  # links the source itself made (FRUS persName/gloss)
            eid = self.reader_ids.get(m.entity_id) or self._from_glossary(m.entity_id)
            title = title_before(record.text, m.start) \
                if m.field == "text" and m.start is not None else None
            if eid is None or (title in FEMALE_TITLES
                               and not title_fits(title, self._descriptions.get(eid))):
                continue  # "Madame <persName corresp='#p_RS1'>Rhee</persName>": his wife
            mentions.append(Mention(eid, m.start, m.end, m.text, m.field))
            in_record.add(eid)
            if m.field == "text" and m.start is not None and m.end is not None:
                taken.append((m.start, m.end))
        if cands is None:
            cands = extract(record, default_gazetteer())
        if not preloaded:
            self._load_keys({authority.key(c.text) for c in cands} |
                            {authority.key(c.known.preferred) for c in cands if c.known})
        resolved: dict[int, str] = {}
        # The same words in one record name the same entity: a name is resolved once per
        # record, not at each of its mentions (a record names 26 people ~90 times).
        said: dict[tuple, str | None] = {}
        # Full names first, so a lone surname can then join the person it abbreviates.
        surname = [self._is_surname(c) for c in cands]
        order = [i for i, s in enumerate(surname) if not s] + \
                [i for i, s in enumerate(surname) if s]
        for i in order:
            c = cands[i]
            if taken and c.start is not None and c.end is not None \
                    and any(c.start < e and s < c.end for s, e in taken):
                continue
            eid = resolved.get(c.same_as) if c.same_as is not None else None
            if eid is None:
                words = (c.kind, c.text, c.known.preferred if c.known else None,
                         c.field == "metadata",
                         title_before(record.text, c.start) if self._is_surname(c)
                         and c.start is not None and c.field == "text" else None)
                if words in said:
                    eid = said[words]
                else:
                    eid = said[words] = self.resolve(c, in_record)
            else:
                self._add_spelling(eid, authority.clean_name(c.text))
            if eid is None:
                continue
            resolved[i] = eid
            in_record.add(eid)
            self._counts[eid] = self._counts.get(eid, 0) + 1
            mentions.append(Mention(eid, c.start, c.end, c.text, c.field))
        mentions.sort(key=lambda m: (m.field != "text", m.start or 0, m.end or 0, m.entity_id))
        record.mentions = mentions

    @staticmethod
    def _is_surname(c: Candidate) -> bool:
        return c.kind == "person" and c.known is None and " " not in authority.clean_name(c.text)

    def _surname_referent(self, surname: str, c: Candidate,
                          in_record: set[str]) -> tuple[bool, str | None]:
        """A lone surname links to the person the record or the volume makes clear
        (enrich/name_rules.choose_referent); a common surname (Kim, Pak) or a title
        that fits no one links to nobody. (False, None): no rule applies, look it up.
        The surname alone never becomes a spelling of the person it links to."""
        title = title_before(self._text, c.start) if c.start is not None else None
        folded = fold(surname)
        volume = set(self.reader_ids.values())
        unknown = [e for e in in_record | volume if e not in self._spellings]
        if unknown:  # named in an earlier batch of this file: known to the store
            self._kinds.update(store.kinds_of(self.session, unknown))
            found = store.spellings_of(self.session, unknown)
            for eid in unknown:
                self._spellings[eid] = found.get(eid, set())
        pools = []
        for ids in (in_record, volume - in_record):
            pools.append([(eid, self._descriptions.get(eid)) for eid in sorted(ids)
                          if self._kinds.get(eid) == "person"
                          and any(folded in _folded_ends(s) for s in self._spellings[eid])])
        chosen = choose_referent(title, pools)
        if (chosen is not None or any(pools) or is_common_surname(surname)
                or title in FEMALE_TITLES):
            return True, chosen
        return False, None

    def resolve(self, c: Candidate, in_record: set[str]) -> str | None:
        name = authority.clean_name(c.text)
        if not name or len(name) < 2:
            return None
        if self._is_surname(c):
            decided, eid = self._surname_referent(name, c, in_record)
            if decided:
                return eid
        memo = (c.kind, name, c.known.preferred if c.known else None,
                c.field == "metadata" and "," in name)
        if (eid := self._memo.get(memo)) is not None:
            return eid
        if memo[3]:
            preferred, variants = split_heading(name)
            known = c.known or Known("person", preferred, tuple([name, *variants]))
            eid, alone = self._resolve_known("person", preferred, known, in_record)
        elif c.known is not None:
            eid, alone = self._resolve_known(c.kind, c.known.preferred, c.known, in_record,
                                             spelling=name)
        else:
            ids = self._ids(c.kind, authority.key(name))
            alone = len(ids) <= 1
            eid = authority.choose(ids, in_record, self._counts_for(ids))
            if eid is None:
                eid = self._create(Entity(authority.new_entity_id(c.kind, name, self._exists),
                                          c.kind, name))
            else:
                self._add_spelling(eid, name)
        if alone:
            self._memo[memo] = eid
        return eid

    def _resolve_known(self, kind: str, preferred: str, known: Known, in_record: set[str],
                       identifiers: dict | None = None,
                       spelling: str | None = None) -> tuple[str, bool]:
        """The entity for a known name, created when missing; and whether it was the only
        one with its key (then the answer holds for every record)."""
        ids = self._ids(kind, authority.key(preferred))
        alone = len(ids) <= 1
        eid = authority.choose(ids, in_record, self._counts_for(ids))
        if eid is None:
            ident = dict(identifiers or {})
            if known.wikidata:
                ident["wikidata"] = known.wikidata
            eid = self._create(Entity(authority.new_entity_id(kind, preferred, self._exists),
                                      kind, preferred, list(known.variants), known.description,
                                      ident))
        else:
            for s in known.spellings:
                self._add_spelling(eid, s)
        if spelling:
            self._add_spelling(eid, spelling)
        return eid, alone

    def _from_glossary(self, ref: str) -> str | None:
        entry = self.glossary.get(ref)
        if entry is None:
            return None
        gaz = default_gazetteer()
        known = gaz.by_spelling.get(entry.expansion) or gaz.by_spelling.get(entry.term)
        if known is not None:
            return self._resolve_known(known.kind, known.preferred, known, set(),
                                       spelling=entry.term)[0]
        if not ORG_WORDS.search(entry.expansion) or NOT_ORG.search(entry.expansion):
            return None  # a term, not a body: kept in the glossary only
        known = Known("organization", entry.expansion, (entry.term,))
        return self._resolve_known("organization", entry.expansion, known, set())[0]

    def _counts_for(self, ids: Iterable[str]) -> dict[str, int]:
        """Mentions stored before this transaction (asked once per set of rivals) plus
        those linked during it."""
        ids = tuple(sorted(ids))
        if len(ids) < 2:
            return {}
        if ids not in self._stored_counts:
            self._stored_counts[ids] = store.mention_counts(self.session, ids)
        stored = self._stored_counts[ids]
        return {i: stored.get(i, 0) + self._counts.get(i, 0) for i in ids}

    def _exists(self, eid: str) -> bool:
        return eid in self._kinds or store.entity_exists(self.session, eid)
