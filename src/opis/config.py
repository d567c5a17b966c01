"""Where the archive lives: ``--db``, else ``OPIS_DATABASE``, else the user's data folder."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir


def data_dir() -> Path:
    return Path(os.environ.get("OPIS_DATA_DIR") or user_data_dir("opis", appauthor=False))


def default_database() -> str:
    return str(data_dir() / "opis.db")


def resolve_database(option: str | None) -> str:
    return option or os.environ.get("OPIS_DATABASE") or default_database()
