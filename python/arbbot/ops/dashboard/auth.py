"""Dashboard authentication: one token for everything, a session cookie for the browser, CSRF
protection for state-changing calls.

- `GET /?token=T` (T = the token) starts a browser session: an HttpOnly, SameSite=Strict cookie
  holding a random session id, then a redirect to `/` (the token leaves the address bar).
- Every other request needs that cookie or `Authorization: Bearer T`; otherwise 401.
- A POST authenticated by the cookie must also carry the session's CSRF token (delivered in the
  page) in `X-CSRF-Token`, and an `Origin`, when sent, must be this server's; a POST with the
  bearer token needs neither (a browser never sends it by itself).
Tokens are compared with `hmac.compare_digest`. The audit trail names a browser session by a
label (`session_label`), never by any part of its id (a bearer secret, as the token is).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import OrderedDict
from urllib.parse import quote

from aiohttp import web

COOKIE = "arbbot_session"
MAX_SESSIONS = 64                 # browser sessions kept (oldest dropped)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def base_url(host: str, port: int) -> str:
    """`http://HOST:PORT/` (an IPv6 host in brackets)."""
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def login_url(host: str, port: int, token: str) -> str:
    """The URL with the token (shown once on the terminal, never logged), percent-encoded: a token
    holding `+ / = # & %` or spaces (`openssl rand -base64`) reaches the login check as it is."""
    return f"{base_url(host, port)}?token={quote(token, safe='')}"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a.encode(), b.encode())


class Auth:
    def __init__(self, token: str) -> None:
        from arbbot.config import MIN_DASHBOARD_TOKEN
        if len(token) < MIN_DASHBOARD_TOKEN:     # as arbbot.config checks ARB_DASHBOARD_TOKEN
            raise ValueError(f"the dashboard token must be at least {MIN_DASHBOARD_TOKEN} characters")
        self.token = token
        self.sessions: OrderedDict[str, str] = OrderedDict()     # session id → its CSRF token
        self._label_key = secrets.token_bytes(32)                # this process's key of session labels

    def start_session(self) -> tuple[str, str]:
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.sessions[sid] = csrf
        while len(self.sessions) > MAX_SESSIONS:
            self.sessions.popitem(last=False)
        return sid, csrf

    def session_of(self, request: web.Request) -> str | None:
        sid = request.cookies.get(COOKIE)
        if sid is None:
            return None
        return next((s for s in self.sessions if same(sid, s)), None)

    def bearer(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and same(header[7:].strip(), self.token)

    def csrf_of(self, request: web.Request) -> str | None:
        sid = self.session_of(request)
        return self.sessions.get(sid) if sid else None

    def session_label(self, sid: str) -> str:
        """8 hex digits of HMAC-SHA256(this process's random key, `sid`): the same for one session,
        different for two (but for a 2⁻³² chance), and nothing of `sid` can be learnt from it."""
        return hmac.new(self._label_key, sid.encode(), hashlib.sha256).hexdigest()[:8]

    def who(self, request: web.Request) -> str:
        """How the caller authenticated, for the audit trail (never the secret nor a piece of it)."""
        sid = self.session_of(request)
        return f"dashboard session {self.session_label(sid)}" if sid else "api (bearer token)"

    @web.middleware
    async def middleware(self, request: web.Request, handler):
        try:
            response = await self._check(request, handler)
        except web.HTTPException as exc:         # 404, 405, …: as JSON, with the same headers
            response = _refuse(exc.status, exc.reason)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def _check(self, request: web.Request, handler):
        if request.path == "/" and "token" in request.query:
            if not same(request.query.get("token"), self.token):
                return _refuse(401, "wrong dashboard token")
            sid, _ = self.start_session()
            response = web.Response(status=303, headers={"Location": "/"})
            response.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", path="/")
            return response
        if self.bearer(request):
            return await handler(request)
        sid = self.session_of(request)
        if sid is None:
            return _refuse(401, "dashboard token required: open the URL printed on the terminal, or send "
                                "Authorization: Bearer TOKEN")
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                return _refuse(403, f"cross-origin request refused ({origin})")
            if not same(request.headers.get("X-CSRF-Token"), self.sessions[sid]):
                return _refuse(403, "missing or wrong X-CSRF-Token")
        return await handler(request)


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
