"""Cookies, staff sessions and CSRF protection for the portal's forms.

- Language: `tizim_lang` cookie, set when a person picks a language (`?lang=`).
- CSRF: every POST form carries a token. Public forms use the double-submit pattern (the token
  is a random HttpOnly cookie and the same value in a hidden field, which another site can
  neither read nor set); staff forms use the token bound to the staff session in the database.
- Staff: `tizim_staff` holds a random session token (only its hash is stored), HttpOnly,
  SameSite=Lax, Secure over HTTPS (or always, when configured).
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request
from starlette.responses import Response

from tizim.runtime import Runtime
from tizim.services.staff_users import StaffSession, session_for

LANG_COOKIE = "tizim_lang"
CSRF_COOKIE = "tizim_csrf"
STAFF_COOKIE = "tizim_staff"
CSRF_FIELD = "csrf_token"


class LoginRequired(Exception):
    """Raised by staff pages without a valid session: answered with a redirect to the login."""


class CsrfRejected(Exception):
    """A POST whose CSRF token is missing or wrong: answered 403 with a page, never processed."""


def cookie_is_secure(request: Request) -> bool:
    runtime: Runtime = request.app.state.runtime
    configured = runtime.settings.secure_cookies
    if configured is not None:
        return configured
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, **extra: int) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=cookie_is_secure(request),
        path="/",
        **extra,  # type: ignore[arg-type]
    )


def public_csrf_token(request: Request) -> str:
    """The double-submit token of this browser; a new one is set on the response if absent."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return str(token)


def staff_session(request: Request) -> StaffSession | None:
    """The staff session of this request (looked up once per request), or None."""
    if not hasattr(request.state, "staff_session"):
        token = request.cookies.get(STAFF_COOKIE)
        request.state.staff_session = None
        if token:  # public visitors cost no database round trip
            runtime: Runtime = request.app.state.runtime
            with runtime.engine.begin() as conn:
                request.state.staff_session = session_for(
                    conn, token, now=request.app.state.clock.now()
                )
    found: StaffSession | None = request.state.staff_session
    return found


def require_staff(request: Request) -> StaffSession:
    """FastAPI dependency of every console page."""
    session = staff_session(request)
    if session is None:
        raise LoginRequired()
    return session


def form_csrf_token(request: Request) -> str:
    """The token forms of this page carry: the session's for staff, the cookie's otherwise."""
    session = staff_session(request) if request.url.path.startswith("/staff") else None
    return session.csrf_token if session else public_csrf_token(request)


def check_csrf(request: Request, submitted: object) -> None:
    """Refuse the POST unless its token is the expected one (constant-time comparison)."""
    session = staff_session(request) if request.url.path.startswith("/staff") else None
    expected = session.csrf_token if session else request.cookies.get(CSRF_COOKIE)
    if (
        not expected
        or not isinstance(submitted, str)
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise CsrfRejected()
