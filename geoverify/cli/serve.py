"""``geoverify serve``: the web app for the office and the villages."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from geoverify.cli._common import JsonCommand, get_ctx, handle_errors, json_option


@click.command("serve", cls=JsonCommand)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--certfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TLS certificate (PEM): serve over HTTPS (needed for the phone's location).",
)
@click.option(
    "--keyfile",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="TLS private key (PEM) of --certfile.",
)
@click.option(
    "--max-upload-mb",
    default=100,
    show_default=True,
    type=click.IntRange(1, 2048),
    help="Largest request body accepted.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (more serve more phones at once, e.g. on a district server).",
)
@json_option
@handle_errors
def serve_cmd(
    host: str,
    port: int,
    certfile: Path | None,
    keyfile: Path | None,
    max_upload_mb: int,
    workers: int,
    as_json: bool,
) -> None:
    """Run the web app (网页版) on the workspace or --database-url.

    \b
    Open http://HOST:PORT/ in a browser and log in with a user made by
    `geoverify users add`. Village cadres on phones reach it on the office's network;
    give --certfile/--keyfile to serve HTTPS, so that phones can send their location.
    """
    import uvicorn

    from geoverify.web.app import SETTINGS_ENV, create_app
    from geoverify.web.settings import Settings

    if (certfile is None) != (keyfile is None):
        raise click.UsageError("--certfile and --keyfile go together")
    ctx = get_ctx()
    store = ctx.store()  # a clear error now if the workspace is not initialised
    store.dispose()
    settings = Settings(
        workspace=ctx.workspace,
        database_url=ctx.database_url,
        https=certfile is not None,
        max_request_bytes=max_upload_mb * 1024 * 1024,
    )
    scheme = "https" if certfile else "http"
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    url = f"{scheme}://{shown}:{port}/"
    if as_json:  # one line, so that a script can read it while the service runs
        doc = {"status": "serving", "url": url, "host": host, "port": port}
        click.echo(json.dumps(doc, ensure_ascii=False))
    click.echo(f"geoverify 网页版: {url}  (Ctrl+C 停止 / to stop)", err=True)
    if host in ("0.0.0.0", "::"):
        click.echo(
            "  其他设备请用本机的局域网地址访问 (other devices: use this PC's LAN address)",
            err=True,
        )
    if workers > 1:
        # Each worker process builds its own app (and store) from these settings.
        os.environ[SETTINGS_ENV] = settings.to_env()
        target: Any = "geoverify.web.app:app_from_env"
    else:
        target = create_app(settings)
    uvicorn.run(
        target,
        factory=workers > 1,
        workers=workers,
        host=host,
        port=port,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        log_level="info",
        proxy_headers=True,
    )
    sys.exit(0)


COMMANDS = [serve_cmd]
