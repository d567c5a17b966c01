"""OAI-PMH 2.0: the protocol harvesters (library catalogues, aggregators) speak.

Pure protocol logic over the archive: arguments in, an XML document out. The web layer
(``opis.web.oai``) only turns HTTP into ``respond`` calls.

Choices worth knowing (docs/oai-pmh.md says them for harvesters):

- Datestamps are ``records.updated_at`` in UTC, to the second.
- Lists are ordered by (updated_at, id) and resumption tokens carry the last key seen
  (keyset paging): no server state, and a record that changes during a harvest cannot
  shift the pages. A token also fixes the moment the harvest began, so a record changed
  meanwhile is left to the next incremental harvest instead of being sent twice.
- Records whose status is not "published" are deleted as far as harvesters are concerned
  and stay reported as deleted, because opis never removes a record row ("persistent").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

from lxml import etree

from opis.config import settings
from opis.model import Record
from opis.names.authority import slug
from opis.services.archive import Archive
from opis.services.export.dublin_core import DC_NS, OAI_DC_NS, OAI_DC_SCHEMA, dublin_core_element
from opis.services.export.mapping import ExportContext
from opis.services.export.tei import TEI_NS, to_tei_element
from opis.services.oai_tokens import (
    DAY_STAMP,
    MAX_TOKEN,
    Harvest,
    OaiError,
    as_utc,
    datestamp,
    decode_set_part,
    encode_set_part,
    encode_token,
    parse_datestamp,
    read_token,
    token_signer,
)
from opis.services.signing import SignedJSON, archive_secret
from opis.store import harvest as store
from opis.store.errors import StoreSession
from opis.store.harvest import HarvestFilter, HarvestItem, SetScope

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_ID_NS = "http://www.openarchives.org/OAI/2.0/oai-identifier"
OAI_ID_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
TEI_SCHEMA = "https://tei-c.org/release/xml/tei/custom/schema/xsd/tei_all.xsd"

GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
DELETED_RECORD = "persistent"
PUBLISHED = "published"

# The oai-identifier scheme: a domain name as namespace, URI characters as local part.
_DOMAIN = re.compile(r"^[A-Za-z][A-Za-z0-9\-]*(\.[A-Za-z][A-Za-z0-9\-]*)+$")
_LOCAL_SAFE = "-_.!~*'();/?:@&=+$,"
_SET_SPEC = re.compile(r"^[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*$")
# Bounds on what a harvester sends: an argument is at most 2,048 characters (a token
# 4,096: it carries the set), and only characters XML can hold, since arguments are
# echoed in the response (lxml refuses NUL and most control characters outright).
MAX_ARGUMENT = 2048
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str
    # (record, entity links, the record's opis page) -> the metadata element
    write: Callable[[Record, dict[str, str], str], etree._Element]


def _dc(record: Record, _refs: dict[str, str], url: str) -> etree._Element:
    # The page a harvester's users will read is the first identifier; the source's own
    # URL follows it (docs/export.md). No access date: a harvest is not a reading.
    return dublin_core_element(record, ExportContext(url=url))


def _tei(record: Record, refs: dict[str, str], _url: str) -> etree._Element:
    return to_tei_element(record, refs)


FORMATS: dict[str, MetadataFormat] = {
    "oai_dc": MetadataFormat("oai_dc", OAI_DC_SCHEMA, OAI_DC_NS, _dc),
    "tei": MetadataFormat("tei", TEI_SCHEMA, TEI_NS, _tei),
}

# verb -> (required arguments, optional arguments, exclusive argument)
VERBS: dict[str, tuple[frozenset[str], frozenset[str], str | None]] = {
    "Identify": (frozenset(), frozenset(), None),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"}), None),
    "ListSets": (frozenset(), frozenset(), "resumptionToken"),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset(), None),
    "ListIdentifiers": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}),
                        "resumptionToken"),
    "ListRecords": (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}),
                    "resumptionToken"),
}

HANDLERS = {"Identify": "identify", "ListMetadataFormats": "list_metadata_formats",
            "ListSets": "list_sets", "GetRecord": "get_record",
            "ListIdentifiers": "list_identifiers", "ListRecords": "list_records"}


@dataclass
class OaiConfig:
    """What a deployment sets (environment variables ``OPIS_OAI_*``, see docs/oai-pmh.md)."""

    repository_name: str = "opis"
    repository_id: str | None = None  # identifier namespace; None: the request's host name
    admin_emails: list[str] = field(default_factory=list)
    page_size: int = 100
    token_lifetime: timedelta = timedelta(hours=24)
    compression: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls) -> OaiConfig:
        """The repository the settings (``OPIS_OAI_*``) describe."""
        oai = settings().oai
        return cls(repository_name=oai.repository_name, repository_id=oai.repository_id,
                   admin_emails=list(oai.admin_emails), page_size=oai.page_size,
                   token_lifetime=timedelta(hours=oai.token_hours))


def decode_token(token: str, verb: str, now: datetime, signer: SignedJSON) -> Harvest:
    """A token's list, checked as ``read_token`` does and for a format this repository has."""
    harvest = read_token(token, verb, now, signer)
    if harvest.prefix not in FORMATS:
        raise OaiError("badResumptionToken", "The resumption token names no metadata "
                                             "format of this repository.")
    return harvest


def _sub(parent: etree._Element, tag: str, text: str | None = None,
         **attrs: str) -> etree._Element:
    elem = etree.SubElement(parent, f"{{{OAI_NS}}}{tag}", attrs)
    if text is not None:
        elem.text = text
    return elem


# -- the provider --------------------------------------------------------------------------

class OaiProvider:
    """Answers OAI-PMH requests from the archive's records, collections and repositories."""

    def __init__(self, archive: Archive, config: OaiConfig | None = None):
        self.archive = archive
        self.config = config or OaiConfig.from_env()
        self._tokens: SignedJSON | None = None

    @property
    def tokens(self) -> SignedJSON:
        """Signs and checks resumption tokens (the archive's secret, read once)."""
        if self._tokens is None:
            self._tokens = token_signer(archive_secret(self.archive.db))
        return self._tokens

    def repository_id(self, host: str) -> str:
        return self.config.repository_id or host or "localhost"

    def identifier(self, record_id: str, host: str) -> str:
        return f"oai:{self.repository_id(host)}:{quote(record_id, safe=_LOCAL_SAFE)}"

    def record_id(self, identifier: str, host: str) -> str:
        prefix = f"oai:{self.repository_id(host)}:"
        if not identifier.startswith(prefix) or len(identifier) == len(prefix):
            raise OaiError("idDoesNotExist", f"{identifier!r} is not an identifier of this "
                                             f"repository (they look like {prefix}ID).")
        rid = unquote(identifier[len(prefix):])
        if _NOT_XML.search(rid) or len(rid) > 200:  # no record id is like that
            raise OaiError("idDoesNotExist", f"There is no record {identifier}.")
        return rid

    def respond(self, params: Sequence[tuple[str, str]], base_url: str, host: str,
                site: str | None = None, now: datetime | None = None) -> bytes:
        """The response document for a request's arguments (in the order sent, repeats
        kept, since a repeated argument is itself an error)."""
        now = as_utc(now or datetime.now(UTC))
        root = etree.Element(f"{{{OAI_NS}}}OAI-PMH", nsmap={None: OAI_NS, "xsi": XSI_NS})
        root.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_NS} {OAI_SCHEMA}")
        _sub(root, "responseDate", datestamp(now))
        request = _sub(root, "request", base_url)
        ctx = _Context(self, host, base_url, site or base_url.rsplit("/", 1)[0], now)
        try:
            verb, args = _check_arguments(params)
            for name in ("verb", *sorted(args)):
                request.set(name, verb if name == "verb" else args[name])
            # The primary, not a replica: a harvest lists what changed before it began,
            # and a lagging replica would hide changes from this and every later harvest.
            with self.archive.db.primary_sessions() as session:
                getattr(ctx, HANDLERS[verb])(session, root, args)
        except OaiError as e:
            for elem in list(root)[2:]:
                root.remove(elem)
            if e.code in ("badVerb", "badArgument"):
                request.attrib.clear()  # the spec: echo only the base URL then
            _sub(root, "error", e.message, code=e.code)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _check_arguments(params: Sequence[tuple[str, str]]) -> tuple[str, dict[str, str]]:
    verbs = [v for k, v in params if k == "verb"]
    if len(verbs) != 1:
        raise OaiError("badVerb", "The verb argument is missing." if not verbs
                       else "The verb argument is repeated.")
    verb = verbs[0]
    if verb not in VERBS:
        raise OaiError("badVerb", f"{verb!r} is not an OAI-PMH verb; use one of "
                                  f"{', '.join(VERBS)}.")
    required, optional, exclusive = VERBS[verb]
    args: dict[str, str] = {}
    for name, value in params:
        if name == "verb":
            continue
        if _NOT_XML.search(name) or len(name) > 100:
            raise OaiError("badArgument", f"{verb} takes no {name[:100]!r} argument.")
        bad = _NOT_XML.search(value)
        if bad:
            raise OaiError("badArgument", f"The {name} argument holds the character "
                                          f"U+{ord(bad.group()):04X}, which no argument "
                                          "of OAI-PMH may contain.")
        limit = MAX_TOKEN if name == "resumptionToken" else MAX_ARGUMENT
        if len(value) > limit:
            raise OaiError("badArgument", f"The {name} argument is longer than {limit:,} "
                                          "characters.")
        if name in args:
            raise OaiError("badArgument", f"The {name} argument is repeated.")
        if name not in required | optional and name != exclusive:
            raise OaiError("badArgument", f"{verb} takes no {name} argument.")
        if not value:
            raise OaiError("badArgument", f"The {name} argument is empty.")
        args[name] = value
    if exclusive and exclusive in args:
        if len(args) > 1:
            raise OaiError("badArgument", f"{exclusive} is an exclusive argument: send it "
                                          "with the verb only.")
        return verb, args
    missing = sorted(required - set(args))
    if missing:
        raise OaiError("badArgument", f"{verb} needs the {', '.join(missing)} argument.")
    return verb, args


class _Context:
    """One request: the provider plus the host it was reached at and the time."""

    def __init__(self, provider: OaiProvider, host: str, base_url: str, site: str,
                 now: datetime):
        self.provider = provider
        self.base_url = base_url
        self.config = provider.config
        self.host = host
        self.site = site.rstrip("/")
        self.now = now

    # -- verbs ---------------------------------------------------------------------------

    def identify(self, session: StoreSession, root: etree._Element, _args: dict[str, str]) -> None:
        repo_id = self.provider.repository_id(self.host)
        earliest = store.earliest_change(session)
        identify = _sub(root, "Identify")
        _sub(identify, "repositoryName", self.config.repository_name)
        _sub(identify, "baseURL", self.base_url)
        _sub(identify, "protocolVersion", "2.0")
        emails = self.config.admin_emails or [
            f"webmaster@{repo_id}" if _DOMAIN.match(repo_id) else "webmaster@localhost.localdomain"]
        for email in emails:
            _sub(identify, "adminEmail", email)
        _sub(identify, "earliestDatestamp", datestamp(earliest if earliest else self.now))
        _sub(identify, "deletedRecord", DELETED_RECORD)
        _sub(identify, "granularity", GRANULARITY)
        for encoding in self.config.compression:
            _sub(identify, "compression", encoding)
        if _DOMAIN.match(repo_id):
            sample = store.first_record_id(session)
            desc = _sub(identify, "description")
            ident = etree.SubElement(desc, f"{{{OAI_ID_NS}}}oai-identifier",
                                     nsmap={None: OAI_ID_NS, "xsi": XSI_NS})
            ident.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_ID_NS} {OAI_ID_SCHEMA}")
            for tag, value in (("scheme", "oai"), ("repositoryIdentifier", repo_id),
                               ("delimiter", ":"),
                               ("sampleIdentifier",
                                self.provider.identifier(sample or "1", self.host))):
                etree.SubElement(ident, f"{{{OAI_ID_NS}}}{tag}").text = value

    def list_metadata_formats(self, session: StoreSession, root: etree._Element,
                            args: dict[str, str]) -> None:
        if "identifier" in args:
            row = self._row(session, args["identifier"])
            if row.status != PUBLISHED:
                raise OaiError("noMetadataFormats", f"{args['identifier']} has been withdrawn: "
                                                    "no metadata is disseminated for it.")
        formats = _sub(root, "ListMetadataFormats")
        for fmt in FORMATS.values():
            elem = _sub(formats, "metadataFormat")
            _sub(elem, "metadataPrefix", fmt.prefix)
            _sub(elem, "schema", fmt.schema)
            _sub(elem, "metadataNamespace", fmt.namespace)

    def list_sets(self, session: StoreSession, root: etree._Element,
                 args: dict[str, str]) -> None:
        if "resumptionToken" in args:
            raise OaiError("badResumptionToken", "The set list is never split, so no "
                                                 "resumption token continues it.")
        sets = _sub(root, "ListSets")
        self._set(sets, "collection", "Collections",
                  "Curated, ordered sets of records (a published volume, a teaching set).")
        for cid, title, description in store.collections(session):
            self._set(sets, f"collection:{encode_set_part(cid)}", title, description)
        self._set(sets, "repository", "Holding archives",
                  "Records grouped by the archive that holds the original.")
        for spec, name in sorted(_repositories(session).items()):
            self._set(sets, f"repository:{spec}", name, None)

    def get_record(self, session: StoreSession, root: etree._Element,
                  args: dict[str, str]) -> None:
        fmt = _format(args["metadataPrefix"])
        row = self._row(session, args["identifier"])
        memberships = store.memberships(session, [row.id])
        self._record(_sub(root, "GetRecord"), row, memberships, fmt)

    def list_identifiers(self, session: StoreSession, root: etree._Element,
                        args: dict[str, str]) -> None:
        self._list(session, root, args, "ListIdentifiers")

    def list_records(self, session: StoreSession, root: etree._Element,
                    args: dict[str, str]) -> None:
        self._list(session, root, args, "ListRecords")

    # -- lists ---------------------------------------------------------------------------

    def _list(self, session: StoreSession, root: etree._Element, args: dict[str, str],
              verb: str) -> None:
        if "resumptionToken" in args:
            harvest = decode_token(args["resumptionToken"], verb, self.now,
                                   self.provider.tokens)
            resumed = True
        else:
            _format(args["metadataPrefix"])
            harvest = Harvest(verb, args["metadataPrefix"], args.get("set"), args.get("from"),
                               args.get("until"), self.now)
            resumed = False
        try:
            where = self._filter(session, harvest)
        except OaiError as e:
            if resumed and e.code == "badArgument":
                raise OaiError("badResumptionToken", e.message) from None
            raise
        if where is None:
            raise OaiError("noRecordsMatch", f"There is no set {harvest.set_spec!r}.")
        total = store.count(session, where)
        size = self.config.page_size
        records = verb == "ListRecords"
        rows = store.page(session, where, harvest.after, size + 1, whole=records)
        if not rows:
            raise OaiError("noRecordsMatch", "No record matches these arguments." if not resumed
                           else "No record is left in this list (sets changed meanwhile).")
        page, more = rows[:size], len(rows) > size
        memberships = store.memberships(session, [r.id for r in page])
        container = _sub(root, verb)
        fmt = FORMATS[harvest.prefix]
        for row in page:
            if records:
                self._record(container, row, memberships, fmt)
            else:
                self._header(container, row, memberships)
        if more:
            last = page[-1]
            following = Harvest(verb, harvest.prefix, harvest.set_spec, harvest.from_,
                                 harvest.until, harvest.started,
                                 (as_utc(last.updated_at), last.id), harvest.cursor + len(page))
            expires = self.now + self.config.token_lifetime
            _sub(container, "resumptionToken",
                 encode_token(following, expires, self.provider.tokens),
                 expirationDate=datestamp(expires), completeListSize=str(total),
                 cursor=str(harvest.cursor))
        elif resumed:
            _sub(container, "resumptionToken", None, completeListSize=str(total),
                 cursor=str(harvest.cursor))

    def _filter(self, session: StoreSession, harvest: Harvest) -> HarvestFilter | None:
        """The list's selection, or None when it names a set that does not exist."""
        lo = parse_datestamp(harvest.from_, until=False) if harvest.from_ else None
        hi = parse_datestamp(harvest.until, until=True) if harvest.until else None
        if harvest.from_ and harvest.until:
            if bool(DAY_STAMP.match(harvest.from_)) != bool(DAY_STAMP.match(harvest.until)):
                raise OaiError("badArgument", "from and until must have the same granularity.")
            if lo and hi and lo >= hi:
                raise OaiError("badArgument", "from is later than until.")
        scope = None
        if harvest.set_spec:
            scope = _set_scope(session, harvest.set_spec)
            if scope is None:
                return None
        return HarvestFilter(harvest.started, lo, hi, scope)

    # -- pieces --------------------------------------------------------------------------

    def _row(self, session: StoreSession, identifier: str) -> HarvestItem:
        rid = self.provider.record_id(identifier, self.host)
        row = store.item(session, rid)
        if row is None:
            raise OaiError("idDoesNotExist", f"There is no record {identifier}.")
        return row

    def _set(self, parent: etree._Element, spec: str, name: str,
             description: str | None) -> None:
        elem = _sub(parent, "set")
        _sub(elem, "setSpec", spec)
        _sub(elem, "setName", name)
        if description:
            dc = etree.SubElement(_sub(elem, "setDescription"), f"{{{OAI_DC_NS}}}dc",
                                  nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS, "xsi": XSI_NS})
            dc.set(f"{{{XSI_NS}}}schemaLocation", f"{OAI_DC_NS} {OAI_DC_SCHEMA}")
            etree.SubElement(dc, f"{{{DC_NS}}}description").text = description

    def _header(self, parent: etree._Element, row: HarvestItem,
                memberships: dict[str, list[str]]) -> None:
        header = _sub(parent, "header")
        if row.status != PUBLISHED:
            header.set("status", "deleted")
        _sub(header, "identifier", self.provider.identifier(row.id, self.host))
        _sub(header, "datestamp", datestamp(row.updated_at))
        for spec in _specs(row, memberships):
            _sub(header, "setSpec", spec)

    def _record(self, parent: etree._Element, row: HarvestItem,
                memberships: dict[str, list[str]], fmt: MetadataFormat) -> None:
        elem = _sub(parent, "record")
        self._header(elem, row, memberships)
        if row.status == PUBLISHED and row.record is not None:
            record = row.record
            refs = {m.entity_id: f"{self.site}/{quote(m.entity_id, safe='/')}"
                    for m in record.mentions}
            page = f"{self.site}/document/{quote(record.id, safe='')}"
            _sub(elem, "metadata").append(fmt.write(record, refs, page))


def _format(prefix: str) -> MetadataFormat:
    if prefix not in FORMATS:
        raise OaiError("cannotDisseminateFormat", f"{prefix!r} is not a metadata format of "
                                                  f"this repository; use {', '.join(FORMATS)}.")
    return FORMATS[prefix]


def _repositories(session: StoreSession) -> dict[str, str]:
    """setSpec part -> repository name (the first, when names share a slug)."""
    out: dict[str, str] = {}
    for name in store.repository_names(session):
        out.setdefault(slug(name), name)
    return out


def _set_scope(session: StoreSession, spec: str) -> SetScope | None:
    """The records a setSpec names, or None when no such set exists."""
    if not _SET_SPEC.match(spec):
        raise OaiError("badArgument", f"{spec!r} is not a setSpec.")
    top, _, rest = spec.partition(":")
    if top == "collection":
        if not rest:
            return SetScope("collection")
        cid = decode_set_part(rest)
        if _NOT_XML.search(cid) or not store.collection_exists(session, cid):
            return None
        return SetScope("collection", collection_id=cid)
    if top == "repository":
        if not rest:
            return SetScope("repository")
        names = [n for n in store.repository_names(session) if slug(n) == rest]
        return SetScope("repository", repositories=names) if names else None
    return None


def _specs(row: HarvestItem, memberships: dict[str, list[str]]) -> list[str]:
    specs = [f"collection:{encode_set_part(c)}" for c in memberships.get(row.id, [])]
    if row.repository and row.repository.strip():
        specs.append(f"repository:{slug(row.repository)}")
    return specs


__all__ = ["FORMATS", "OaiConfig", "OaiError", "OaiProvider", "decode_token", "encode_token",
           "token_signer"]
