"""The advanced search form (``/search/advanced``): rows for the words to have and not
to have, names, the original language, archive, classification, collection and dates.
Submitting it opens the ordinary search page for the same search
(services/advanced_search.py), so the result can be bookmarked and refined."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opis.model.dates import typed_day
from opis.services.advanced_search import choices, compose
from opis.web.deps import archive_of, page
from opis.web.search import SORTS, SearchParams

router = APIRouter()


def _field() -> str:
    """A row of the form (each parameter needs its own Query: FastAPI keeps the name on
    it, so one shared object would give every row the first row's value)."""
    return Query("", max_length=500)


def _form(request: Request, code: int = 200, error: str | None = None,
          values: dict[str, str] | None = None) -> HTMLResponse:
    return page(request, "advanced.html", code, choices=choices(archive_of(request)),
                sorts=SORTS, error=error, values=values or {})


@router.get("/search/advanced", response_class=HTMLResponse, tags=["pages"],
            summary="The advanced search form")
def advanced_form(request: Request) -> HTMLResponse:
    return _form(request)


@router.get("/search/advanced/go", response_class=HTMLResponse, tags=["pages"],
            summary="The advanced form's search, as the ordinary search page's URL")
def advanced_go(request: Request, all_words: str = _field(), phrase: str = _field(),
                any_words: str = _field(), none_words: str = _field(),
                person: str = _field(), place: str = _field(), organization: str = _field(),
                language: str = Query("", max_length=20),
                repository: str = Query("", max_length=300),
                classification: str = Query("", max_length=100),
                collection: str = Query("", max_length=200),
                date_from: str = Query("", alias="from", max_length=40),
                date_to: str = Query("", alias="to", max_length=40),
                sort: str = Query("relevance", max_length=10)) -> Response:
    values = {"all_words": all_words, "phrase": phrase, "any_words": any_words,
              "none_words": none_words, "person": person, "place": place,
              "organization": organization, "language": language,
              "repository": repository, "classification": classification,
              "collection": collection, "from": date_from, "to": date_to, "sort": sort}
    for label, value, start in (("From", date_from, True), ("To", date_to, False)):
        if value.strip() and typed_day(value, start=start) is None:
            return _form(request, 422, f"{label}: {value!r} is not a date; give a year, "
                                       "a month (1957-05) or a day (1957-05-12).", values)
    composed = compose(archive_of(request), all_words=all_words, phrase=phrase,
                       any_words=any_words, none_words=none_words,
                       names={"person": person, "place": place,
                              "organization": organization})
    filters = dict(composed.filters)
    for name, value in (("language", language), ("repository", repository),
                        ("classification", classification), ("collection", collection)):
        if value.strip():
            filters[name] = [value.strip()]
    params = SearchParams(composed.q, date_from.strip(), date_to.strip(), filters,
                          sort if sort in SORTS else "relevance")
    return RedirectResponse(params.url(), 303)
