"""Pages for people, places, organizations and events (and their JSON twins).

An entity id is "<kind>/<slug>"; its page is at /<kind>/<slug>. Slugs from some
authority files carry more characters than a plain slug, so the route takes a path.
"""

from __future__ import annotations

import math
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException

from opis.model.entity import Entity
from opis.services import reading
from opis.services.archive import Archive
from opis.web.deps import archive_of, page
from opis.web.render import ENTITY_KINDS, KIND_LABELS, document_url, entity_url

DOCS_PER_PAGE = 20
PLURALS = {"person": "People", "place": "Places", "organization": "Organizations",
           "event": "Events"}


def identifier_links(entity: Entity) -> list[dict]:
    """Identifiers with a link where the scheme has a public page."""
    out = []
    for scheme, value in sorted(entity.identifiers.items()):
        url = None
        label = {"wikidata": "Wikidata", "frus": "FRUS persons list", "viaf": "VIAF",
                 "source_id": "Source id", "lcnaf": "Library of Congress"}.get(scheme, scheme)
        if scheme == "wikidata" and str(value).startswith("Q"):
            url = f"https://www.wikidata.org/wiki/{value}"
        elif scheme == "viaf":
            url = f"https://viaf.org/viaf/{value}"
        elif scheme == "lcnaf":
            url = f"https://id.loc.gov/authorities/names/{value}"
        elif scheme == "frus" and "/" in str(entity.identifiers.get("source_id", "")):
            volume = str(entity.identifiers["source_id"]).split("/")[0]
            url = f"https://history.state.gov/historicaldocuments/{volume}/persons#{value}"
        out.append({"scheme": scheme, "label": label, "value": str(value), "url": url})
    return out


def shared_url(a: str, b: str) -> str:
    """The search for documents naming both entities."""
    return "/search?" + urlencode([(a.split("/", 1)[0], a), (b.split("/", 1)[0], b)])


def entity_view(archive: Archive, entity: Entity, page_no: int) -> dict:
    """Everything the entity page shows, as plain data (the JSON twin is this)."""
    total = reading.entity_record_count(archive, entity.id)
    docs = reading.entity_documents(archive, entity.id, DOCS_PER_PAGE,
                                    (page_no - 1) * DOCS_PER_PAGE)
    alongside = {}
    for kind in ENTITY_KINDS:
        pairs = reading.co_mentioned(archive, entity.id, kind, 12)
        if pairs:
            alongside[kind] = [{"id": e, "label": label, "shared": n, "url": entity_url(e),
                                "documents": shared_url(entity.id, e)} for e, label, n in pairs]
    network = None
    if entity.kind == "person":
        net = reading.network(archive, entity.id, 25)
        if len(net["nodes"]) > 1:
            network = {"nodes": [{**n, "url": entity_url(n["id"]),
                                  "documents": shared_url(entity.id, n["id"])
                                  if not n["center"] else f"/search?person={entity.id}"}
                                 for n in net["nodes"]],
                       "edges": [{**e, "documents": shared_url(e["source"], e["target"])}
                                 for e in net["edges"]]}
    return {
        "id": entity.id, "kind": entity.kind, "preferred": entity.preferred,
        "variants": entity.variants, "description": entity.description,
        "identifiers": identifier_links(entity), "url": entity_url(entity.id),
        "search": f"/search?{urlencode([(entity.kind, entity.id)])}",
        "documents": {"total": total, "page": page_no,
                      "pages": max(1, math.ceil(total / DOCS_PER_PAGE)),
                      "items": [{"id": d.record.id, "title": d.record.title,
                                 "date": d.record.date, "url": document_url(d.record.id),
                                 "mentions": d.mentions, "snippet": d.snippet,
                                 "where": d.where} for d in docs]},
        "co_mentioned": alongside,
        "network": network,
    }


def find(archive: Archive, kind: str, slug: str) -> tuple[Entity, bool]:
    """The entity and whether the JSON twin was asked for (``.json`` after the slug)."""
    entity = archive.entity(f"{kind}/{slug}")
    as_json = False
    if entity is None and slug.endswith(".json"):
        entity, as_json = archive.entity(f"{kind}/{slug[:-5]}"), True
    if entity is None or entity.kind != kind:
        shown = slug[:-5] if slug.endswith(".json") else slug
        raise HTTPException(404, f"No {KIND_LABELS[kind].lower()} with id {kind}/{shown}")
    return entity, as_json


router = APIRouter()


def _route(kind: str) -> None:
    def entity_page(request: Request, slug: str,
                    page_no: int = Query(1, alias="page", ge=1, le=10000)) -> Response:
        archive = archive_of(request)
        entity, as_json = find(archive, kind, slug)
        view = reading.Snapshot(archive).get(f"entity:{entity.id}:{page_no}",
                                             lambda: entity_view(archive, entity, page_no))
        if as_json:
            return JSONResponse(view)
        return page(request, "entity.html", entity=entity, view=view,
                    kind_label=KIND_LABELS[kind], plurals=PLURALS, kind_labels=KIND_LABELS)

    entity_page.__name__ = f"{kind}_page"
    router.add_api_route(f"/{kind}/{{slug:path}}", entity_page, methods=["GET"],
                         response_class=HTMLResponse, tags=["pages"],
                         summary=f"A {kind} page; add .json for its JSON twin")


for _kind in ENTITY_KINDS:
    _route(_kind)
