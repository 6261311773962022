"""Bearer tokens for writes: each has a name and a role (``writer`` or ``admin``), stored hashed.

The tokens file is JSON: ``{"tokens": [{"name": "aigerim", "role": "writer", "sha256": "<hex>"}]}``
(``alatau-kg token add`` writes it). ``ALATAU_KG_TOKENS`` may also hold entries
``name:role:sha256hex`` separated by commas. A token is never stored in clear: only its SHA-256,
compared in constant time. With no token configured the service is read-only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from kg.errors import Forbidden, Unauthorized, UsageError

ROLES = ("writer", "admin")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    def may(self, role: str) -> bool:
        return self.role == "admin" or self.role == role


@dataclass(frozen=True)
class TokenEntry:
    name: str
    role: str
    sha256: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _entry(name: str, role: str, sha256: str) -> TokenEntry:
    if not _NAME.match(name):
        raise UsageError(f"token name {name!r}: use lowercase letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise UsageError(f"token role {role!r}: one of {', '.join(ROLES)}")
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise UsageError(f"token {name!r}: sha256 must be 64 lowercase hex digits")
    return TokenEntry(name, role, sha256)


class Tokens:
    def __init__(self, entries: list[TokenEntry]):
        names = [e.name for e in entries]
        if len(set(names)) != len(names):
            raise UsageError("token names must be unique")
        self.entries = entries

    @classmethod
    def load(cls, path: Path | None, inline: str = "") -> Tokens:
        entries: list[TokenEntry] = []
        if path is not None and str(path) and path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(f"cannot read the tokens file {path}: {exc}") from exc
            for item in data.get("tokens", []):
                entries.append(_entry(item["name"], item["role"], item["sha256"]))
        for part in filter(None, (p.strip() for p in inline.split(","))):
            name, role, sha = [*part.split(":"), "", "", ""][:3]
            entries.append(_entry(name, role, sha))
        return cls(entries)

    @property
    def configured(self) -> bool:
        return bool(self.entries)

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer …`` header, or Unauthorized/Forbidden."""
        if not self.configured:
            raise Forbidden("this service is read-only: no write tokens are configured")
        if not authorization:
            raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("use the Bearer scheme: Authorization: Bearer <token>")
        given = digest(token.strip())
        found: TokenEntry | None = None
        for entry in self.entries:  # compare with every entry, in constant time each
            if hmac.compare_digest(given, entry.sha256):
                found = entry
        if found is None:
            raise Forbidden("the token is not valid")
        return Principal(found.name, found.role)


def add_token(path: Path, name: str, role: str) -> str:
    """Create a token, store its hash in ``path`` and return it (shown once)."""
    token = secrets.token_urlsafe(32)
    existing = Tokens.load(path)
    if any(e.name == name for e in existing.entries):
        raise UsageError(f"a token named {name!r} exists already")
    entry = _entry(name, role, digest(token))
    items = [{"name": e.name, "role": e.role, "sha256": e.sha256} for e in [*existing.entries, entry]]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"tokens": items}, indent=2) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return token
