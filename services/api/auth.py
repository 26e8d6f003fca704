"""Optional API keys (``NEWSFLOW_API_KEYS``): every route but ``/health`` and ``/metrics`` needs one.

Off by default: the API listens on 127.0.0.1, where only this machine's users reach it (the API
says so at start-up, and warns when it listens on another address without keys). With keys set, a
request carries one as the ``X-API-Key`` header or the ``api_key`` query parameter. A browser
opening ``/dashboard?api_key=...`` (or ``/docs?api_key=...``) also gets a cookie, so the page's own
requests (its script, styles and data) pass without the key in every URL; the cookie holds a
digest of the key, never the key itself.

A pure ASGI middleware, installed only when keys are set: without keys it costs nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from http.cookies import SimpleCookie
from typing import Any, Final
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

KEY_HEADER: Final = "X-API-Key"
KEY_QUERY: Final = "api_key"
COOKIE: Final = "newsflow_api"
# Probes must work without a key: the container health check and Prometheus.
OPEN_PATHS: Final = frozenset({"/health", "/metrics"})
# Pages a browser opens: a key in their URL also sets the cookie.
_PAGES: Final = ("/dashboard", "/docs", "/redoc")
_COOKIE_DAYS: Final = 7
_UNAUTHORISED: Final = json.dumps(
    {
        "detail": f"This API needs a key: send it in the {KEY_HEADER} header (or as ?{KEY_QUERY}=...), one of "
        "the keys set in NEWSFLOW_API_KEYS on the server."
    }
).encode()


def cookie_token(key: str) -> str:
    """What the cookie holds for ``key``: a digest, so the cookie never reveals the key."""
    return hmac.new(key.encode(), b"newsflow dashboard cookie", hashlib.sha256).hexdigest()


class ApiKeyMiddleware:
    def __init__(self, app: ASGIApp, keys: Sequence[str]) -> None:
        self.app = app
        self._keys = [key.encode() for key in keys]
        self._tokens = [cookie_token(key).encode() for key in keys]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(KEY_HEADER.lower().encode())
        from_query = False
        if given is None:
            values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(KEY_QUERY)
            if values:
                given, from_query = values[0].encode("utf-8"), True
        if given is not None and _matches(given, self._keys):
            if from_query and scope["path"].startswith(_PAGES):
                send = _with_cookie(send, cookie_token(given.decode("utf-8")), scope)
            await self.app(scope, receive, send)
            return
        if given is None and _matches(_cookie(headers), self._tokens):
            await self.app(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(_UNAUTHORISED)).encode()),
                    (b"www-authenticate", f'ApiKey header="{KEY_HEADER}"'.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _UNAUTHORISED})


def _matches(given: bytes | None, allowed: Sequence[bytes]) -> bool:
    # Compared in constant time against every key, so timing tells nothing about which one is close.
    found = False
    for candidate in allowed:
        found |= given is not None and hmac.compare_digest(given, candidate)
    return found


def _cookie(headers: dict[bytes, bytes]) -> bytes | None:
    raw = headers.get(b"cookie")
    if raw is None:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw.decode("latin-1"))
    except Exception:  # noqa: BLE001 - a malformed Cookie header is simply no credential
        return None
    morsel = jar.get(COOKIE)
    return morsel.value.encode("latin-1") if morsel else None


def _with_cookie(send: Send, token: str, scope: Scope) -> Send:
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    value = f"{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={_COOKIE_DAYS * 86400}{secure}"

    async def send_with_cookie(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", value.encode())]}
        await send(message)

    return send_with_cookie


def document_keys(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document with the key schemes, and a documented 401 on every route that needs a key."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        "ApiKeyHeader": {"type": "apiKey", "in": "header", "name": KEY_HEADER},
        "ApiKeyQuery": {"type": "apiKey", "in": "query", "name": KEY_QUERY},
    }
    schema["security"] = [{"ApiKeyHeader": []}, {"ApiKeyQuery": []}]
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if path in OPEN_PATHS:
                operation["security"] = []
                continue
            operation.setdefault("responses", {})["401"] = {
                "description": "No API key, or not one of NEWSFLOW_API_KEYS.",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorMessage"}}},
            }
    return schema
