"""The CLI prints no secret: an error page that embeds the token, a password in --server-url, a
malformed response (hardening item 4, through the console script)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from ._run import sessionkit

TOKEN = "tok-cli-5e3f9a1b7c"
PAGE = f"""<!DOCTYPE html><html><head><title>404 Not Found</title></head>
<body data-jupyter-api-token="{TOKEN}"><h1>404 : Not Found</h1></body></html>"""


@pytest.fixture
async def jupyter_404() -> AsyncIterator[str]:
    """A server that answers every request as Jupyter answers a bad session id: an HTML page that
    embeds the token."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(status=404, text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_an_error_page_with_the_token_is_printed_without_it(jupyter_404: str) -> None:
    run = await sessionkit("jupyter", "sessions", "get", "not-a-uuid", "--server-url", jupyter_404, "--token", TOKEN)
    assert run.code == 1, run
    error = run.error()
    assert error["status"] == 404
    assert "data-jupyter-api-token" in str(error["body"]), "the page is still shown, scrubbed"
    assert TOKEN not in run.stdout + run.stderr


async def test_a_password_in_the_server_url_is_never_printed(jupyter_404: str) -> None:
    secret = "pw-cli-0a9b8c7d"
    url = jupyter_404.replace("http://", f"http://admin:{secret}@")
    run = await sessionkit("jupyter", "sessions", "list", "--server-url", url, env={"SESSIONKIT_LOG": "debug"})
    assert run.code == 1, run
    assert secret not in run.stdout + run.stderr
