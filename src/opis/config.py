"""Every setting opis takes from its environment, in one place: the ``OPIS_*``
variables read into one :class:`Settings`, each checked, so a typo fails with the
variable's name instead of a traceback in the middle of a request. Command-line
options (``--db``, ``--read-replica``) win over the variables they stand for.

:func:`settings` parses the environment once and keeps the result for as long as no
``OPIS_*`` variable changes (a test, or ``opis serve`` handing its options to its
workers, may change them). The layers below the services never read the environment:
the readers get their limits and FRUS repository rules, the embedder its model name,
from the services, which take them from here (docs/deployment.md#settings)."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from threading import Lock
from urllib.parse import urlsplit

from platformdirs import user_data_dir

REPLICAS_ENV = "OPIS_READ_REPLICAS"
PREFIX = "OPIS_"
DEFAULT_MAX_BODY = 8 * 1024 * 1024  # a request body: a form, an edit, a JSON write


SESSION_IDLE = timedelta(hours=4)  # a session unused this long ends
SESSION_LIFETIME = timedelta(hours=24)  # and any session ends this long after login


class ReplicaError(ValueError):
    """Read replicas configured where they cannot work; the message says what to do."""


class SettingsError(ValueError):
    """An ``OPIS_*`` variable set to a value opis cannot use; the message names it."""


@dataclass(frozen=True)
class OaiSettings:
    """``OPIS_OAI_*``: how the OAI-PMH repository names itself (docs/oai-pmh.md)."""

    repository_name: str = "opis"
    repository_id: str | None = None  # identifier namespace; None: the request's host
    admin_emails: tuple[str, ...] = ()
    page_size: int = 100
    token_hours: float = 24


@dataclass(frozen=True)
class Settings:
    """What the environment sets, parsed and checked (defaults where it is silent)."""

    data_dir: Path
    database: str | None = None  # OPIS_DATABASE
    read_replicas: tuple[str, ...] = ()  # OPIS_READ_REPLICAS, comma-separated
    replica_max_lag: float = 5.0  # OPIS_REPLICA_MAX_LAG: seconds a replica may trail
    read_only: bool = False  # OPIS_READ_ONLY=1: every write refused with 503
    base_url: str | None = None  # OPIS_BASE_URL: the site's public address
    allowed_hosts: tuple[str, ...] = ()  # OPIS_ALLOWED_HOSTS
    secret_key: str | None = None  # OPIS_SECRET_KEY, else one kept in the database
    session_idle: timedelta = SESSION_IDLE  # OPIS_SESSION_IDLE_MINUTES
    session_lifetime: timedelta = SESSION_LIFETIME  # OPIS_SESSION_HOURS
    argon2_memory_kib: int = 65536  # OPIS_ARGON2_MEMORY_KIB
    argon2_time_cost: int = 3  # OPIS_ARGON2_TIME_COST
    max_body: int = DEFAULT_MAX_BODY  # OPIS_MAX_BODY, bytes
    attachments: Path | None = None  # OPIS_ATTACHMENTS, for a PostgreSQL archive's files
    attachment_roots: tuple[Path, ...] = ()  # OPIS_ATTACHMENT_ROOTS, os.pathsep-separated
    embedder: str = ""  # OPIS_EMBEDDER, module:factory; "" is the bundled model
    frus_repositories: str = ""  # OPIS_FRUS_REPOSITORIES, a rules file
    # OPIS_MAX_* as given: the readers parse them into their Limits (readers/limits.py)
    reader_limits: Mapping[str, str] = field(default_factory=dict)
    oai: OaiSettings = OaiSettings()
    site_name: str = "opis"  # OPIS_SITE_NAME: in every page's header and title
    site_logo: Path | None = None  # OPIS_SITE_LOGO: an image file beside the name
    about: Path | None = None  # OPIS_ABOUT: a Markdown file, the /about page's text

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Every variable of ``env`` opis knows, checked; SettingsError on the first bad."""
        def get(name: str) -> str:
            return env.get(name, "").strip()

        def number(name: str, default: float, kind: type = float) -> float:
            raw = get(name)
            if not raw:
                return default
            try:
                value = kind(raw.replace("_", ""))
            except ValueError:
                value = 0
            if not 0 < value < math.inf:
                noun = "a whole number" if kind is int else "a number"
                raise SettingsError(f"{name} must be {noun} above 0, got {raw!r}")
            return value

        def listed(name: str, sep: str = ",") -> tuple[str, ...]:
            return tuple(v.strip() for v in get(name).split(sep) if v.strip())

        idle, hours = SESSION_IDLE, SESSION_LIFETIME
        oai = OaiSettings(
            repository_name=get("OPIS_OAI_REPOSITORY_NAME") or "opis",
            repository_id=get("OPIS_OAI_REPOSITORY_ID") or None,
            admin_emails=listed("OPIS_OAI_ADMIN_EMAIL"),
            page_size=int(number("OPIS_OAI_PAGE_SIZE", 100, int)),
            token_hours=number("OPIS_OAI_TOKEN_HOURS", 24),
        )
        return cls(
            data_dir=Path(get("OPIS_DATA_DIR") or user_data_dir("opis", appauthor=False)),
            database=get("OPIS_DATABASE") or None,
            read_replicas=listed(REPLICAS_ENV),
            replica_max_lag=number("OPIS_REPLICA_MAX_LAG", 5.0),
            read_only=get("OPIS_READ_ONLY") not in ("", "0"),
            base_url=site_address(get("OPIS_BASE_URL")),
            allowed_hosts=listed("OPIS_ALLOWED_HOSTS"),
            secret_key=env.get("OPIS_SECRET_KEY") or None,
            session_idle=timedelta(minutes=number(
                "OPIS_SESSION_IDLE_MINUTES", idle.total_seconds() / 60)),
            session_lifetime=timedelta(hours=number(
                "OPIS_SESSION_HOURS", hours.total_seconds() / 3600)),
            argon2_memory_kib=int(number("OPIS_ARGON2_MEMORY_KIB", 65536, int)),
            argon2_time_cost=int(number("OPIS_ARGON2_TIME_COST", 3, int)),
            max_body=int(number("OPIS_MAX_BODY", DEFAULT_MAX_BODY, int)),
            attachments=Path(get("OPIS_ATTACHMENTS")) if get("OPIS_ATTACHMENTS") else None,
            attachment_roots=tuple(Path(r) for r in listed("OPIS_ATTACHMENT_ROOTS",
                                                          os.pathsep)),
            embedder=get("OPIS_EMBEDDER"),
            frus_repositories=get("OPIS_FRUS_REPOSITORIES"),
            reader_limits={k: v for k, v in env.items() if k.startswith("OPIS_MAX_")
                           and k != "OPIS_MAX_BODY"},
            oai=oai,
            site_name=" ".join(get("OPIS_SITE_NAME").split())[:80] or "opis",
            site_logo=_file("OPIS_SITE_LOGO", get("OPIS_SITE_LOGO"), LOGO_SUFFIXES),
            about=_file("OPIS_ABOUT", get("OPIS_ABOUT"), (".md", ".markdown", ".txt")),
        )


_cache: tuple[tuple[tuple[str, str], ...], Settings] | None = None
_cache_lock = Lock()


def settings() -> Settings:
    """The settings of this process's environment, parsed once for as long as no
    ``OPIS_*`` variable changes."""
    global _cache
    key = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith(PREFIX)))
    cached = _cache
    if cached is not None and cached[0] == key:
        return cached[1]
    with _cache_lock:
        parsed = Settings.from_env(dict(key))
        _cache = (key, parsed)
    return parsed


LOGO_SUFFIXES = (".png", ".jpg", ".jpeg", ".svg", ".webp")


def _file(name: str, value: str, suffixes: tuple[str, ...]) -> Path | None:
    """A file a setting names: it must exist and be of a kind opis serves."""
    if not value:
        return None
    path = Path(value).expanduser()
    if path.suffix.lower() not in suffixes:
        raise SettingsError(f"{name}={value!r}: give a {', '.join(suffixes)} file")
    if not path.is_file():
        raise SettingsError(f"{name}={value!r}: no such file")
    return path


def site_address(value: str) -> str | None:
    """``OPIS_BASE_URL``: the site's public address (``https://archive.example.org``, or
    with a path prefix), from which every absolute URL is made (OAI-PMH's baseURL and
    identifiers, the citation meta tags, exports' links); None when unset. Checked at
    startup, so a typo fails loudly instead of publishing wrong links."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query \
            or parts.fragment or parts.username or parts.password:
        raise SettingsError(f"OPIS_BASE_URL={value!r} is not a site address: give scheme, "
                            "host and optional port and path, as https://archive.example.org")
    return value.rstrip("/")


# -- what the commands ask -----------------------------------------------------------------

def data_dir() -> Path:
    return settings().data_dir


def default_database() -> str:
    return str(data_dir() / "opis.db")


def resolve_database(option: str | None) -> str:
    """The one archive every command (``opis demo`` included) uses unless told another."""
    return option or settings().database or default_database()


def shown_database(url: str) -> str:
    """The archive's file or URL as a command says it: a password in a URL is hidden."""
    return re.sub(r"(://[^/:@]*):[^/@]*@", r"\1:***@", url)


def base_url() -> str | None:
    return settings().base_url


def allowed_hosts() -> list[str]:
    """Host names (``*.example.org`` allowed) requests may be addressed to; others get
    400. Empty when unset."""
    return list(settings().allowed_hosts)


def replica_urls(options: Iterable[str] | None = None,
                 env: Mapping[str, str] | None = None) -> list[str]:
    """The read replicas: ``--read-replica`` values when given, else
    ``OPIS_READ_REPLICAS`` (of ``env`` when given). Blank entries are dropped."""
    values = [v.strip() for v in options or [] if v and v.strip()]
    found = Settings.from_env(env) if env is not None else settings()
    return values or list(found.read_replicas)
