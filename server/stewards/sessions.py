"""Signing in with a token in the browser: a session cookie, CSRF protection, sign-out, expiry.

The cookie (``kg_steward``) holds a signed, time-stamped payload (itsdangerous, HMAC-SHA-512 with the
service's ``session_secret``): the token's name and role, a fingerprint of the token's hash (so that
removing or replacing a token ends its sessions), the time of sign-in, and the session's CSRF token.
Never the token: it is read once from the sign-in form, checked against the hashes of the tokens file
like a bearer token (:meth:`kg.changes.tokens.Tokens.authenticate`), and forgotten; it is never shown
back, logged or stored.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (no other site's form sends it),
``Secure`` when the request came over HTTPS, and lives ``session_expiry_s`` (also checked on the
server, from the signed time of sign-in). Signing out deletes it. A visitor who has not signed in
gets a cookie with a CSRF token only, so that the sign-in form is protected too.

CSRF (OWASP's synchronizer token pattern): every form of the stewards' pages carries the session's
token in a hidden ``csrf_token`` field, every script request sends it in ``X-CSRF-Token``; a POST
without the token of its session is refused (403 ``csrf_failed``) and changes nothing. A POST whose
``Origin`` names another host is refused the same way.

Without ``session_secret`` each start of the service makes a random one (shared by the worker
processes forked from it): sessions then end when the service restarts. Set it (the same on every
front process) to keep them across restarts and fronts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, g, request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from kg.changes.tokens import Tokens
from kg.errors import Forbidden, Unauthorized
from server.core.context import context
from server.core.errors import HttpError

COOKIE = "kg_steward"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SALT = "alatau-kg steward session"
# Made when the server module is imported, in the process that forks the workers: they share it.
PROCESS_SECRET = secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Steward:
    """A signed-in token holder."""

    name: str
    role: str
    since: float

    @property
    def admin(self) -> bool:
        return self.role == "admin"


@dataclass
class Session:
    csrf: str
    steward: Steward | None = None
    changed: bool = False  # the cookie must be written again


def _serializer() -> URLSafeTimedSerializer:
    secret = context().settings.session_secret or PROCESS_SECRET
    return URLSafeTimedSerializer(secret, salt=SALT, signer_kwargs={"digest_method": hashlib.sha512})


def fingerprint(sha256: str) -> str:
    """What the cookie keeps of a token: a hash of its hash, enough to tell it is still the same."""
    return hashlib.sha256(("alatau-kg session " + sha256).encode()).hexdigest()[:24]


def _expiry() -> int:
    return max(60, int(context().settings.session_expiry_s))


def session() -> Session:
    """The current request's session (read from its cookie once; a fresh one if none is valid)."""
    if "steward_session" in g:
        return g.steward_session  # type: ignore[no-any-return]
    found: Session | None = None
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            data: dict[str, Any] = _serializer().loads(raw, max_age=_expiry())
        except BadSignature:
            data = {}
        if isinstance(data.get("c"), str) and len(data["c"]) >= 20:
            found = Session(data["c"])
            found.steward = _steward(data)
            if data.get("n") and found.steward is None:
                found.changed = True  # the token was removed or replaced: signed out
    if found is None:
        found = Session(secrets.token_urlsafe(24), changed=True)
    g.steward_session = found
    return found


def _steward(data: dict[str, Any]) -> Steward | None:
    name, role, print_, since = data.get("n"), data.get("r"), data.get("f"), data.get("t")
    if not (isinstance(name, str) and isinstance(role, str) and isinstance(print_, str)):
        return None
    if not isinstance(since, int | float) or time.time() - since > _expiry():
        return None
    tokens: Tokens = context().tokens
    for entry in tokens.entries:
        if (
            entry.name == name
            and entry.role == role
            and hmac.compare_digest(fingerprint(entry.sha256), print_)
        ):
            return Steward(name, role, float(since))
    return None


def current() -> Steward | None:
    """The signed-in steward of this request, if any."""
    return session().steward


def sign_in(token: str) -> Steward:
    """Check ``token`` as a bearer token would be; a new session (and CSRF token) for its holder."""
    tokens: Tokens = context().tokens
    principal = tokens.authenticate(f"Bearer {token.strip()}" if token.strip() else None)
    entry = next(e for e in tokens.entries if e.name == principal.name)
    steward = Steward(principal.name, principal.role, time.time())
    g.steward_session = Session(secrets.token_urlsafe(24), steward, changed=True)  # no fixation
    g.steward_fingerprint = fingerprint(entry.sha256)
    return steward


def sign_out() -> None:
    g.steward_session = Session(secrets.token_urlsafe(24), None, changed=True)
    g.steward_signed_out = True


def save(response: Response) -> Response:
    """Write the session's cookie when it changed (after each request of the stewards' pages)."""
    state: Session | None = g.get("steward_session")
    if state is None or not state.changed:
        return response
    payload: dict[str, Any] = {"c": state.csrf}
    if state.steward is not None:
        print_ = g.get("steward_fingerprint") or _fingerprint_of(state.steward)
        payload |= {"n": state.steward.name, "r": state.steward.role, "f": print_, "t": state.steward.since}
    response.set_cookie(
        COOKIE,
        _serializer().dumps(payload),
        max_age=_expiry(),
        path="/",
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _fingerprint_of(steward: Steward) -> str:
    entry = next(e for e in context().tokens.entries if e.name == steward.name)
    return fingerprint(entry.sha256)


def csrf_token() -> str:
    return session().csrf


def check_csrf() -> None:
    """Refuse a POST that does not carry its session's CSRF token, or comes from another origin."""
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        parts = urlsplit(origin)
        if parts.netloc != request.host:
            raise HttpError(403, "csrf_failed", "the request came from another site; nothing was changed")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    state = session()
    if not sent or not hmac.compare_digest(sent, state.csrf):
        raise HttpError(
            403,
            "csrf_failed",
            "the form is out of date or did not come from this site (no valid CSRF token): reload the "
            "page and send it again; nothing was changed",
        )


def require(role: str = "writer") -> Steward:
    """The signed-in steward, who may do what ``role`` may; else 401 (not signed in) or 403."""
    if not context().tokens.configured:
        raise HttpError(403, "read_only", "this service is read-only: no write tokens are configured")
    steward = current()
    if steward is None:
        raise Unauthorized("sign in with your token first")
    if role == "admin" and not steward.admin:
        raise Forbidden(f"{steward.name} is a writer; this needs an admin")
    return steward


def secret_configured() -> bool:
    return bool(current_app and context().settings.session_secret)
