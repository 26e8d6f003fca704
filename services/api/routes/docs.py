"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc), with their scripts served by the app itself.

FastAPI's own pages load Swagger UI and ReDoc from a CDN, so with no internet they are blank.
Here the same pages load them from ``/docs/assets/``, files shipped in the ``fastapi-offline``
wheel (Swagger UI and ReDoc's own builds), and ask for nothing outside the API: no web fonts,
no favicon from elsewhere, no online validator. ReDoc's build draws its maker's logo from their
CDN in the sidebar's footer; the script is served with that one address replaced by an empty
inline image (``tests/metrics/test_browser_dashboard.py`` fails on any request off the machine).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Final

import fastapi_offline
from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response

ASSETS_DIR: Final = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PATH: Final = "/docs/assets"
# The only files served from ASSETS_DIR, with their media types.
ASSETS: Final = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}
ASSET_CACHE_SECONDS: Final = 86_400
OAUTH2_REDIRECT_PATH: Final = "/docs/oauth2-redirect"
# Swagger UI would otherwise send the document to an online validator for its badge.
SWAGGER_UI_PARAMETERS: Final = {"validatorUrl": None}
REDOC_SCRIPT: Final = "redoc.standalone.js"
REDOC_LOGO_URL: Final = "https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE: Final = "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'/%3E"

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", ""))


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_PATH}",
        swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    )


@router.get(OAUTH2_REDIRECT_PATH, response_class=HTMLResponse)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    return get_redoc_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        with_google_fonts=False,
    )


@cache
def _redoc_script() -> bytes:
    return (ASSETS_DIR / REDOC_SCRIPT).read_bytes().replace(REDOC_LOGO_URL.encode(), EMPTY_IMAGE.encode())


@router.get(ASSETS_PATH + "/{name}", response_model=None)
def docs_asset(name: str) -> FileResponse | Response:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, f"No docs asset {name!r}; the pages use {', '.join(sorted(ASSETS))}.")
    headers = {"Cache-Control": f"max-age={ASSET_CACHE_SECONDS}"}
    if name == REDOC_SCRIPT:
        return Response(_redoc_script(), media_type=media_type, headers=headers)
    return FileResponse(ASSETS_DIR / name, media_type=media_type, headers=headers)
