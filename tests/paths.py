"""Where the tests' files are, for test modules at any depth of tests/."""

from __future__ import annotations

from pathlib import Path

TESTS = Path(__file__).resolve().parent  # the helpers (conftest, fixtures) live here
DATA = TESTS / "data"  # sample documents, whole real files among them
ROOT = TESTS.parent  # the repository: src/, bench/, docs/
