"""Dashboard authentication: one token for everything, a session cookie for the browser, CSRF
protection for state-changing calls.

- `GET /?token=T` (T = the token) starts a browser session: an HttpOnly, SameSite=Strict cookie
  holding a random session id, then a redirect to `/` (the token leaves the address bar). The
  cookie is named after the port (`arbbot_session_8765`): a browser sends a host's cookies to
  every port of it, so two bots' dashboards on one machine (paper and live) must not overwrite
  each other's session. A session unused for SESSION_IDLE_S ends; an open page's event stream
  keeps its session in use (each state sent counts), so only a closed page's session expires.
- Every other request needs that cookie or `Authorization: Bearer T`; otherwise 401.
- A POST authenticated by the cookie must also carry the session's CSRF token (delivered in the
  page) in `X-CSRF-Token`, and an `Origin`, when sent, must be this server's; a POST with the
  bearer token needs neither (a browser never sends it by itself).
- Every request, first, must name this server in its `Host` header: its bound address, 127.0.0.1,
  localhost or [::1], with its port (`arbbot.config.allowed_hosts`, as the metrics); any other
  Host (a page that re-bound its own DNS name to 127.0.0.1: DNS rebinding) gets 403, whatever it
  carries. A wildcard bind (ARB_ALLOW_REMOTE_DASHBOARD=1 on 0.0.0.0 / ::) answers every name.
- Wrong tokens (`?token=` or `Authorization: Bearer`) are counted: LOGIN_FAILURES of them within
  LOGIN_WINDOW_S lock every token check for LOCKOUT_S (429, `Retry-After`; the token is not even
  compared meanwhile), so the token cannot be guessed at the server's speed. Browser sessions
  already open keep working; a request a browser marks cross-site is not counted (a web page
  cannot read the answer, and must not lock the operator out).
Tokens are compared with `hmac.compare_digest`. The audit trail names a browser session by a
label (`session_label`), never by any part of its id (a bearer secret, as the token is).
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import time
from collections import OrderedDict, deque
from urllib.parse import quote

from aiohttp import web

from arbbot import logs

log = logs.get("dashboard")
COOKIE = "arbbot_session"          # the cookie's name before the server is bound; then COOKIE_port
MAX_SESSIONS = 64                 # browser sessions kept (oldest dropped)
SESSION_IDLE_S = 8 * 3600.0       # a browser session unused this long ends
LOGIN_FAILURES = 10               # wrong tokens within LOGIN_WINDOW_S that lock the token checks ...
LOGIN_WINDOW_S = 60.0
LOCKOUT_S = 60.0                  # ... for this long (429)
HALT_PATH = "/api/halt"           # the kill switch: answered to the right bearer token even then,
HALT_CHECKS_LOCKED = 3            # ... which is compared at most this often during one lockout
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
    def __init__(self, token: str, *, clock=time.monotonic) -> None:
        from arbbot.config import MIN_DASHBOARD_TOKEN
        if len(token) < MIN_DASHBOARD_TOKEN:     # as arbbot.config checks ARB_DASHBOARD_TOKEN
            raise ValueError(f"the dashboard token must be at least {MIN_DASHBOARD_TOKEN} characters")
        self.token = token
        self.sessions: OrderedDict[str, str] = OrderedDict()     # session id → its CSRF token
        self._used: dict[str, float] = {}                        # session id → when last used (clock)
        self.cookie = COOKIE
        self._label_key = secrets.token_bytes(32)                # this process's key of session labels
        # the Host header values answered (`serve_on`); none until the server is bound, None: any
        self.allowed: frozenset[str] | None = frozenset()
        self.clock = clock
        self._failures: deque[float] = deque()   # when the wrong tokens of the last LOGIN_WINDOW_S came
        self._locked_until = 0.0
        self._halt_checks = 0                    # halt tokens compared during the current lockout

    def serve_on(self, host: str, port: int) -> None:
        """The server is bound on `host`:`port`: answer the Host names of that address only."""
        from arbbot.config import allowed_hosts
        self.allowed = allowed_hosts(host, port)
        self.cookie = f"{COOKIE}_{port}"

    def host_ok(self, request: web.Request) -> bool:
        if self.allowed is None:
            return True
        host = request.headers.get("Host")
        return host is not None and host.strip().lower() in self.allowed

    def same_origin(self, request: web.Request, origin: str) -> bool:
        """`origin` (a POST's Origin header) is this server's: one of the allowed Host names."""
        if self.allowed is None:                 # any name of the machine: the one this request used
            return origin == f"{request.scheme}://{request.host}"
        return origin.lower() in {f"{request.scheme}://{host}" for host in self.allowed}

    def locked(self) -> float:
        """Seconds left before tokens are checked again (0: they are)."""
        left = max(0.0, self._locked_until - self.clock())
        if not left:
            self._halt_checks = 0
        return left

    def _failed(self) -> None:
        """One wrong token: LOGIN_FAILURES within LOGIN_WINDOW_S lock the checks for LOCKOUT_S."""
        now = self.clock()
        self._failures.append(now)
        while self._failures and self._failures[0] <= now - LOGIN_WINDOW_S:
            self._failures.popleft()
        if len(self._failures) >= LOGIN_FAILURES:
            self._failures.clear()
            self._locked_until = now + LOCKOUT_S
            log.warning("dashboard.logins_locked", failures=LOGIN_FAILURES, window_s=LOGIN_WINDOW_S,
                        locked_s=LOCKOUT_S)

    def start_session(self) -> tuple[str, str]:
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self.sessions[sid] = csrf
        self._used[sid] = self.clock()
        while len(self.sessions) > MAX_SESSIONS:
            self._used.pop(self.sessions.popitem(last=False)[0], None)
        return sid, csrf

    def session_of(self, request: web.Request) -> str | None:
        """The browser session `request`'s cookie names, if it is open and was used within
        SESSION_IDLE_S (this use counts); an idle one is ended here."""
        sid = request.cookies.get(self.cookie)
        if sid is None:
            return None
        found = next((s for s in self.sessions if same(sid, s)), None)
        if found is None:
            return None
        now = self.clock()
        if now - self._used[found] >= SESSION_IDLE_S:
            del self.sessions[found], self._used[found]
            return None
        self._used[found] = now
        return found

    def keep(self, sid: str | None) -> None:
        """Session `sid` is in use now (an open page's event stream, each state it is sent)."""
        if sid in self._used:
            self._used[sid] = self.clock()

    def bearer(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and same(header[7:].strip(), self.token)

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
        if not self.host_ok(request):
            return _refuse(403, "unexpected Host header (the dashboard answers its own address only)")
        sends_token = "token" in request.query or request.headers.get("Authorization", "").startswith("Bearer ")
        if sends_token and request.headers.get("Sec-Fetch-Site") == "cross-site":
            # another site's page made the browser send it: never compared, never counted. Its
            # guesses would be unlimited (the header is the sender's to set) if they were compared
            # uncounted, and would lock the operator out if counted. The operator's own ways
            # (the URL opened from the terminal or typed, a script) are never cross-site.
            return _refuse(403, "a dashboard token sent from another site's page is refused: open the URL "
                                "printed on the terminal")
        if request.path == "/" and "token" in request.query:
            if wait := self.locked():
                return _locked(wait)
            if not same(request.query.get("token"), self.token):
                self._failed()
                return _refuse(401, "wrong dashboard token")
            sid, csrf = self.start_session()
            # the CSRF token in the fragment, never in the page: a browser sends this cookie to every
            # program on 127.0.0.1 whatever its port, and one that got it could read a token the
            # page carried; the fragment reaches only this tab's script (app.js: sessionStorage)
            response = web.Response(status=303, headers={"Location": f"/#csrf={csrf}"})
            response.set_cookie(self.cookie, sid, httponly=True, samesite="Strict", path="/")
            return response
        if request.headers.get("Authorization", "").startswith("Bearer "):
            if wait := self.locked():
                # a halt with the right token goes through a lockout that anyone reaching the port
                # can cause: a risk script's kill switch must not wait on a stranger's guesses
                # (halting can only stop trading). Only HALT_CHECKS_LOCKED comparisons a lockout,
                # so that the halt is no unlimited guessing channel while every other check rests
                if not (request.method == "POST" and request.path == HALT_PATH
                        and self._halt_checks < HALT_CHECKS_LOCKED):
                    return _locked(wait)
                self._halt_checks += 1
                if not self.bearer(request):
                    return _locked(wait)
            if self.bearer(request):
                return await handler(request)
            self._failed()
        sid = self.session_of(request)
        if sid is None:
            return _refuse(401, "dashboard token required: open the URL printed on the terminal, or send "
                                "Authorization: Bearer TOKEN")
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("Origin")
            if origin is not None and not self.same_origin(request, origin):
                return _refuse(403, f"cross-origin request refused ({origin})")
            if not same(request.headers.get("X-CSRF-Token"), self.sessions[sid]):
                return _refuse(403, "missing or wrong X-CSRF-Token (a tab opened without signing in reads the "
                                    "dashboard only: open the URL printed on the terminal to use the controls)")
        return await handler(request)


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _locked(seconds: float) -> web.Response:
    response = _refuse(429, f"too many wrong dashboard tokens: try again in {math.ceil(seconds)} s")
    response.headers["Retry-After"] = str(math.ceil(seconds))
    return response
