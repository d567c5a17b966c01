"""The demo's document page in Chromium: the apparatus is shown and labelled."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_annotations_shown_and_labelled(browser, demo_server):
    page = browser.new_page()
    page.goto(f"{demo_server}/document/114165")
    assert "Communist Party of the Soviet Union" in page.title()
    for kind, label in [("handwritten", "Handwritten"), ("supplied", "Supplied by the translator"),
                        ("illegible", "Illegible"), ("sic", "[SIC]"), ("stamp", "Stamp"),
                        ("romanization", "Variant spelling")]:
        marks = page.locator(f".doc-text .ann-{kind}")
        assert marks.count() > 0, kind
        assert marks.first.is_visible()
        # the legend names the kind
        assert page.locator(f".legend .ann-{kind}").inner_text().endswith(label)
    # Kinds look different at a glance: computed styles differ.
    styles = page.evaluate("""() => ['handwritten','supplied','illegible'].map(k => {
        const s = getComputedStyle(document.querySelector('.doc-text .ann-' + k));
        return [s.color, s.fontStyle, s.textDecorationStyle, s.backgroundImage].join('|');
    })""")
    assert len(set(styles)) == 3
    # Screen readers hear where each mark starts: hidden text inside the mark.
    hw = page.locator(".doc-text .ann-handwritten").first
    assert "[Handwritten" in hw.text_content()
    supplied = page.locator(".doc-text .ann-supplied", has_text="his").first
    assert "Supplied by the translator" in supplied.get_attribute("title")
    ill = page.locator(".doc-text .ann-illegible").first
    assert "1-2 words illegible" in ill.text_content()
    # Metadata panel
    assert page.get_by_text("RGANI, Fond 5, Opis 28, Delo 486, Listi 1-17").count() >= 1
    page.close()


def test_search_from_home(browser, demo_server):
    page = browser.new_page()
    page.goto(demo_server)
    page.get_by_label("Search the archive").first.fill('"cult of personality"')
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?**")
    assert page.locator(".hit").count() == 1
    page.locator(".hit a").first.click()
    page.wait_for_url("**/document/114165?find=*")
    page.close()
