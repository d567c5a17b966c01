"""OAI-PMH's wire encodings: protocol errors, UTC datestamps, setSpec escaping, and the
signed resumption tokens that carry a list's place between requests. No archive access:
``services/oai.py`` answers the verbs with these."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from opis.services.signing import BadToken, SignedJSON

_SET_SAFE = re.compile(r"[A-Za-z0-9\-_.!*'()]")  # '~' is the escape character
DAY_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SECOND = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MAX_TOKEN = 4096


class OaiError(Exception):
    """A protocol error: reported to the harvester as ``<error code=...>``, never raised
    past ``respond``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Harvest:
    """A ListIdentifiers/ListRecords request, as first asked and as its token continues it."""

    verb: str
    prefix: str
    set_spec: str | None
    from_: str | None
    until: str | None
    started: datetime  # the list holds records changed before this moment
    after: tuple[datetime, str] | None = None  # last (updated_at, id) already sent
    cursor: int = 0


# -- small conversions ---------------------------------------------------------------------

def as_utc(value: datetime) -> datetime:
    """Stored timestamps are UTC; SQLite hands them back without a zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def datestamp(value: datetime) -> str:
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datestamp(value: str, *, until: bool) -> datetime:
    """A from/until argument as a bound: inclusive start, or exclusive end one unit on."""
    try:
        if DAY_STAMP.match(value):
            day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
            return _after(day, timedelta(days=1)) if until else day
        if _SECOND.match(value):
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            return _after(moment, timedelta(seconds=1)) if until else moment
    except ValueError:
        pass
    raise OaiError("badArgument", f"{value!r} is not a UTC datestamp (YYYY-MM-DD or "
                                  "YYYY-MM-DDThh:mm:ssZ)")


def _after(moment: datetime, step: timedelta) -> datetime:
    """The end of an until: the next day or second, or the last moment there is (an
    until of 9999-12-31 has no next day)."""
    try:
        return moment + step
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC)


def encode_set_part(value: str) -> str:
    """A collection id as a setSpec part: characters setSpec forbids become ~HH."""
    out = []
    for ch in value:
        if _SET_SAFE.fullmatch(ch):
            out.append(ch)
        else:
            out.extend(f"~{b:02X}" for b in ch.encode("utf-8"))
    return "".join(out)


def decode_set_part(value: str) -> str:
    raw = bytearray()
    i = 0
    while i < len(value):
        if value[i] == "~" and re.fullmatch(r"[0-9A-Fa-f]{2}", value[i + 1:i + 3]):
            raw.append(int(value[i + 1:i + 3], 16))
            i += 3
        else:
            raw.extend(value[i].encode("utf-8"))
            i += 1
    return raw.decode("utf-8", errors="replace")


# -- resumption tokens ---------------------------------------------------------------------

def token_signer(secret: str) -> SignedJSON:
    return SignedJSON(secret, "oai-resumption-token", max_length=MAX_TOKEN)


def encode_token(harvest: Harvest, expires: datetime, signer: SignedJSON) -> str:
    """Opaque to harvesters: the query, the last key sent, the cursor and an expiry,
    signed with a key from the archive's secret, so no token can be made or altered
    outside the server (to never expire, say, or to carry what the lists never do)."""
    return signer.dumps({
        "verb": harvest.verb, "p": harvest.prefix, "s": harvest.set_spec, "f": harvest.from_,
        "u": harvest.until, "t": harvest.started.isoformat(),
        "a": [harvest.after[0].isoformat(), harvest.after[1]] if harvest.after else None,
        "c": harvest.cursor, "x": int(expires.timestamp()),
    })


def read_token(token: str, verb: str, now: datetime, signer: SignedJSON) -> Harvest:
    """The harvest a token continues, or ``badResumptionToken``: forged, altered,
    truncated, garbage, for another verb, or expired."""
    try:
        data = signer.loads(token)
        expires = datetime.fromtimestamp(int(data["x"]), UTC)
        after = data["a"]
        harvest = Harvest(
            verb=str(data["verb"]), prefix=str(data["p"]), set_spec=data["s"],
            from_=data["f"], until=data["u"], started=as_utc(datetime.fromisoformat(data["t"])),
            after=(as_utc(datetime.fromisoformat(after[0])), str(after[1])) if after else None,
            cursor=int(data["c"]))
    except (BadToken, KeyError, TypeError, ValueError, IndexError, OverflowError, OSError):
        raise OaiError("badResumptionToken", "The resumption token is not one this "
                                             "repository issued; start the list again "
                                             "without it.") from None
    if harvest.verb != verb:
        raise OaiError("badResumptionToken", f"This resumption token continues a "
                                             f"{harvest.verb} list, not {verb}.")
    if now >= expires:
        raise OaiError("badResumptionToken", f"The resumption token expired at "
                                             f"{datestamp(expires)}; start the list again.")
    return harvest
