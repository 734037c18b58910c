"""The API's documentation page: Swagger UI served from the API itself, so `/docs` works on a network
that reaches the API and nothing else; which paths answer without a key, as docs/access.md says; and
the vendored files shipped in the package."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route

from api.app import api_routes
from testbed.console_browser import ARTIFACTS, chromium, serving_api
from testbed.support import ApiClient

ROOT = Path(__file__).resolve().parent.parent
VENDORED = ROOT / "api" / "static" / "vendor"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


async def test_docs_load_everything_from_the_api_itself(db_dsn: str) -> None:
    async with ApiClient(db_dsn, role=None) as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        links = _Links()
        links.feed(page.text)
        assert len(links.urls) == 3, links.urls  # the script, the style sheet, the icon
        script = page.text.split("<script>", 1)[1]
        assert re.findall(r"https?://", page.text) == [], "no address of another host on the page"
        assert "url: '/openapi.json'" in script
        assert '"validatorUrl": null' in script, "Swagger UI's default validator is an outside service"
        for url in links.urls:
            assert not urlsplit(url).netloc, url
            asset = await http.get(url)
            assert asset.status_code == 200, url
            assert len(asset.content) > 500, url
        bundle = await http.get("/docs/static/swagger-ui-bundle.js")
        assert bundle.headers["content-type"].startswith(("text/javascript", "application/javascript"))
        assert (await http.get("/redoc")).status_code == 404, "ReDoc would load from a CDN: not served"


@pytest.mark.slow
async def test_docs_render_in_a_browser_that_can_reach_only_the_api(db_dsn: str) -> None:
    with serving_api(db_dsn) as base:
        ours = urlsplit(base).netloc
        elsewhere: list[str] = []
        async with chromium() as browser:
            page = await browser.new_page()

            async def only_the_api(route: object, request: object) -> None:
                if urlsplit(request.url).netloc == ours:  # type: ignore[attr-defined]
                    await route.continue_()  # type: ignore[attr-defined]
                else:
                    elsewhere.append(request.url)  # type: ignore[attr-defined]
                    await route.abort()  # type: ignore[attr-defined]

            await page.route("**/*", only_the_api)
            await page.goto(f"{base}/docs")
            await (
                page.locator(".swagger-ui .info .title").filter(has_text="Ondol API").wait_for(timeout=20_000)
            )
            operations = await page.locator(".opblock").count()
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    assert elsewhere == []
    assert operations >= 25, "every operation of the API is drawn"


def _public_paths(text: str) -> set[str]:
    """The paths docs/access.md says answer without a key, from its first sentence."""
    stated = re.search(r"Every endpoint but (.+?) needs an API key", text)
    assert stated is not None, "docs/access.md says which paths need no key"
    return set(re.findall(r"`(/[^`]*)`", stated[1]))


async def test_the_paths_answering_without_a_key_are_those_docs_access_names(db_dsn: str) -> None:
    """/healthz for load balancers; /docs and /openapi.json describe the API and hold no data, and an
    integrator reads them before having a key. Everything else of the API needs one."""
    documented = _public_paths((ROOT / "docs" / "access.md").read_text(encoding="utf-8"))
    client = ApiClient(db_dsn, role=None)
    # The app's own routes (documentation pages) and every API route without path parameters (those
    # with parameters are walked with every role by tests/test_authorization.py). Static files and the
    # console, which signs people in itself (docs/console.md), are not endpoints of the API.
    own: list[Route] = [r for r in client.app.routes if isinstance(r, Route) and not isinstance(r, APIRoute)]
    routes: list[Route | APIRoute] = [*own, *(r for r in api_routes() if "{" not in r.path)]
    assert {"/openapi.json", "/docs", "/healthz", "/v1/devices"} <= {r.path for r in routes}
    open_paths = set()
    async with client as http:
        for route in routes:
            methods = sorted(route.methods or {"GET"})
            answer = await http.request("GET" if "GET" in methods else methods[0], route.path)
            if answer.status_code != 401:
                open_paths.add(route.path)
    assert open_paths == documented
    assert documented == {"/healthz", "/docs", "/openapi.json"}


def test_the_vendored_files_are_package_data() -> None:
    """A wheel without them would serve a blank /docs."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"].get("api", [])
    files = [p.relative_to(ROOT / "api").as_posix() for p in VENDORED.rglob("*") if p.is_file()]
    assert {"static/vendor/swagger-ui/swagger-ui-bundle.js", "static/vendor/swagger-ui/LICENSE"} <= set(files)
    assert [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)] == []
