"""What an attacker sends where opis expects a cursor or a resumption token it issued:
shared by the boundary tests, the property-based tests and schemathesis."""

from __future__ import annotations

import base64
import json

from hypothesis import strategies as st


def raw_token(value: object) -> str:
    """base64url of any JSON, unsigned: a cursor as one is made by hand."""
    text = json.dumps(value, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# The attack's own cursors, and more of their kind: huge and negative offsets, wrong
# types, deep arrays, base64 of garbage, garbage that is not base64, long strings.
ATTACK = [raw_token([2147483648]), raw_token([10**30]), raw_token([2**62]), raw_token([-1]),
          raw_token([1.5]), raw_token(["x"]), raw_token("x"), raw_token({"a": 1}),
          raw_token([]), raw_token([True]), raw_token(None),
          base64.urlsafe_b64encode(deep(5000).encode()).decode().rstrip("="),
          base64.urlsafe_b64encode(b"\xff\xfe\x00garbage").decode(), "%%%", "....",
          "WzIwXQ", "WzIwXQ.", ".abc", "A" * 10_000]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
CRAFTED = st.one_of(
    st.sampled_from(ATTACK),
    st.text(max_size=300),
    JSON.map(raw_token),
    st.integers(1, 3000).map(lambda n: base64.urlsafe_b64encode(deep(n).encode()).decode()),
    st.tuples(st.text(B64, max_size=80), st.text(B64, max_size=50)).map(".".join))
