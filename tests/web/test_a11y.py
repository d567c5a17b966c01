"""Accessibility and weight in Chromium: axe-core finds no serious or critical problem,
the keyboard reaches facets and results in order with visible focus, nothing scrolls
sideways at 360 px, and every request stays on the opis origin.

axe-core is vendored in tests/data/axe (npm package axe-core, MPL-2.0) and injected by
the test; it is never part of the opis package. Injecting a script needs the page's
CSP bypassed, which only this test's browser context does.
"""

from __future__ import annotations

import pytest

from paths import DATA

pytestmark = pytest.mark.browser

AXE = DATA / "axe" / "axe.min.js"
PAGES = {
    "home": "/",
    "search": "/search?q=Korea",
    "search, filtered and empty": "/search?q=plenum&language=ja",
    "document": "/document/114165",
    "FRUS document": "/document/frus1955-57v23p2-d8",
    "person": "/person/syngman-rhee",
    "place": "/place/pyongyang",
    "browse": "/browse",
    "years": "/browse/years",
    "people": "/browse/people",
    "subjects": "/browse/subjects",
    "collection": "/collections/frus1955-57v03",
}
MUST_PASS = ("home", "search", "document", "person")


@pytest.fixture(scope="module")
def axe_context(browser):
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900},
                                  reduced_motion="reduce")
    yield context
    context.close()


def violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations'],
                                           runOnly: {type: 'tag', values:
                                               ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                'best-practice']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_serious_problem(axe_context, demo_server, name):
    page = axe_context.new_page()
    page.goto(demo_server + PAGES[name])
    if page.locator(".chart").count():  # charts are server-drawn SVG: in the page already
        assert page.locator(".chart svg.chart-svg").count() >= 1
    found = violations(page)
    page.close()
    assert not found, f"{name}: {found}"


def test_axe_with_marks_hidden_and_other_citation(axe_context, demo_server):
    page = axe_context.new_page()
    page.goto(demo_server + "/document/114165")
    page.get_by_role("button", name="Show editorial marks").click()
    page.get_by_role("radio", name="BibTeX").check()
    found = violations(page)
    page.get_by_role("button", name="Show editorial marks").click()
    page.close()
    assert not found, found


def describe_focus(page) -> dict:
    return page.evaluate("""() => {
        const e = document.activeElement;
        const s = getComputedStyle(e);
        return {tag: e.tagName, text: (e.innerText || e.value || '').trim().slice(0, 60),
                cls: e.className || '', inFacets: !!e.closest('.facets'),
                inHits: !!e.closest('.hits'), outline: s.outlineStyle,
                outlineWidth: parseFloat(s.outlineWidth), href: e.getAttribute('href') || ''};
    }""")


def test_keyboard_reaches_facets_then_results_with_visible_focus(browser, demo_server):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(demo_server + "/search?q=Korea")
    seen = []
    for _ in range(120):
        page.keyboard.press("Tab")
        f = describe_focus(page)
        seen.append(f)
        if f["inHits"]:
            break
    order = [("skip" if "skip" in f["cls"] else "facet" if f["inFacets"] else
              "hit" if f["inHits"] else "other") for f in seen]
    assert "facet" in order and "hit" in order
    assert order.index("skip") < order.index("facet") < order.index("hit")
    # the search box comes before the facets
    assert any(f["tag"] == "INPUT" for f in seen[:order.index("facet")])
    for f in seen:
        if f["inFacets"] or f["inHits"]:
            assert f["outline"] != "none" and f["outlineWidth"] >= 2, f
    # Enter on a facet applies it
    page.goto(demo_server + "/search?q=Korea")
    page.locator(".facet-link").first.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator(".facet-link.on").count() == 1
    # "Skip to results" jumps over the facets
    page.goto(demo_server + "/search?q=Korea")
    page.locator(".skip-inline").focus()
    assert describe_focus(page)["outline"] != "none"
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        f = describe_focus(page)
        assert not f["inFacets"], f
        if f["inHits"]:
            break
    assert f["inHits"]
    page.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_no_sideways_scroll_at_360px(browser, demo_server, name):
    page = browser.new_page(viewport={"width": 360, "height": 740})
    page.goto(demo_server + PAGES[name])
    if page.locator(".chart").count():  # charts are server-drawn SVG: in the page already
        assert page.locator(".chart svg.chart-svg").count() >= 1
    width = page.evaluate("document.documentElement.scrollWidth")
    page.close()
    assert width <= 360, f"{name}: {width}px wide"


def test_every_request_stays_on_the_origin(browser, demo_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    for url in PAGES.values():
        page.goto(demo_server + url)
        page.wait_for_load_state("networkidle")
    page.goto(demo_server + "/document/114165")
    page.get_by_role("radio", name="APA").check()
    context.close()
    assert requests and any(r.endswith(".css") for r in requests)
    outside = [r for r in requests if not r.startswith(demo_server + "/")]
    assert not outside, outside
