"""Signing in to the status page with a form, and out again: a session cookie instead of Basic prompts."""

from __future__ import annotations

from html import escape

from aiohttp import web

from ..aas_api.auth import SESSION, Authenticator
from ..aas_api.sessions import COOKIE, IDLE_S
from .csrf import check_csrf
from .render import LOGOUT, STATIC

LOGIN = "/status/login"
MAX_FIELD = 256
"""Longest user name or password the form takes."""


def login_page(message: str = "") -> str:
    notice = f'<p class="bad" id="login-error">{escape(message)}</p>' if message else ""
    return "\n".join(
        [
            "<!doctype html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            "<title>edge-agent: sign in</title>",
            f'<link rel="stylesheet" href="{STATIC}/page.css">',
            "</head><body><header><h1>edge-agent</h1><p>Sign in with a user of the agent's users file.</p>",
            f'</header><main>{notice}<form method="post" action="{LOGIN}" class="login">',
            '<label>User <input name="user" autocomplete="username" required></label>',
            '<label>Password <input name="password" type="password" autocomplete="current-password" required>'
            "</label>",
            "<button>Sign in</button></form></main></body></html>",
        ]
    )


class LoginRoutes:
    def __init__(self, authenticator: Authenticator, headers: dict[str, str]) -> None:
        self._authenticator = authenticator
        self._headers = headers

    async def form(self, request: web.Request) -> web.StreamResponse:
        return self._page("")

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        fields = await request.post()
        name, password = str(fields.get("user", "")), str(fields.get("password", ""))
        if not name or len(name) > MAX_FIELD or len(password) > MAX_FIELD:
            return self._page("A user name and a password are needed.", status=400)
        principal, reason = await self._authenticator.login(name, password, request.remote or "?")
        if principal is None:
            return self._page(f"Not signed in: {reason}.", status=401)
        token, _ = self._authenticator.sessions.open(principal, self._authenticator.users_signature())
        response = web.HTTPSeeOther("/")
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(IDLE_S),
            path="/",
            secure=request.secure,
            httponly=True,
            samesite="Strict",
        )
        raise response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        session = request.get(SESSION)
        if session is not None:
            check_csrf(request, session, (await request.post()).get("csrf"))
            self._authenticator.sessions.close(request.cookies.get(COOKIE, ""))
        response = web.HTTPSeeOther(LOGIN)
        response.del_cookie(COOKIE, path="/")
        raise response

    def _page(self, message: str, status: int = 200) -> web.Response:
        return web.Response(
            text=login_page(message),
            status=status,
            content_type="text/html",
            charset="utf-8",
            headers=self._headers,
        )

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_get(LOGIN, self.form)
        router.add_post(LOGIN, self.sign_in)
        router.add_post(LOGOUT, self.sign_out)
