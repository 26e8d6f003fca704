"""``HEAD`` on every ``GET`` route: the GET's status and headers (``Content-Length`` included), no body.

FastAPI routes answer only the methods they declare, so ``curl -I`` and link checkers got 405.
A pure ASGI middleware runs a HEAD request as the GET it stands for and drops the body on the
way out (RFC 9110 section 9.3.2), so every route, present and future, answers HEAD alike and the
OpenAPI document is not doubled.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the rest of a streamed body: nothing of it is sent
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_without_body)
