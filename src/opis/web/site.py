"""What makes the site an archive's own rather than "opis": its name in every page's
header and title (``OPIS_SITE_NAME``), its logo (``OPIS_SITE_LOGO``, served at
``/site-logo``) and an About page (``/about``) whose text the operator writes in
Markdown (``OPIS_ABOUT``), reduced to harmless HTML."""

from __future__ import annotations

import nh3
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup
from starlette.exceptions import HTTPException

from opis import config
from opis.web.deps import archive_of, page

ABOUT_TAGS = {"h2", "h3", "h4", "p", "br", "em", "strong", "i", "b", "ul", "ol", "li", "a",
              "blockquote", "code", "pre", "hr", "abbr", "q", "cite", "sub", "sup", "table",
              "thead", "tbody", "tr", "th", "td"}
LOGO_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".svg": "image/svg+xml", ".webp": "image/webp"}


def about_html(markdown: str) -> Markup:
    """The operator's Markdown as HTML with no script, style, form or event handler, and
    its headings one level under the page's own title."""
    html = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    for level in (3, 2, 1):  # the page has its h1: # becomes h2, ## h3 ...
        html = html.replace(f"<h{level}>", f"<h{level + 1}>")
        html = html.replace(f"</h{level}>", f"</h{level + 1}>")
    return Markup(nh3.clean(html, tags=ABOUT_TAGS, attributes={"a": {"href", "title"}},
                            url_schemes={"http", "https", "mailto"},
                            link_rel="noopener noreferrer"))


def install_site(app: FastAPI) -> None:
    found = config.settings()
    templates = app.state.templates
    templates.env.globals["site_name"] = found.site_name
    templates.env.globals["site_logo"] = "/site-logo" if found.site_logo else None
    about_text = about_html(found.about.read_text(encoding="utf-8")) if found.about else None

    @app.get("/about", response_class=HTMLResponse, tags=["pages"],
             summary="What this archive is, in its operator's words")
    def about(request: Request) -> HTMLResponse:
        archive = archive_of(request)
        return page(request, "about.html", about=about_text, total=archive.count())

    @app.get("/site-logo", include_in_schema=False)
    def logo() -> Response:
        if found.site_logo is None:
            raise HTTPException(404, "This site has no logo")
        return FileResponse(found.site_logo,
                            media_type=LOGO_TYPES[found.site_logo.suffix.lower()],
                            headers={"Cache-Control": "public, max-age=3600",
                                     "Content-Security-Policy": "default-src 'none'; "
                                                                "style-src 'unsafe-inline'"})
