"""Cross-site request forgery: a form that changes something must come from this agent's own page.

Two checks, either of which a forged request fails: the session's secret token must come back with the
form (another site cannot read it), and a browser's Origin header, when sent, must be this host's.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from aiohttp import web

from ..aas_api.sessions import Session


def check_csrf(request: web.Request, session: Session, token: object) -> None:
    """Raises 403 unless ``token`` is the session's and the request's Origin (if any) is this host."""
    if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
        raise web.HTTPForbidden(reason="the form did not come from this agent's page (no valid CSRF token)")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.host:
        raise web.HTTPForbidden(reason=f"a form from {origin} may not change anything here")
