"""Persons-list entries read as editors write them (issue 16)."""

from __future__ import annotations

import pytest

from opis.enrich.persons_list import parse_entry, see_forms, see_matches
from opis.names.romanize import name_key


@pytest.mark.parametrize(("heading", "preferred", "spellings"), [
    ("Pak Chong-hui (Pak Chung-hui, Park Chung Hee, Pak Jung-Hui)", "Pak Chong-hui",
     {"Pak Chung-hui", "Park Chung Hee", "Pak Jung-Hui", "Chung Hee Park", "Chong-hui Pak"}),
    ("Rhee, Syngman", "Rhee Syngman", {"Syngman Rhee"}),
    ("Radford, Admiral Arthur W.", "Arthur W. Radford", set()),
    ("Chiang, Ching-kuo (Jiang Jingguo)", "Chiang Ching-kuo", {"Jiang Jingguo", "Jingguo Jiang"}),
    ("Satō, Eisaku", "Satō Eisaku", {"Eisaku Satō"}),
    ("Hoover, Herbert, Jr.", "Herbert Hoover Jr.", set()),
    ("Nehru, Pandit Jawaharlal", "Jawaharlal Nehru", set()),
    ("Cho Chung-hun (Cho, Chung W.)", "Cho Chung-hun", {"Cho Chung W."}),
    ("Kim Il Sung", "Kim Il Sung", {"Il Sung Kim"}),
])
def test_entry_shapes(heading, preferred, spellings):
    entry = parse_entry(heading)
    assert entry.preferred == preferred
    assert spellings <= set(entry.variants)
    # A title is a role, never part of a spelling; the entry as printed stays findable.
    assert not any(v.startswith(("Admiral ", "Pandit ")) for v in entry.variants)


def test_a_long_entry_without_comma_is_split_not_one_name():
    entry = parse_entry("Pak Chong-hui (Pak Chung-hui, Park Chung Hee, Pak Jung-Hui)")
    assert all("(" not in v and len(v.split()) <= 3 for v in entry.spellings)
    assert entry.surname == "Pak"


def test_dates_and_nicknames_in_parentheses_are_not_names():
    entry = parse_entry('Blair, Anthony ("Tony") (1953–)')
    assert entry.dates == "1953–"
    assert "Tony Blair" in entry.variants
    assert not any("1953" in v for v in entry.spellings)


def test_both_orders_share_the_romanization_keys_of_variant_spellings():
    """Yi Sung-man is Rhee Syngman by key; Syngman Rhee only by the order rule."""
    entry = parse_entry("Rhee, Syngman")
    keys = {name_key(s) for s in entry.spellings}
    assert name_key("Yi Sung-man") in keys
    assert name_key("Syngman Rhee") in keys
    assert name_key("Francesca Rhee") not in keys


def test_western_names_get_no_reversed_order():
    entry = parse_entry("Dulles, John Foster")
    assert entry.preferred == "John Foster Dulles"
    assert "Foster Dulles John" not in entry.variants


def test_a_see_entry_points_at_the_person():
    entry = parse_entry("Yang, Dr.", "seeYou Chan Yang, Dr.")
    assert entry.see == "You Chan Yang"
    assert see_matches(entry.see, ["You, Chan Yang, Dr."])
    assert not see_matches(entry.see, ["Yang Hyong-sop"])
    assert "Yang You Chan" in see_forms(entry.see)


def test_non_latin_headings_survive():
    entry = parse_entry("Ким Ир Сен (Kim Il Sung, 김일성, 金日成)")
    assert entry.preferred == "Ким Ир Сен"
    assert {"Kim Il Sung", "김일성", "金日成"} <= set(entry.variants)
    quoted = parse_entry("Hammarskjöld, Dag (“Mr. H”)")
    assert quoted.preferred == "Dag Hammarskjöld"
