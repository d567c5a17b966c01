"""Settings from the environment: where the archive lives (``--db``, else
``OPIS_DATABASE``, else the user's data folder) and where the site is reached."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from platformdirs import user_data_dir

REPLICAS_ENV = "OPIS_READ_REPLICAS"


class ReplicaError(ValueError):
    """Read replicas configured where they cannot work; the message says what to do."""


def data_dir() -> Path:
    return Path(os.environ.get("OPIS_DATA_DIR") or user_data_dir("opis", appauthor=False))


def default_database() -> str:
    return str(data_dir() / "opis.db")


def resolve_database(option: str | None) -> str:
    """The one archive every command (``opis demo`` included) uses unless told another."""
    return option or os.environ.get("OPIS_DATABASE") or default_database()


def shown_database(url: str) -> str:
    """The archive's file or URL as a command says it: a password in a URL is hidden."""
    return re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", url)


def base_url(env: Mapping[str, str] | None = None) -> str | None:
    """``OPIS_BASE_URL``: the site's public address (``https://archive.example.org``, or
    with a path prefix), from which every absolute URL is made (OAI-PMH's baseURL and
    identifiers, the citation meta tags); None when unset. Checked at startup, so a typo
    fails loudly instead of publishing wrong links."""
    value = (env if env is not None else os.environ).get("OPIS_BASE_URL", "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise ValueError(f"OPIS_BASE_URL={value!r} is not a site address: give scheme, "
                         "host and optional port and path, as https://archive.example.org")
    return value.rstrip("/")


def allowed_hosts() -> list[str]:
    """``OPIS_ALLOWED_HOSTS``: host names (comma-separated, ``*.example.org`` allowed)
    requests may be addressed to; others get 400. Empty when unset."""
    return [h.strip() for h in os.environ.get("OPIS_ALLOWED_HOSTS", "").split(",")
            if h.strip()]


def replica_urls(options: Iterable[str] | None = None,
                 env: Mapping[str, str] | None = None) -> list[str]:
    """The read replicas: ``--read-replica`` values when given, else ``OPIS_READ_REPLICAS``
    (comma-separated). Blank entries are dropped."""
    values = list(options or [])
    if not values:
        values = (env if env is not None else os.environ).get(REPLICAS_ENV, "").split(",")
    return [v.strip() for v in values if v and v.strip()]
