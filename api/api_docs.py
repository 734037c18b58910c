"""The API's documentation page: Swagger UI at `/docs`, from files the API serves itself.

FastAPI's default page loads Swagger UI from a CDN, so it renders blank on a network that reaches the
API and nothing else (a call center's, an installer's laptop offline); ReDoc's does too, so it is not
offered. The vendored files (`static/vendor/`, with their version and integrity) are served under
`/docs/static/`. The page and `/openapi.json` need no key: they describe the API and hold no data, and
an integrator reads them before being issued a key (docs/access.md); "Authorize" takes a key for
trying calls out.
"""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["DOCS_PATH", "install_docs"]

DOCS_PATH: Final = "/docs"
_ASSETS: Final = f"{DOCS_PATH}/static"
_PARAMETERS: Final = {
    "validatorUrl": None,  # Swagger UI's default sends the document to an outside validator
    "persistAuthorization": False,  # a key typed into "Authorize" is not kept in the browser
    "displayRequestDuration": True,
}


def install_docs(app: FastAPI) -> None:
    """Serve `/docs` and its assets from `app` (created with `docs_url=None, redoc_url=None`)."""
    app.mount(_ASSETS, StaticFiles(packages=[("api", "static/vendor/swagger-ui")]), name="docs-static")

    async def docs(request: Request) -> HTMLResponse:
        # Behind a proxy that adds a path prefix, every URL on the page must carry it too.
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title}: documentation",
            swagger_js_url=f"{root}{_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{_ASSETS}/favicon-32x32.png",
            swagger_ui_parameters=_PARAMETERS,
        )

    # A plain route, as FastAPI adds its own documentation pages: not an operation of the API.
    app.add_route(DOCS_PATH, docs, include_in_schema=False)
