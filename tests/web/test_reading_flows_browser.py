"""Flows a reader and a curator click through in Chromium, on a desktop and at 390 px:
search and see the right words marked; restore an old revision from the history page;
read human dates; withdraw with a confirmation. Each test clicks the real controls and
checks what is visible afterwards."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from curation_helpers import PASSWORD, live_server, sample_record, seed
from opis.services.archive import Archive
from opis.web.app import create_app
from script_samples import RECORDS

pytestmark = pytest.mark.browser
WIDTHS = {"desktop": 1280, "phone": 390}
SHOTS = Path(os.environ.get("OPIS_SCREENSHOTS", "")) if os.environ.get("OPIS_SCREENSHOTS") \
    else None


def shot(page: Page, name: str) -> None:
    """A full-page screenshot when OPIS_SCREENSHOTS names a folder (to look at)."""
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A live site over a fresh archive: the highlight records, sample record r1 and the
    seeded accounts (an editor "eddie")."""
    monkeypatch.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "1")
    archive = Archive(str(tmp_path / "flows.db"))
    archive.put([*RECORDS, sample_record()])
    seed(archive)
    try:
        with live_server(create_app(archive)) as url:
            yield url
    finally:
        archive.close()


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, browser) -> Iterator[Page]:
    width = WIDTHS[request.param]
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  reduced_motion="reduce")
    p = context.new_page()
    p.width_name = request.param  # type: ignore[attr-defined]
    p.problems = []  # type: ignore[attr-defined]
    p.on("pageerror", lambda e: p.problems.append(f"page error: {e}"))  # type: ignore[attr-defined]
    yield p
    context.close()


def search_from_the_page(page: Page, site: str, query: str) -> None:
    page.goto(f"{site}/search")
    page.locator("#q").fill(query)
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r".*/search\?.*q=.*"))


def visible_marks(page: Page, record_id: str) -> list[str]:
    hit = page.locator(".hit", has=page.locator(f'a[href^="/document/{record_id}?find="]'))
    expect(hit.locator(".snippet")).to_be_visible()
    return [m.inner_text() for m in hit.locator(".snippet mark").all()]


@pytest.mark.parametrize(("query", "record_id", "expected"), [
    ("встретился", "h-ru", ["встретился"]),
    ("김두봉", "h-ko", ["김두봉"]),
    ("Korea", "h-quotes", ["Korea"]),
    ('"cult of personality"', "h-kim", ["cult of personality"]),
    ("the cult", "h-kim", ["cult", "cult"]),
])
def test_search_marks_the_words_searched_for(page, site, query, record_id, expected):
    search_from_the_page(page, site, query)
    assert visible_marks(page, record_id) == expected
    shot(page, f"search-{record_id}-{page.width_name}")
    assert not page.problems, page.problems


def log_in(page: Page, site: str, name: str = "eddie") -> None:
    page.goto(f"{site}/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def edit_text(page: Page, site: str, old: str, new: str, reason: str) -> None:
    page.goto(f"{site}/document/r1/edit")
    box = page.locator("#f-text")
    box.fill(box.input_value().replace(old, new))
    page.locator("#f-reason").fill(reason)
    page.get_by_role("button", name="Save as a new revision").click()
    page.wait_for_url(re.compile(r".*/document/r1/history.*"))


def test_edit_then_restore_by_clicking(page, site):
    log_in(page, site)
    edit_text(page, site, "objected", "agreed with everyone", "test a wrong correction")
    # A visible confirmation of the save, on the history page.
    expect(page.locator("#done")).to_have_text(re.compile(r"Saved as revision 2\."))
    page.goto(f"{site}/document/r1")
    expect(page.locator(".doc-text").first).to_contain_text("agreed with everyone")

    page.goto(f"{site}/document/r1/history")
    row = page.locator("#rev-1")
    row.get_by_label("Reason for restoring revision 1").fill("the correction was wrong")
    row.get_by_role("button", name="Restore").click()
    page.wait_for_url(re.compile(r".*/document/r1/history\?done=restored.*"))
    assert "csrf_token" not in page.url and "/diff" not in page.url
    expect(page.locator("#done")).to_have_text(
        re.compile(r"Revision 1 restored as revision 3"))
    # The revision list shows the restore, newest first, with its reason.
    newest = page.locator("table.history tbody tr").first
    expect(newest).to_contain_text("the correction was wrong")
    expect(newest.locator("td").first).to_have_text(re.compile(r"^3"))
    shot(page, f"history-restored-{page.width_name}")
    page.goto(f"{site}/document/r1")
    text = page.locator(".doc-text").first
    expect(text).to_contain_text("objected.")
    expect(text).not_to_contain_text("agreed with everyone")

    # Compare still works, from its own form, with nothing secret in its URL.
    page.goto(f"{site}/document/r1/history")
    page.get_by_role("button", name="Compare selected revisions").click()
    page.wait_for_url(re.compile(r".*/document/r1/diff\?[ab]=\d&[ab]=\d$"))
    assert "a=2" in page.url and "b=3" in page.url
    expect(page.locator("h1")).to_contain_text("2")
    assert not page.problems, page.problems


def test_summary_diff_marks_what_changed_within_a_line(page, site):
    log_in(page, site)
    page.goto(f"{site}/document/r1/edit")
    page.locator("#f-summary").fill("A report on the September plenum.")
    page.get_by_role("button", name="Preview").click()
    changed = page.locator(".field-diff[aria-label='Summary']")
    expect(changed.locator("del.changed")).to_have_text("August")
    expect(changed.locator("ins.changed")).to_have_text("September")
    shot(page, f"edit-preview-{page.width_name}")


def test_withdraw_is_after_the_list_and_asks_for_confirmation(page, site):
    log_in(page, site)
    page.goto(f"{site}/document/r1/history")
    table = page.locator("table.history").bounding_box()
    zone = page.locator("#withdraw")
    assert zone.bounding_box()["y"] > table["y"] + table["height"]  # placed after the list
    button = zone.get_by_role("button", name="Withdraw")
    expect(button).to_be_hidden()  # behind a disclosure, not a primary button on top
    zone.locator("summary").click()
    expect(button).to_be_visible()
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(255, 255, 255)"
    zone.get_by_label("Reason (kept in the history)").fill("rights not cleared")
    button.click()  # not confirmed yet: the browser keeps the form
    assert "done=" not in page.url
    zone.get_by_label(re.compile(r"Yes, withdraw")).check()
    button.click()
    page.wait_for_url(re.compile(r".*done=withdrawn.*"))
    expect(page.locator("#done")).to_have_text(re.compile(r"Withdrawn from public view"))
    expect(page.locator(".status").first).to_have_text("withdrawn")
    shot(page, f"history-withdrawn-{page.width_name}")
    page.get_by_label("Reason for publishing again").fill("cleared after all")
    page.get_by_role("button", name="Reinstate").click()
    page.wait_for_url(re.compile(r".*done=reinstated.*"))
    expect(page.locator("#done")).to_have_text(re.compile(r"Published again"))
    assert not page.problems, page.problems


def test_dates_and_labels_read_as_words(page, demo_server):
    page.goto(f"{demo_server}/search")
    page.locator("#q").fill("Korean Workers")
    page.locator("#q").press("Enter")
    expect(page.locator("#result-count")).not_to_contain_text("ms)")
    page.locator(".hit h3 a", has_text="Communist Party").first.click()
    page.wait_for_url(re.compile(r".*/document/114165\?find=Korean.*"))
    expect(page.locator("main p.meta").first).to_contain_text("28 December 1956")
    expect(page.locator("dd time").first).to_have_text("28 December 1956")
    expect(page.get_by_text("(dated ?9 January 1957)")).to_be_attached()
    shot(page, f"document-114165-{page.width_name}")

    page.goto(f"{demo_server}/collections/frus1955-57v03")
    first = page.locator("ol.doc-list > li").first
    expect(first.locator("a")).to_have_text(re.compile(r"^Telegram From"))
    third = page.locator("ol.doc-list > li").nth(2)
    expect(third).to_contain_text("13 January 1955 – 31 December 1957")
    first.locator("a").click()
    page.wait_for_url(re.compile(r".*/document/frus1955-57v03-d1$"))
    body = page.locator("main")
    expect(body).not_to_contain_text("№")
    expect(body).not_to_contain_text("Transcription into English")
    expect(body).to_contain_text("1 August 1955")
    shot(page, f"collection-frus-d1-{page.width_name}")
    assert not page.problems, page.problems


@pytest.fixture
def phone(browser) -> Iterator[Page]:
    """A 390 px touch screen (no hover)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True,
                                  is_mobile=True, reduced_motion="reduce")
    p = context.new_page()
    p.problems = []  # type: ignore[attr-defined]
    p.on("pageerror", lambda e: p.problems.append(f"page error: {e}"))  # type: ignore[attr-defined]
    yield p
    context.close()


def test_phone_reaches_the_text_and_sees_what_a_mark_means(phone, demo_server):
    phone.goto(f"{demo_server}/document/114165")
    text_top = phone.locator(".doc-text").first.bounding_box()["y"]
    assert text_top < 2 * 844, text_top  # was about 3,600 px of metadata and citation
    # The metadata is one tap away, folded, not gone.
    about = phone.locator("section.metadata details")
    expect(about.locator("dd time").first).to_be_hidden()
    about.locator("summary").tap()
    expect(about.locator("dd time").first).to_have_text("28 December 1956")
    # A mark's meaning without hover: tap it.
    expect(phone.locator(".legend-hint")).to_be_visible()
    mark = phone.locator('.doc-text .ann-romanization').first
    mark.scroll_into_view_if_needed()
    mark.locator(".ann-tag").tap()
    note = phone.locator(".mark-note")
    expect(note).to_be_visible()
    expect(note).to_have_text(re.compile(r"^Variant spelling of [^:\[]+: “[^\[\]]+”$"))
    shot(phone, "document-114165-phone-mark")
    assert not phone.problems, phone.problems


def test_desktop_keeps_metadata_and_citation_open(browser, demo_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.goto(f"{demo_server}/document/114165")
    expect(p.locator("section.metadata dd time").first).to_be_visible()
    expect(p.get_by_role("button", name="Copy citation")).to_be_visible()
    context.close()


@pytest.mark.parametrize("width", list(WIDTHS.values()))
def test_axe_is_clean_on_the_curator_pages(browser, site, width):
    from test_a11y import violations

    context = browser.new_context(bypass_csp=True, viewport={"width": width, "height": 900},
                                  reduced_motion="reduce")
    p = context.new_page()
    try:
        log_in(p, site)
        edit_text(p, site, "objected", "agreed", "for the axe check")  # with a confirmation
        p.locator("#withdraw summary").click()
        found = violations(p)
        assert not found, f"history: {found}"
        p.goto(f"{site}/document/r1/edit")
        p.locator("#f-summary").fill("A report on the September plenum.")
        p.get_by_role("button", name="Preview").click()
        found = violations(p)
        assert not found, f"edit preview: {found}"
        p.goto(f"{site}/search?q=встретился")
        found = violations(p)
        assert not found, f"search: {found}"
    finally:
        context.close()


@pytest.fixture
def alike_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Three records embedded with the test model: two tell the same event."""
    from opis.services.embedding import embed_archive
    from semantic_fixtures import ALIKE, hashing

    monkeypatch.setenv("OPIS_EMBEDDER", "semantic_fixtures:hashing")
    archive = Archive(str(tmp_path / "alike.db"))
    archive.put(ALIKE)
    embed_archive(archive.db, hashing())
    try:
        with live_server(create_app(archive)) as url:
            yield url
    finally:
        archive.close()


def test_a_document_that_reads_alike_is_one_click_away(page, alike_site):
    page.goto(f"{alike_site}/document/a")
    # b names the same people and tells the same event: both reasons are given.
    related = page.locator("section.related li", has=page.locator(".reads-alike"))
    expect(related).to_have_count(1)
    expect(related.locator(".why").first).to_contain_text("Also mentions")
    related.scroll_into_view_if_needed()
    expect(related.locator("q.theirs")).to_contain_text("A second account.")
    expect(related.locator("q.mine")).to_contain_text("The ambassador reported")
    box = related.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTHS[page.width_name]
    shot(page, f"reads-alike-{page.width_name}")
    related.get_by_role("link", name="Report on the August plenum").click()
    page.wait_for_url(f"{alike_site}/document/b")
    expect(page.locator("h1")).to_have_text("Report on the August plenum")
    back = page.locator("section.related li", has=page.locator(".reads-alike")).locator("a")
    expect(back).to_have_text("Записка посла о пленуме")
    assert not page.problems, page.problems


def test_a_typo_is_one_click_from_its_documents(page, site):
    """"plenm" finds nothing; the page offers "Did you mean plenum?", and its link shows
    the documents with the word marked."""
    search_from_the_page(page, site, "plenm")
    expect(page.locator(".result-count strong")).to_have_text("0")
    offer = page.get_by_role("link", name="Did you mean plenum?")
    expect(offer).to_be_visible()
    shot(page, f"did-you-mean-{page.width_name}")
    offer.click()
    page.wait_for_url(re.compile(r".*q=plenum.*"))
    assert int(page.locator(".result-count strong").inner_text()) >= 1
    expect(page.locator(".hit .snippet mark").first).to_have_text(re.compile("plenum", re.I))
    assert not page.problems, page.problems


@pytest.fixture
def held_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The 1956 report stored, then re-ingested from a copy cut mid-word: held."""
    import shutil

    from paths import DATA

    monkeypatch.setenv("OPIS_ARGON2_MEMORY_KIB", "8192")
    monkeypatch.setenv("OPIS_ARGON2_TIME_COST", "1")
    path = tmp_path / "114165.txt"
    shutil.copy(DATA / "wcda_114165.txt", path)
    archive = Archive(str(tmp_path / "held.db"))
    archive.ingest([path])
    original = path.read_text(encoding="utf-8")
    path.write_text(original[:original.index("Kim Il Sung") + 6], encoding="utf-8")
    assert archive.ingest([path]).held
    seed(archive)
    try:
        with live_server(create_app(archive)) as url:
            yield url
    finally:
        archive.close()


def test_a_curator_accepts_a_held_update_by_clicking(page, held_site):
    log_in(page, held_site)
    page.get_by_role("link", name="Held updates").click()
    page.wait_for_url(f"{held_site}/curate/held")
    item = page.locator("li.held")
    expect(item).to_have_count(1)
    expect(item.locator(".why")).to_contain_text("truncated copy")
    expect(item.locator(".changes")).to_contain_text("text (")
    shot(page, f"held-{page.width_name}")
    box = item.bounding_box()
    assert box is not None and box["x"] + box["width"] <= WIDTHS[page.width_name]
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[page.width_name]
    item.get_by_label("Reason (kept in the history)").fill("the shorter copy is right")
    item.get_by_role("button", name="Accept this update").click()
    expect(page.locator("#done")).to_contain_text("stored as the record's new version")
    expect(page.locator("#none")).to_have_text("No update is held.")
    page.get_by_role("link", name="Open the document").click()
    page.wait_for_url(f"{held_site}/document/114165")
    page.goto(f"{held_site}/document/114165/history")
    expect(page.locator("body")).to_contain_text("the shorter copy is right")
    assert not page.problems, page.problems


def test_a_curator_rejects_a_held_update_by_clicking(page, held_site):
    log_in(page, held_site)
    page.goto(f"{held_site}/curate/held")
    page.get_by_role("button", name="Reject this update").click()
    expect(page.locator("#done")).to_contain_text("the record stays as it was")
    expect(page.locator("#none")).to_be_visible()
    assert not page.problems, page.problems


def test_a_result_opens_at_its_hits_and_steps_through_them(page, site):
    """From a search for a name, the document opens with every spelling of it marked,
    the first in view; Next and Previous step through them; the reader can look for
    other words in the same box, in any script."""
    search_from_the_page(page, site, "Kim Il Sung")
    page.locator(".hit h3 a", has_text="Conversation with the Premier").click()
    page.wait_for_url(re.compile(r".*/document/h-kim\?find=Kim.*"))
    status = page.locator(".find-bar .find-status")
    expect(status).to_have_text("1 of 2")
    expect(page.locator(".find-bar")).to_have_class(re.compile(r"\bactive\b"))
    marks = page.locator(".doc-text mark.find-hit")
    assert [m.inner_text() for m in marks.all()] == ["Kim Il Sung", "Kim Il Sung"]
    current = page.locator(".doc-text mark.find-hit.current")
    expect(current).to_be_in_viewport()
    page.get_by_role("button", name="Next match").click()
    expect(status).to_have_text("2 of 2")
    expect(current).to_be_in_viewport()
    page.get_by_role("button", name="Previous match").click()
    expect(status).to_have_text("1 of 2")
    shot(page, f"find-{page.width_name}")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[page.width_name]
    box = page.get_by_role("searchbox", name="Find in this document")
    box.fill("cult")
    box.press("Enter")
    expect(status).to_have_text("1 of 2")
    assert [m.inner_text() for m in marks.all()] == ["cult", "cult"]
    box.fill("Taiwan")
    box.press("Enter")
    expect(status).to_have_text("Not in this text")
    expect(marks).to_have_count(0)
    # Another script, another document: Cyrillic, with a case ending.
    page.goto(f"{site}/document/h-ru?find=пленум")
    expect(status).to_have_text("1 match")
    assert marks.first.inner_text() == "пленума"
    page.goto(f"{site}/document/h-ko?find=김두봉")
    expect(status).to_have_text("1 match")
    assert not page.problems, page.problems


def test_a_printout_says_where_and_when_and_is_black_and_white(page, site):
    from datetime import UTC, datetime

    from opis.model.dates import human_date

    page.goto(f"{site}/document/r1")
    source = page.locator(".print-source")
    expect(source).to_be_hidden()  # on screen, nothing changes
    page.emulate_media(media="print")
    expect(source).to_be_visible()
    expect(source).to_contain_text(f"{site}/document/r1")
    expect(source).to_contain_text(human_date(datetime.now(UTC).date().isoformat()))
    expect(page.locator(".find-bar")).to_be_hidden()
    mark = page.locator(".doc-text .ann").first
    colours = mark.evaluate("m => [getComputedStyle(m).color, getComputedStyle(m).backgroundColor]")
    assert colours == ["rgb(0, 0, 0)", "rgba(0, 0, 0, 0)"], colours
    assert not page.problems, page.problems


def test_the_about_page_is_one_click_from_any_page(page, tmp_path, monkeypatch):
    (tmp_path / "about.md").write_text(
        "# Who we are\n\nA small centre translating documents on Korea (조선).\n",
        encoding="utf-8")
    monkeypatch.setenv("OPIS_SITE_NAME", "Korea Documents Centre")
    monkeypatch.setenv("OPIS_ABOUT", str(tmp_path / "about.md"))
    archive = Archive(str(tmp_path / "about.db"))
    archive.put([sample_record()])
    try:
        with live_server(create_app(archive)) as url:
            page.goto(f"{url}/document/r1")
            expect(page.locator(".brand")).to_have_text("Korea Documents Centre")
            page.get_by_role("link", name="About this archive").click()
            page.wait_for_url(f"{url}/about")
            expect(page.locator("h1")).to_have_text("About Korea Documents Centre")
            expect(page.locator(".about-text h2")).to_have_text("Who we are")
            expect(page.locator(".about-text")).to_contain_text("조선")
            width = WIDTHS[page.width_name]
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            shot(page, f"about-{page.width_name}")
    finally:
        archive.close()
    assert not page.problems, page.problems


def test_an_advanced_search_opens_as_an_ordinary_search(page, site):
    page.goto(f"{site}/search")
    page.get_by_role("link", name="Advanced search").click()
    page.wait_for_url(f"{site}/search/advanced")
    page.get_by_label("All of these words").fill("plenum")
    page.get_by_label("None of these words").fill("Taiwan")
    page.get_by_label("Original language").select_option(value="ru")
    page.get_by_label("From").fill("1956")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTHS[page.width_name]
    shot(page, f"advanced-{page.width_name}")
    page.get_by_role("button", name="Search", exact=True).last.click()
    page.wait_for_url(re.compile(r".*/search\?q=plenum\+-Taiwan.*language=ru.*"))
    expect(page.locator("#q")).to_have_value("plenum -Taiwan")
    expect(page.locator(".chip-remove", has_text="Russian")).to_have_count(1)
    expect(page.locator(".chip-remove", has_text="1956")).to_have_count(1)
    titles = page.locator(".hit h3 a").all_inner_texts()
    assert titles == ["Report on the Plenum"], titles
    # A date that is not one comes back to the form, with the rows kept.
    page.goto(f"{site}/search/advanced/go?all_words=plenum&from=soon")
    expect(page.locator("#error")).to_contain_text("'soon' is not a date")
    expect(page.get_by_label("All of these words")).to_have_value("plenum")
    assert not page.problems, page.problems


def test_a_search_can_be_followed_in_a_feed_reader(page, site):
    search_from_the_page(page, site, "plenum")
    follow = page.get_by_role("link", name="Follow this search")
    expect(follow).to_be_visible()
    with page.expect_response(re.compile(r".*/search\.atom\?q=plenum")) as caught:
        follow.click()
    response = caught.value
    assert response.status == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    assert "<feed" in response.text() and "Report on the Plenum" in response.text()
    assert not page.problems, page.problems


def test_what_was_derived_at_import_is_visible_on_the_page(page, tmp_path):
    volume = tmp_path / "vol1.xml"
    volume.write_text(
        '<?xml version="1.0"?>\n<TEI xmlns="http://www.tei-c.org/ns/1.0" xml:id="vol1">\n'
        '<teiHeader><fileDesc><titleStmt><title type="complete">Vol</title></titleStmt>'
        "</fileDesc></teiHeader>\n<text><body>\n"
        '<div type="document" xml:id="d2" n="2">\n<head/><dateline>Executive Mansion,<lb/>'
        "Washington, December 18, 1897.</dateline><p>Dvořák’s “note” on Ким Ир Сен "
        "(김일성, 金日成).</p></div>\n</body></text></TEI>\n", encoding="utf-8")
    archive = Archive(str(tmp_path / "flags.db"))
    archive.ingest([volume])
    try:
        with live_server(create_app(archive)) as url:
            page.goto(f"{url}/document/vol1-d2")
            about = page.locator("details.fold-box").first
            if not about.evaluate("d => d.open"):  # folded on a phone: a tap opens it
                about.locator("summary").click()
            flags = page.locator("ul.import-flags li")
            expect(flags).to_have_count(2)
            expect(flags.first).to_be_visible()
            expect(flags.first).to_contain_text("title derived from the dateline")
            expect(flags.nth(1)).to_contain_text("read from the printed dateline")
            assert page.evaluate("document.documentElement.scrollWidth") <= \
                WIDTHS[page.width_name]
            flags.first.scroll_into_view_if_needed()
            shot(page, f"flags-{page.width_name}")
    finally:
        archive.close()
    assert not page.problems, page.problems
