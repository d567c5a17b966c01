"""OAI-PMH 2.0 at /oai, harvested by a real harvester (oaipmh-scythe, the maintained fork
of sickle) from a live server, on SQLite and PostgreSQL.

The official OAI-PMH XSD cannot be fetched here, so every response the tests see is
checked against ``OAI_RNG`` below: the response structure of OAI-PMH.xsd (element
order, cardinalities, error codes, datestamp and setSpec syntax) restated in RELAX NG.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import uvicorn
from lxml import etree
from oaipmh_scythe import Scythe
from oaipmh_scythe import exceptions as oai_errors
from oaipmh_scythe.config import HTTPConfig
from oaipmh_scythe.iterator import OAIResponseIterator
from sqlalchemy import create_engine, select, text

from conftest import PG_BASE, free_port
from opis.cli import sample_corpus
from opis.model import Record
from opis.model.entity import Collection
from opis.services.archive import Archive
from opis.services.oai import OaiConfig, OaiProvider
from opis.store.tables import CollectionItemRow, RecordRow
from opis.web.app import create_app
from opis.web.oai import install_oai

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
TEI = "{http://www.tei-c.org/ns/1.0}"
REPO_ID = "opis.test"
ERROR_CODES = ("badArgument", "badResumptionToken", "badVerb", "cannotDisseminateFormat",
               "idDoesNotExist", "noRecordsMatch", "noMetadataFormats", "noSetHierarchy")

OAI_RNG = f"""
<grammar xmlns="http://relaxng.org/ns/structure/1.0"
         datatypeLibrary="http://www.w3.org/2001/XMLSchema-datatypes"
         ns="http://www.openarchives.org/OAI/2.0/">
  <start>
    <element name="OAI-PMH">
      <attribute><name ns="http://www.w3.org/2001/XMLSchema-instance">schemaLocation</name><text/></attribute>
      <element name="responseDate"><data type="dateTime"><param name="pattern">.*Z</param></data></element>
      <element name="request">
        <optional><attribute name="verb"><choice>
          <value>Identify</value><value>ListMetadataFormats</value><value>ListSets</value>
          <value>GetRecord</value><value>ListIdentifiers</value><value>ListRecords</value>
        </choice></attribute></optional>
        <optional><attribute name="identifier"><data type="anyURI"/></attribute></optional>
        <optional><attribute name="metadataPrefix"><ref name="prefix"/></attribute></optional>
        <optional><attribute name="from"><ref name="stamp"/></attribute></optional>
        <optional><attribute name="until"><ref name="stamp"/></attribute></optional>
        <optional><attribute name="set"><ref name="setSpec"/></attribute></optional>
        <optional><attribute name="resumptionToken"><text/></attribute></optional>
        <data type="anyURI"/>
      </element>
      <choice>
        <oneOrMore><element name="error">
          <attribute name="code"><choice>{"".join(f"<value>{c}</value>" for c in ERROR_CODES)}</choice></attribute>
          <text/>
        </element></oneOrMore>
        <element name="Identify">
          <element name="repositoryName"><text/></element>
          <element name="baseURL"><data type="anyURI"/></element>
          <element name="protocolVersion"><value>2.0</value></element>
          <oneOrMore><element name="adminEmail"><data type="string"><param name="pattern">\\S+@(\\S+\\.)+\\S+</param></data></element></oneOrMore>
          <element name="earliestDatestamp"><ref name="stamp"/></element>
          <element name="deletedRecord"><choice><value>no</value><value>persistent</value><value>transient</value></choice></element>
          <element name="granularity"><choice><value>YYYY-MM-DD</value><value>YYYY-MM-DDThh:mm:ssZ</value></choice></element>
          <zeroOrMore><element name="compression"><text/></element></zeroOrMore>
          <zeroOrMore><element name="description"><ref name="other"/></element></zeroOrMore>
        </element>
        <element name="ListMetadataFormats">
          <oneOrMore><element name="metadataFormat">
            <element name="metadataPrefix"><ref name="prefix"/></element>
            <element name="schema"><data type="anyURI"/></element>
            <element name="metadataNamespace"><data type="anyURI"/></element>
          </element></oneOrMore>
        </element>
        <element name="ListSets">
          <oneOrMore><element name="set">
            <element name="setSpec"><ref name="setSpec"/></element>
            <element name="setName"><text/></element>
            <zeroOrMore><element name="setDescription"><ref name="other"/></element></zeroOrMore>
          </element></oneOrMore>
          <optional><ref name="resumptionToken"/></optional>
        </element>
        <element name="GetRecord"><ref name="record"/></element>
        <element name="ListIdentifiers">
          <oneOrMore><ref name="header"/></oneOrMore>
          <optional><ref name="resumptionToken"/></optional>
        </element>
        <element name="ListRecords">
          <oneOrMore><ref name="record"/></oneOrMore>
          <optional><ref name="resumptionToken"/></optional>
        </element>
      </choice>
    </element>
  </start>
  <define name="record">
    <element name="record">
      <ref name="header"/>
      <optional><element name="metadata"><ref name="other"/></element></optional>
      <zeroOrMore><element name="about"><ref name="other"/></element></zeroOrMore>
    </element>
  </define>
  <define name="header">
    <element name="header">
      <optional><attribute name="status"><value>deleted</value></attribute></optional>
      <element name="identifier"><data type="anyURI"/></element>
      <element name="datestamp"><ref name="stamp"/></element>
      <zeroOrMore><element name="setSpec"><ref name="setSpec"/></element></zeroOrMore>
    </element>
  </define>
  <define name="resumptionToken">
    <element name="resumptionToken">
      <optional><attribute name="expirationDate"><data type="dateTime"/></attribute></optional>
      <optional><attribute name="completeListSize"><data type="positiveInteger"/></attribute></optional>
      <optional><attribute name="cursor"><data type="nonNegativeInteger"/></attribute></optional>
      <text/>
    </element>
  </define>
  <define name="stamp">
    <data type="string"><param name="pattern">\\d{{4}}-\\d{{2}}-\\d{{2}}(T\\d{{2}}:\\d{{2}}:\\d{{2}}Z)?</param></data>
  </define>
  <define name="prefix">
    <data type="string"><param name="pattern">[A-Za-z0-9\\-_\\.!~\\*'\\(\\)]+</param></data>
  </define>
  <define name="setSpec">
    <data type="string"><param name="pattern">([A-Za-z0-9\\-_\\.!~\\*'\\(\\)])+(:[A-Za-z0-9\\-_\\.!~\\*'\\(\\)]+)*</param></data>
  </define>
  <define name="other">
    <element>
      <anyName><except><nsName ns="http://www.openarchives.org/OAI/2.0/"/></except></anyName>
      <ref name="anything"/>
    </element>
  </define>
  <define name="anything">
    <zeroOrMore><choice>
      <attribute><anyName/></attribute>
      <text/>
      <element><anyName/><ref name="anything"/></element>
    </choice></zeroOrMore>
  </define>
</grammar>
"""
OAI_SCHEMA = etree.RelaxNG(etree.fromstring(OAI_RNG))


def valid(body: bytes | str) -> etree._Element:
    """Parse a response and check it against the OAI-PMH structure."""
    root = etree.fromstring(body.encode() if isinstance(body, str) else body)
    if not OAI_SCHEMA.validate(root):
        raise AssertionError(f"not a valid OAI-PMH response: {OAI_SCHEMA.error_log}\n"
                             f"{etree.tostring(root)[:2000]!r}")
    return root


# -- a live server ---------------------------------------------------------------------------

@contextmanager
def serve(archive: Archive, config: OaiConfig) -> Iterator[str]:
    """The whole web app with /oai over ``archive``, served by uvicorn; yields the endpoint."""
    app = create_app(archive)
    install_oai(app, archive, config=config)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/oai"
    finally:
        server.should_exit = True
        thread.join(5)


def config(page_size: int = 5) -> OaiConfig:
    return OaiConfig(repository_name="opis test archive", repository_id=REPO_ID,
                     admin_emails=["archivist@opis.test"], page_size=page_size)


def oai_id(record_id: str) -> str:
    return f"oai:{REPO_ID}:{record_id}"


def get(url: str, **params: str | list[str]) -> etree._Element:
    response = httpx.get(url, params=params, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    return valid(response.content)


def error_of(root: etree._Element) -> str | None:
    error = root.find(f"{OAI}error")
    return error.get("code") if error is not None else None


@dataclass
class Site:
    url: str
    archive: Archive
    ids: list[str]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The packaged sample corpus (36 records) served with 5 records a page."""
    schema = None
    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("oai") / "opis.db")
    else:
        if not request.getfixturevalue("pg_ok"):
            pytest.skip("PostgreSQL not reachable")
        schema = "t_" + uuid.uuid4().hex[:12]
        engine = create_engine(PG_BASE)
        with engine.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    archive = Archive(url)
    report = archive.ingest([sample_corpus()])
    assert report.ok, report.failed
    with archive.db.sessions() as session:
        ids = sorted(session.scalars(select(RecordRow.id)))
    assert len(ids) == 36
    try:
        with serve(archive, config()) as endpoint:
            yield Site(endpoint, archive, ids)
    finally:
        archive.close()
        if schema:
            with engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            engine.dispose()


# -- the whole archive, page by page -----------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_harvester_gets_every_record_once_across_pages(site: Site, method: str) -> None:
    harvester = Scythe(site.url, iterator=OAIResponseIterator,
                       http_config=HTTPConfig(http_method=method))
    seen: list[str] = []
    cursors: list[tuple[str | None, str | None]] = []
    pages = 0
    for response in harvester.list_records(metadata_prefix="oai_dc"):
        root = valid(response.raw)
        pages += 1
        records = root.findall(f"{OAI}ListRecords/{OAI}record")
        assert 1 <= len(records) <= 5
        for rec in records:
            seen.append(rec.findtext(f"{OAI}header/{OAI}identifier"))
            assert rec.find(f"{OAI}metadata") is not None
        token = root.find(f"{OAI}ListRecords/{OAI}resumptionToken")
        if token is not None:
            cursors.append((token.get("cursor"), token.get("completeListSize")))
    harvester.close()
    assert pages == 8  # 36 records, 5 a page
    assert len(seen) == len(set(seen)) == 36
    assert sorted(seen) == sorted(oai_id(r) for r in site.ids)
    # cursor counts what came before each page; the last page's token is empty
    assert cursors == [(str(5 * i), "36") for i in range(8)]


def test_items_from_scythe_match_the_archive(site: Site) -> None:
    with Scythe(site.url) as harvester:
        records = list(harvester.list_records(metadata_prefix="oai_dc"))
        headers = list(harvester.list_identifiers(metadata_prefix="oai_dc"))
    assert [r.header.identifier for r in records] == [h.identifier for h in headers]
    with site.archive.db.sessions() as session:
        stamps = {r.id: r.updated_at for r in session.scalars(select(RecordRow))}
    previous = ""
    for header in headers:
        rid = header.identifier.removeprefix(f"oai:{REPO_ID}:")
        at = stamps[rid]
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        assert header.datestamp == at.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert header.datestamp >= previous  # listed in datestamp order
        previous = header.datestamp
        assert not header.deleted
    by_id = {r.header.identifier: r for r in records}
    reference = by_id[oai_id("114165")]
    record = site.archive.get("114165")
    assert reference.metadata["title"] == [record.title]
    assert "opis:114165" in reference.metadata["identifier"]
    # The page a harvester's users will read comes first, the source's own URL after it.
    identifiers = reference.metadata["identifier"]
    assert identifiers[0].endswith("/document/114165"), identifiers
    assert identifiers[0].startswith("http")
    if record.source_url:
        assert record.source_url in identifiers
    assert "repository:rgani" in reference.header.setSpecs


def test_tei_records_are_valid_tei(site: Site, tei_schema: etree.RelaxNG) -> None:
    with Scythe(site.url, iterator=OAIResponseIterator) as harvester:
        n = 0
        for response in harvester.list_records(metadata_prefix="tei"):
            root = valid(response.raw)
            for rec in root.iterfind(f"{OAI}ListRecords/{OAI}record"):
                tei = rec.find(f"{OAI}metadata/{TEI}TEI")
                assert tei is not None
                doc = etree.ElementTree(copy.deepcopy(tei))
                assert tei_schema.validate(doc), tei_schema.error_log
                ident = rec.findtext(f"{OAI}header/{OAI}identifier")
                idno = tei.findtext(f".//{TEI}publicationStmt/{TEI}idno[@type='opis']")
                assert ident == oai_id(idno)
                n += 1
    assert n == 36
    # names point to the authority records on the site
    root = get(site.url, verb="GetRecord", identifier=oai_id("114165"), metadataPrefix="tei")
    refs = [e.get("ref") for e in root.iter(f"{TEI}persName") if e.get("ref")]
    base = site.url.removesuffix("/oai")
    assert refs and all(r.startswith(base + "/person/") for r in refs)


def test_identify(site: Site) -> None:
    with Scythe(site.url) as harvester:
        identify = harvester.identify()
    assert identify.repositoryName == "opis test archive"
    assert identify.baseURL == site.url
    assert identify.protocolVersion == "2.0"
    assert identify.deletedRecord == "persistent"
    assert identify.granularity == "YYYY-MM-DDThh:mm:ssZ"
    assert identify.adminEmail == "archivist@opis.test"
    root = get(site.url, verb="Identify")
    with site.archive.db.sessions() as session:
        from sqlalchemy import func

        earliest = session.scalar(select(func.min(RecordRow.updated_at)))
    earliest = earliest.replace(tzinfo=UTC) if earliest.tzinfo is None else earliest
    assert root.findtext(f"{OAI}Identify/{OAI}earliestDatestamp") == \
        earliest.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert root.findtext(f"{OAI}Identify/{OAI}compression") == "gzip"
    ns = "{http://www.openarchives.org/OAI/2.0/oai-identifier}"
    desc = root.find(f"{OAI}Identify/{OAI}description/{ns}oai-identifier")
    assert desc.findtext(f"{ns}repositoryIdentifier") == REPO_ID
    assert desc.findtext(f"{ns}sampleIdentifier").startswith(f"oai:{REPO_ID}:")
    # the request element echoes the arguments of a valid request
    assert root.find(f"{OAI}request").attrib == {"verb": "Identify"}
    assert root.findtext(f"{OAI}request") == site.url
    # large lists are compressed for clients that ask
    response = httpx.get(site.url, params={"verb": "ListRecords", "metadataPrefix": "tei"},
                         headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("content-encoding") == "gzip"


def test_list_metadata_formats(site: Site) -> None:
    with Scythe(site.url) as harvester:
        formats = {f.metadataPrefix: f for f in harvester.list_metadata_formats()}
        for_one = [f.metadataPrefix for f in
                   harvester.list_metadata_formats(identifier=oai_id("114165"))]
    assert set(formats) == {"oai_dc", "tei"} == set(for_one)
    assert formats["oai_dc"].schema == "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
    assert formats["tei"].metadataNamespace == "http://www.tei-c.org/ns/1.0"
    assert formats["tei"].schema.endswith("/tei_all.xsd")
    get(site.url, verb="ListMetadataFormats")


def test_sets_and_selective_harvesting(site: Site) -> None:
    with Scythe(site.url) as harvester:
        sets = {s.setSpec: s.setName for s in harvester.list_sets()}
        assert {"collection", "repository", "collection:frus1955-57v03",
                "collection:frus1955-57v23p2", "repository:rgani",
                "repository:german-federal-archives-barch"} <= set(sets)
        assert sets["repository:rgani"] == "RGANI"

        def harvest(spec: str) -> list[str]:
            got = [h.identifier for h in harvester.list_identifiers(metadata_prefix="oai_dc",
                                                                    set_=spec)]
            assert len(got) == len(set(got))
            return sorted(got)

        with site.archive.db.sessions() as session:
            members = sorted(session.scalars(select(CollectionItemRow.record_id).where(
                CollectionItemRow.collection_id == "frus1955-57v03")))
            barch = sorted(session.scalars(select(RecordRow.id).where(
                RecordRow.repository == "German Federal Archives (BArch)")))
            in_any = set(session.scalars(select(CollectionItemRow.record_id)))
            held = sorted(session.scalars(select(RecordRow.id).where(
                RecordRow.repository.is_not(None))))
        assert harvest("collection:frus1955-57v03") == sorted(oai_id(r) for r in members)
        assert len(members) == 12
        assert harvest("repository:german-federal-archives-barch") == sorted(
            oai_id(r) for r in barch)
        assert harvest("collection") == sorted(oai_id(r) for r in in_any)
        # Every record whose original an archive holds; FRUS editorial notes have no
        # source note, so no holding archive (the edition is not an archive).
        assert harvest("repository") == sorted(oai_id(r) for r in held)
        assert 30 <= len(held) < 36
        records = list(harvester.list_records(metadata_prefix="oai_dc",
                                              set_="collection:frus1955-57v23p2"))
        assert all("collection:frus1955-57v23p2" in r.header.setSpecs for r in records)
        assert len(records) == 12
    get(site.url, verb="ListSets")
    get(site.url, verb="ListIdentifiers", metadataPrefix="oai_dc", set="repository:rgani")


def test_get_record(site: Site) -> None:
    with Scythe(site.url) as harvester:
        record = harvester.get_record(oai_id("frus1955-57v03-d1"), metadata_prefix="oai_dc")
    assert record.header.identifier == oai_id("frus1955-57v03-d1")
    stored = site.archive.get("frus1955-57v03-d1").title
    assert stored.startswith("1. ")
    # Cited without the edition's document number, which goes with the edition (issue 18).
    assert record.metadata["title"] == [stored.removeprefix("1. ")]
    root = get(site.url, verb="GetRecord", identifier=oai_id("frus1955-57v03-d1"),
               metadataPrefix="oai_dc")
    assert root.find(f"{OAI}request").attrib == {
        "verb": "GetRecord", "identifier": oai_id("frus1955-57v03-d1"),
        "metadataPrefix": "oai_dc"}


# -- protocol errors ------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [
    {"verb": "ListRecords"},                                              # metadataPrefix missing
    {"verb": "GetRecord", "metadataPrefix": "oai_dc"},                    # identifier missing
    {"verb": "Identify", "colour": "blue"},                               # illegal argument
    {"verb": "ListRecords", "metadataPrefix": ["oai_dc", "tei"]},         # repeated argument
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-13-01"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01T10:00Z"},
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2020-01-01",
     "until": "2020-02-01T00:00:00Z"},                                    # mixed granularity
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2021-01-01",
     "until": "2020-01-01"},                                              # from after until
    {"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "collection::x"},
    {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "resumptionToken": "abc"},
    {"verb": "ListRecords", "metadataPrefix": ""},
])
def test_bad_argument(site: Site, params: dict) -> None:
    root = get(site.url, **params)
    assert error_of(root) == "badArgument"
    assert root.find(f"{OAI}request").attrib == {}  # only the base URL is echoed
    assert root.findtext(f"{OAI}request") == site.url


@pytest.mark.parametrize("params", [{}, {"verb": "Harvest"}, {"verb": ["Identify", "Identify"]},
                                    {"verb": "listrecords", "metadataPrefix": "oai_dc"}])
def test_bad_verb(site: Site, params: dict) -> None:
    root = get(site.url, **params)
    assert error_of(root) == "badVerb"
    assert root.find(f"{OAI}request").attrib == {}


def test_harvester_raises_the_error_it_is_sent(site: Site) -> None:
    with Scythe(site.url) as harvester:
        with pytest.raises(oai_errors.BadVerb):
            harvester.harvest({"verb": "Harvest"})
        with pytest.raises(oai_errors.BadArgument):
            harvester.harvest({"verb": "GetRecord", "identifier": oai_id("114165")})
        with pytest.raises(oai_errors.CannotDisseminateFormat):
            list(harvester.list_records(metadata_prefix="marc21"))
        with pytest.raises(oai_errors.CannotDisseminateFormat):
            harvester.get_record(oai_id("114165"), metadata_prefix="mods")
        with pytest.raises(oai_errors.IdDoesNotExist):
            harvester.get_record(oai_id("no-such-record"))
        with pytest.raises(oai_errors.IdDoesNotExist):
            harvester.get_record("oai:elsewhere.org:114165")  # another repository's id
        with pytest.raises(oai_errors.IdDoesNotExist):
            list(harvester.list_metadata_formats(identifier=oai_id("no-such-record")))
        with pytest.raises(oai_errors.NoRecordsMatch):
            list(harvester.list_records(from_="2999-01-01"))
        with pytest.raises(oai_errors.NoRecordsMatch):
            list(harvester.list_identifiers(set_="collection:no-such-collection"))
        with pytest.raises(oai_errors.NoRecordsMatch):
            list(harvester.list_identifiers(set_="repository:no-such-archive"))
        with pytest.raises(oai_errors.BadResumptionToken):
            list(harvester.list_records(resumption_token="not-a-token"))
        with pytest.raises(oai_errors.BadResumptionToken):
            list(harvester.list_sets(resumption_token="anything"))
        # sets are supported, so noSetHierarchy never comes
        assert list(harvester.list_sets())
    # errors other than badVerb/badArgument echo the request's arguments
    root = get(site.url, verb="GetRecord", identifier=oai_id("x"), metadataPrefix="tei")
    assert error_of(root) == "idDoesNotExist"
    assert root.find(f"{OAI}request").get("identifier") == oai_id("x")
    root = get(site.url, verb="ListRecords", metadataPrefix="oai_dc", **{"from": "2999-01-01"})
    assert error_of(root) == "noRecordsMatch"
    assert root.find(f"{OAI}request").get("from") == "2999-01-01"


def test_resumption_tokens_are_checked(site: Site) -> None:
    first = get(site.url, verb="ListIdentifiers", metadataPrefix="oai_dc")
    token = first.find(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
    assert token.get("expirationDate") and token.get("cursor") == "0"
    value = token.text
    ok = get(site.url, verb="ListIdentifiers", resumptionToken=value)
    assert error_of(ok) is None
    assert ok.find(f"{OAI}request").attrib == {"verb": "ListIdentifiers",
                                               "resumptionToken": value}
    # a ListIdentifiers token does not continue ListRecords
    assert error_of(get(site.url, verb="ListRecords", resumptionToken=value)) == \
        "badResumptionToken"
    # altered, truncated or garbage tokens are refused, not misread
    body, _, check = value.partition(".")
    altered = body[:-2] + ("AA" if body[-2:] != "AA" else "BB") + "." + check
    for bad in (altered, value[:-3], body, "%%%", value + "x"):
        assert error_of(get(site.url, verb="ListIdentifiers", resumptionToken=bad)) == \
            "badResumptionToken"
    # an expired token, checked at a later time
    provider = OaiProvider(site.archive, config())
    later = datetime.now(UTC) + timedelta(days=2)
    body = provider.respond([("verb", "ListIdentifiers"), ("resumptionToken", value)],
                            site.url, "127.0.0.1", now=later)
    root = valid(body)
    assert error_of(root) == "badResumptionToken"
    assert "expired" in root.findtext(f"{OAI}error")


def test_post_must_be_a_form(site: Site) -> None:
    response = httpx.post(site.url, content=b"verb=Identify",
                          headers={"content-type": "text/plain"})
    assert response.status_code == 415
    response = httpx.post(site.url, data={"verb": "Identify"})
    assert error_of(valid(response.content)) is None


# -- deleted records, datestamps and changes during a harvest, on a small archive ----------------

def make_record(rid: str) -> Record:
    return Record(id=rid, title=f"Report {rid}", text=f"The text of report {rid}.",
                  date="1956-09-01", original_language="ru", repository_title="AVPRF",
                  summary=f"Summary of {rid}.")


STAMPS = {
    "r1": datetime(2020, 1, 1, 0, 0, 0, tzinfo=UTC),
    "r2": datetime(2020, 1, 1, 12, 30, 0, 500000, tzinfo=UTC),
    "r3": datetime(2020, 1, 1, 23, 59, 59, 999999, tzinfo=UTC),
    "r4": datetime(2020, 1, 2, 0, 0, 0, tzinfo=UTC),
    "r5": datetime(2020, 1, 3, 8, 0, 0, tzinfo=UTC),
    "r6": datetime(2020, 1, 3, 8, 0, 0, tzinfo=UTC),  # same moment: the id breaks the tie
}


def set_stamp(archive: Archive, rid: str, at: datetime, status: str | None = None) -> None:
    """Change a record's datestamp (and status) directly, as the curation service would."""
    with archive.db.transaction() as session:
        row = session.get(RecordRow, rid)
        row.updated_at = at
        if status:
            row.status = status


@pytest.fixture
def small(archive: Archive) -> Archive:
    archive.put([make_record(r) for r in STAMPS])
    archive.save_collection(Collection("set-a", "Set A", "Two of them.", ["r3", "r1"]))
    for rid, at in STAMPS.items():
        set_stamp(archive, rid, at)
    return archive


def identifiers(url: str, **params: str) -> list[str]:
    with Scythe(url) as harvester:
        try:
            return [h.identifier.removeprefix(f"oai:{REPO_ID}:")
                    for h in harvester.list_identifiers(metadata_prefix="oai_dc", **params)]
        except oai_errors.NoRecordsMatch:
            return []


def test_from_and_until_at_both_granularities(small: Archive) -> None:
    with serve(small, config(page_size=1)) as url:
        # page size 1: every record is a page, and r5/r6 share a datestamp across pages
        assert identifiers(url) == ["r1", "r2", "r3", "r4", "r5", "r6"]
        assert identifiers(url, from_="2020-01-01", until="2020-01-01") == ["r1", "r2", "r3"]
        assert identifiers(url, from_="2020-01-02") == ["r4", "r5", "r6"]
        assert identifiers(url, until="2020-01-02") == ["r1", "r2", "r3", "r4"]
        # until is inclusive to the second: 12:30:00.5 is 12:30:00Z
        assert identifiers(url, until="2020-01-01T12:30:00Z") == ["r1", "r2"]
        assert identifiers(url, from_="2020-01-01T12:30:01Z",
                           until="2020-01-02T00:00:00Z") == ["r3", "r4"]
        assert identifiers(url, from_="2020-01-03T08:00:00Z",
                           until="2020-01-03T08:00:00Z") == ["r5", "r6"]
        assert identifiers(url, until="2019-12-31") == []
        assert identifiers(url, set_="collection:set-a") == ["r1", "r3"]
        assert identifiers(url, set_="collection:set-a", from_="2020-01-01T12:00:00Z") == ["r3"]
        assert identifiers(url, set_="repository:avprf", from_="2020-01-03") == ["r5", "r6"]
        root = get(url, verb="Identify")
        assert root.findtext(f"{OAI}Identify/{OAI}earliestDatestamp") == "2020-01-01T00:00:00Z"


def test_withdrawn_records_are_reported_deleted(small: Archive) -> None:
    set_stamp(small, "r3", datetime(2020, 1, 4, 9, 0, tzinfo=UTC), status="withdrawn")
    with serve(small, config(page_size=2)) as url, Scythe(url) as harvester:
        headers = list(harvester.list_identifiers(metadata_prefix="oai_dc"))
        assert [h.identifier for h in headers] == [oai_id(r) for r in
                                                   ("r1", "r2", "r4", "r5", "r6", "r3")]
        assert [h.deleted for h in headers] == [False] * 5 + [True]
        assert headers[-1].datestamp == "2020-01-04T09:00:00Z"
        assert headers[-1].setSpecs == ["collection:set-a", "repository:avprf"]
        records = list(harvester.list_records(metadata_prefix="tei"))
        deleted = [r for r in records if r.deleted]
        assert [r.header.identifier for r in deleted] == [oai_id("r3")]
        assert deleted[0].xml.find(f"{OAI}metadata") is None
        assert len(list(harvester.list_records(ignore_deleted=True))) == 5
        # an incremental harvest after the withdrawal learns of it
        since = list(harvester.list_records(from_="2020-01-04"))
        assert [(r.header.identifier, r.deleted) for r in since] == [(oai_id("r3"), True)]
        # still a member of its set, as a deleted record
        assert [h.identifier for h in harvester.list_identifiers(set_="collection:set-a")] \
            == [oai_id("r1"), oai_id("r3")]
        record = harvester.get_record(oai_id("r3"), metadata_prefix="oai_dc")
        assert record.deleted
        with pytest.raises(oai_errors.NoMetadataFormats):
            list(harvester.list_metadata_formats(identifier=oai_id("r3")))
        assert harvester.identify().deletedRecord == "persistent"
        for params in ({"verb": "GetRecord", "identifier": oai_id("r3"),
                        "metadataPrefix": "oai_dc"},
                       {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
                       {"verb": "ListMetadataFormats", "identifier": oai_id("r3")}):
            root = get(url, **params)
            assert error_of(root) in (None, "noMetadataFormats")


def test_changes_during_a_harvest_are_neither_lost_nor_repeated(small: Archive) -> None:
    with serve(small, config(page_size=2)) as url:
        first = get(url, verb="ListIdentifiers", metadataPrefix="oai_dc")
        started = first.findtext(f"{OAI}responseDate")
        got = [h.findtext(f"{OAI}identifier") for h in first.iter(f"{OAI}header")]
        token = first.findtext(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
        # meanwhile r1 (already harvested) and r6 (not yet) change
        now = datetime.now(UTC)
        set_stamp(small, "r1", now)
        set_stamp(small, "r6", now)
        while token:
            page = get(url, verb="ListIdentifiers", resumptionToken=token)
            got += [h.findtext(f"{OAI}identifier") for h in page.iter(f"{OAI}header")]
            token = page.findtext(f"{OAI}ListIdentifiers/{OAI}resumptionToken")
        assert len(got) == len(set(got))
        assert got == [oai_id(r) for r in ("r1", "r2", "r3", "r4", "r5")]
        # the next incremental harvest, from the first response's date, has both changes
        assert identifiers(url, from_=started) == ["r1", "r6"]


def test_collection_ids_outside_setspec_syntax_are_escaped(small: Archive) -> None:
    small.save_collection(Collection("teaching/set 1~", "Teaching set", None, ["r2", "r5"]))
    with serve(small, config()) as url, Scythe(url) as harvester:
        specs = [s.setSpec for s in harvester.list_sets()]
        assert "collection:teaching~2Fset~201~7E" in specs
        assert identifiers(url, set_="collection:teaching~2Fset~201~7E") == ["r2", "r5"]
        header = harvester.get_record(oai_id("r2")).header
        assert "collection:teaching~2Fset~201~7E" in header.setSpecs


def test_the_structure_check_rejects_broken_responses() -> None:
    good = (b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" '
            b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="x y">'
            b'<responseDate>2020-01-01T00:00:00Z</responseDate><request>http://h/oai</request>'
            b'<ListIdentifiers><header><identifier>oai:a.b:1</identifier>'
            b'<datestamp>2020-01-01</datestamp></header></ListIdentifiers></OAI-PMH>')
    valid(good)
    for broken in (good.replace(b"<datestamp>2020-01-01</datestamp>", b""),
                   good.replace(b"2020-01-01</datestamp>", b"2020-01-01T00:00</datestamp>"),
                   good.replace(b"<header><identifier>oai:a.b:1</identifier>"
                                b"<datestamp>2020-01-01</datestamp></header>", b""),
                   good.replace(b"<request>", b'<request verb="Harvest">'),
                   good.replace(b"00:00:00Z</responseDate>", b"00:00:00</responseDate>")):
        with pytest.raises(AssertionError):
            valid(broken)


def test_install_twice_replaces_the_provider(tmp_path) -> None:
    archive = Archive(str(tmp_path / "opis.db"))
    try:
        app = create_app(archive)
        install_oai(app, archive, config=config(page_size=7))
        install_oai(app, archive, config=config(page_size=3))
        routes = [r for r in app.routes if getattr(r, "path", None) == "/oai"]
        assert len(routes) == 2  # GET and POST, once each
        assert app.state.oai.config.page_size == 3
    finally:
        archive.close()
