"""The reading room in Chromium: search to citation, names to the network, the marks
switch, and the versions tabs."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from reading_room_fixtures import BILINGUAL, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"],
                                  viewport={"width": 1280, "height": 900},
                                  reduced_motion="reduce")  # charts draw at once
    p = context.new_page()
    p.problems = []  # type: ignore[attr-defined]
    p.on("pageerror", lambda e: p.problems.append(f"page error: {e}"))  # type: ignore[attr-defined]
    p.on("console", lambda m: p.problems.append(m.text)  # type: ignore[attr-defined]
         if m.type == "error" or "Content Security Policy" in m.text else None)
    yield p
    context.close()


def test_search_facet_document_cite_copy(page, demo_server):
    page.goto(f"{demo_server}/search?q=Korea")
    total = int(page.locator(".result-count strong").inner_text())
    facet = page.locator('section[aria-labelledby="facet-collection"] a.facet-link').first
    label = facet.locator(".facet-label").inner_text()
    facet.click()
    page.wait_for_url(re.compile(r".*collection=frus.*"))
    assert page.locator(".facet-link.on .facet-label").first.inner_text() == label
    assert int(page.locator(".result-count strong").inner_text()) < total
    assert page.locator(".chip-remove").count() == 1
    first = page.locator(".hit h3 a").first
    title = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r".*/document/frus.*"))
    assert page.locator("h1").inner_text() == title

    # The format switch shows one citation at a time.
    chicago = page.locator('.cite-panel[data-format="chicago"]')
    bib = page.locator('.cite-panel[data-format="bib"]')
    assert chicago.is_visible() and not bib.is_visible()
    page.get_by_role("radio", name="BibTeX").check()
    assert bib.is_visible() and not chicago.is_visible()
    page.get_by_role("button", name="Copy citation").click()
    expect(page.locator(".copy-status")).to_have_text("BibTeX citation copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("@") and "title" in copied
    page.get_by_role("radio", name="Chicago").check()
    page.get_by_role("button", name="Copy citation").click()
    expect(page.locator(".copy-status")).to_have_text("Chicago citation copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    # Cited where it was read (the opis page), as a document in its FRUS volume.
    assert title.split(". ", 1)[-1][:30] in copied and "/document/" in copied
    assert "Foreign Relations of the United States" in copied
    # The choice is remembered on the next document.
    page.get_by_role("radio", name="RIS").check()
    page.goto(f"{demo_server}/document/114165")
    assert page.locator('.cite-panel[data-format="ris"]').is_visible()
    assert page.get_by_role("radio", name="RIS").is_checked()
    assert not page.problems, page.problems


def test_name_link_to_person_to_network(page, demo_server):
    page.goto(f"{demo_server}/document/frus1955-57v23p2-d8")
    link = page.locator('.doc-text a.ent-person[href="/person/syngman-rhee"]').first
    link.click()
    page.wait_for_url(f"{demo_server}/person/syngman-rhee")
    assert page.locator("h1").inner_text() == "Syngman Rhee"
    # Click a person on the network (an SVG link drawn on the server).
    node = page.locator(".chart-network a.net-node").first
    spot = {"id": node.get_attribute("data-id")}
    node.locator("circle").click()
    page.wait_for_url(re.compile(r".*/search\?person=.*"))
    url = page.url.replace("%2F", "/")
    assert "person=person/syngman-rhee" in url and f"person={spot['id']}" in url
    assert page.locator(".hit").count() >= 1
    assert page.locator(".chip-remove").count() == 2
    assert not page.problems, page.problems


def test_marks_switch_hides_and_shows(page, demo_server):
    page.goto(f"{demo_server}/document/114165")
    button = page.get_by_role("button", name="Show editorial marks")
    tag = page.locator(".doc-text .ann-handwritten > .ann-tag").first
    hw = page.locator(".doc-text .ann-handwritten").first

    def style(prop: str) -> str:
        return hw.evaluate(f"e => getComputedStyle(e).{prop}")

    assert button.get_attribute("aria-pressed") == "true" and tag.is_visible()
    assert "wavy" in style("textDecorationStyle") and style("fontStyle") == "italic"
    button.click()
    assert button.get_attribute("aria-pressed") == "false"
    assert not tag.is_visible() and style("fontStyle") == "normal"
    assert style("textDecorationLine") == "none"
    assert page.locator(".doc-text .ann-illegible").first.is_visible()  # the words stay
    page.reload()  # remembered
    assert page.get_by_role("button", name="Show editorial marks").get_attribute(
        "aria-pressed") == "false"
    page.get_by_role("button", name="Show editorial marks").click()
    assert tag.is_visible() and "wavy" in style("textDecorationStyle")
    # Name links can be switched off too.
    names = page.get_by_role("button", name="Link names")
    names.click()
    assert page.locator(".doc-text a.ent").first.evaluate(
        "e => getComputedStyle(e).pointerEvents") == "none"
    names.click()
    assert not page.problems, page.problems


def test_versions_tabs_and_side_by_side(browser, tmp_path):
    from opis.services.archive import Archive
    from opis.web.app import create_app

    doc = tmp_path / "bilingual.md"
    doc.write_text(BILINGUAL, encoding="utf-8")
    archive = Archive(str(tmp_path / "b.db"))
    assert archive.ingest([doc]).ok
    with serve(create_app(archive)) as base:
        narrow = browser.new_page(viewport={"width": 800, "height": 900})
        narrow.goto(f"{base}/document/bilingual-1")
        tabs = narrow.get_by_role("tab")
        assert tabs.all_inner_texts() == ["Translation", "Original", "Scan"]
        assert narrow.locator("#version-translation").is_visible()
        assert not narrow.locator("#version-original").is_visible()
        tabs.nth(0).focus()
        narrow.keyboard.press("ArrowRight")
        assert narrow.locator("#version-original").is_visible()
        assert not narrow.locator("#version-translation").is_visible()
        assert tabs.nth(1).get_attribute("aria-selected") == "true"
        assert narrow.evaluate("document.activeElement.id") == "tab-version-original"
        tabs.nth(2).click()
        assert narrow.locator("#version-scan img").is_visible()
        narrow.close()
        wide = browser.new_page(viewport={"width": 1400, "height": 900})
        wide.goto(f"{base}/document/bilingual-1")
        assert wide.locator("#version-translation").is_visible()
        assert wide.locator("#version-original").is_visible()
        a = wide.locator("#version-translation").bounding_box()
        b = wide.locator("#version-original").bounding_box()
        assert abs(a["y"] - b["y"]) < 5 and b["x"] > a["x"] + 200  # side by side
        assert wide.get_by_role("tab").count() == 0
        wide.close()
    archive.close()


def test_timeline_chart_opens_a_year(page, demo_server):
    page.goto(f"{demo_server}/browse/years")
    assert not page.locator("details.chart-numbers").get_attribute("open")
    bar = page.locator('.chart-svg a[href*="year=1955"]')
    assert bar.locator("title").text_content() == "1955: 24 documents"
    bar.locator("rect").click()
    page.wait_for_url(re.compile(r".*/search\?year=1955.*"))
    assert int(page.locator(".result-count strong").inner_text()) == 24
    assert not page.problems, page.problems


def test_export_a_result_list_by_clicking(page, demo_server, tmp_path):
    """A historian exports what a filtered search found and gets one RIS file of those
    documents, in the order shown, each linking back to its page."""
    page.goto(f"{demo_server}/search?q=Korea")
    page.locator('section[aria-labelledby="facet-collection"] a.facet-link').first.click()
    page.wait_for_url(re.compile(r".*collection=.*"))
    total = int(page.locator(".result-count strong").inner_text())
    shown = [a.get_attribute("href").split("?")[0] for a in page.locator(".hit h3 a").all()]
    control = page.locator("#export-results")
    link = control.get_by_role("link", name=re.compile("^RIS"))
    assert not link.is_visible()
    control.locator("summary").click()
    expect(link).to_be_visible()
    with page.expect_download() as caught:
        link.click()
    path = tmp_path / caught.value.suggested_filename
    caught.value.save_as(path)
    assert path.name == "opis-search.ris"
    ris = path.read_text(encoding="utf-8")
    assert ris.count("ER  - ") == total  # the whole result set, not the page
    linked = [u.split(demo_server, 1)[-1] for u in re.findall(r"^UR  - (.+)$", ris, re.M)
              if "/document/" in u]
    assert linked[: len(shown)] == shown
    page.set_viewport_size({"width": 390, "height": 844})
    control.scroll_into_view_if_needed()
    box = control.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.screenshot(path=str(tmp_path / "export-390.png"))
    assert not page.problems, page.problems


OVERLAPS = """() => {
  const box = e => e.getBoundingClientRect();
  const texts = [...document.querySelectorAll('.chart-network text')].map(box);
  const dots = [...document.querySelectorAll('.chart-network circle')].map(box);
  const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  let labels = 0, covered = 0;
  texts.forEach((a, i) => texts.slice(i + 1).forEach(b => { if (hit(a, b)) labels++; }));
  texts.forEach(a => dots.forEach(b => { if (hit(a, b)) covered++; }));
  return [texts.length, labels, covered];
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_network_labels_never_cover_each_other(browser, demo_server, width):
    """A crowded ring (25 people around Syngman Rhee) used to print names over names at
    its top and bottom; each label now moves outward until it is clear."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.goto(f"{demo_server}/person/syngman-rhee")
    page.locator(".chart-network").first.scroll_into_view_if_needed()
    count, labels, covered = page.evaluate(OVERLAPS)
    context.close()
    assert count > 20 and labels == 0 and covered == 0, (count, labels, covered)
