"""``paperscope serve`` (the web app under uvicorn) and ``paperscope user`` (operator account tools)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import click

from .common import AppContext, echo_json, json_option, pass_app


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (uvicorn); one per CPU core serves the most pages.",
)
@click.option(
    "--proxy/--no-proxy",
    default=None,
    help="Trust X-Forwarded-Proto/-For from the reverse proxy at $PAPERSCOPE_PROXY_IPS (default "
    "127.0.0.1). Default: $PAPERSCOPE_PROXY, else off (the headers are ignored).",
)
@click.option(
    "--index-refresh",
    metavar="SECONDS",
    type=click.FloatRange(min=0),
    help="Bring the search indexes up to date with the store every SECONDS (0: never). "
    "Default: $PAPERSCOPE_INDEX_REFRESH, else 5.",
)
@click.option(
    "--jobs/--no-jobs",
    "run_jobs",
    default=None,
    help="Run the scheduled jobs (harvests, enrichment, digests) in the server. Default: "
    "$PAPERSCOPE_JOBS_ENABLED, else on.",
)
@pass_app
def serve(
    app: AppContext,
    host: str,
    port: int,
    workers: int,
    proxy: bool | None,
    index_refresh: float | None,
    run_jobs: bool | None,
) -> None:
    """Serve the Daily Papers site and JSON API (on an empty store: a page that explains how to ingest).

    One worker serves a few hundred list pages a second; give `--workers N` (N = CPU cores) for
    more.  Each worker keeps its own few-second cache of lists (a vote through a worker shows at
    once there, within seconds elsewhere) and counts rate limits on its own.

    Every worker checks the store's change record every `--index-refresh` seconds and, when
    the search indexes in this home are behind, updates them as `paperscope index` would (one
    worker at a time); papers ingested and votes cast anywhere are searchable within seconds.

    `GET /healthz` and `GET /metrics` report on the service; `/metrics` adds up every worker's
    counts (prometheus-client's multiprocess mode, in `$PROMETHEUS_MULTIPROC_DIR` when set,
    else a temporary folder).
    """
    import uvicorn

    from ..config import SERVE_SETTINGS_ENV, dump_for_workers

    # A bad setting fails here, once, not in every worker.
    settings = app.settings
    if index_refresh is not None:
        settings = settings.model_copy(update={"index_refresh": index_refresh})
    if run_jobs is not None:
        settings = settings.model_copy(update={"jobs_enabled": run_jobs})
    if proxy is not None:
        settings = settings.model_copy(update={"proxy": proxy})
    if "base_url" not in settings.model_fields_set:
        # Links in feeds and pages use base_url, never the Host header; unset, the address
        # served here is the best guess (a public site sets PAPERSCOPE_BASE_URL).
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        settings = settings.model_copy(update={"base_url": f"http://{shown}:{port}"})
        if settings.proxy or shown != host:
            click.echo(
                f"links will point at {settings.base_url}: set PAPERSCOPE_BASE_URL to the public address", err=True
            )
    if settings.jobs_enabled:
        from ..jobs import Scheduler

        Scheduler(app.store, settings)  # a bad job setting fails here, once, not in every worker
    interval = settings.index_refresh
    store = app.store  # opens (and migrates) once here, so workers start on a current schema
    # uvicorn starts its workers by importing the app factory in fresh processes; the one way to
    # hand them this object (command-line options included) is their inherited environment.
    os.environ[SERVE_SETTINGS_ENV] = dump_for_workers(settings)
    papers = store.count_papers()
    click.echo(
        f"paperscope: {papers} papers in {store.settings.home}; serving on http://{host}:{port}/", err=True
    )
    if papers == 0:
        click.echo("the store is empty: load papers with `paperscope ingest PATH`", err=True)
    if settings.jobs_enabled:
        click.echo("scheduled jobs on (`paperscope jobs` lists them; --no-jobs turns them off)", err=True)
    if interval > 0:
        click.echo(f"search indexes in {store.settings.index_dir} refreshed every {interval:g} s", err=True)
    _metrics_dir()
    uvicorn.run(
        "paperscope.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The app adds the proxy middleware itself when settings.proxy is on (web/app.py).
        proxy_headers=False,
        log_config=app.log_config(),
    )


def _metrics_dir() -> None:
    """Point prometheus-client's multiprocess mode at a folder before any worker imports it, so
    ``/metrics`` adds up the request counts of every worker (see ``web/metrics.py``).

    An operator's own ``$PROMETHEUS_MULTIPROC_DIR`` is used (emptied: counts of a previous run
    would be added to this one's); otherwise a fresh temporary folder, removed at exit.
    """
    name = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's; not imported here, which would fix its mode too early
    given = os.environ.get(name)
    if given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        return
    made = tempfile.mkdtemp(prefix="paperscope-metrics-")
    os.environ[name] = made
    atexit.register(shutil.rmtree, made, ignore_errors=True)


@click.group()
def user() -> None:
    """Manage site accounts (operators)."""


@user.command("create")
@click.argument("username")
@click.option("--email", required=True, help="The user's email address.")
@click.password_option(help="Password (asked for when not given).")
@json_option
@pass_app
def create(app: AppContext, username: str, email: str, password: str, as_json: bool) -> None:
    """Create an account."""
    made = app.store.accounts.create_user(username, email, password)
    if as_json:
        echo_json({"id": made.id, "username": made.username, "email": made.email})
    else:
        click.echo(f"created user {made.username} (id {made.id})")


def _user_named(app: AppContext, username: str) -> Any:
    from ..errors import QueryError

    found = app.store.accounts.get_user_by_name(username)
    if found is None:
        raise QueryError(f"no user {username!r}: create one with `paperscope user create`")
    return found


@user.command("token")
@click.argument("username")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650), help="Validity.")
@pass_app
def token(app: AppContext, username: str, days: int) -> None:
    """Print a new API token for USERNAME (send it as `Authorization: Bearer TOKEN`)."""
    from ..store.accounts import API

    click.echo(app.store.accounts.create_session(_user_named(app, username).id, days=days, kind=API))


@user.command("tokens")
@click.argument("username")
@json_option
@pass_app
def tokens(app: AppContext, username: str, as_json: bool) -> None:
    """List USERNAME's live API tokens: id, created, expires (the tokens themselves are never stored)."""
    found = app.store.accounts.api_tokens(_user_named(app, username).id)
    if as_json:
        echo_json([t.as_dict() for t in found])
        return
    if not found:
        click.echo(f"{username} has no API tokens")
    for item in found:
        click.echo(f"{item.id}  created {item.created_at}  expires {item.expires_at}")


@user.command("revoke")
@click.argument("username")
@click.argument("token_id", required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every API token of USERNAME.")
@json_option
@pass_app
def revoke(app: AppContext, username: str, token_id: str | None, revoke_all: bool, as_json: bool) -> None:
    """Revoke USERNAME's API token TOKEN_ID (an id from `paperscope user tokens`), or --all of them."""
    from ..errors import QueryError

    if (token_id is None) == (not revoke_all):
        raise QueryError("give a TOKEN_ID (from `paperscope user tokens`) or --all, not both")
    gone = app.store.accounts.revoke_token(_user_named(app, username).id, None if revoke_all else token_id)
    if token_id is not None and gone == 0:
        raise QueryError(f"{username} has no API token {token_id!r}: see `paperscope user tokens {username}`")
    if as_json:
        echo_json({"revoked": gone})
    else:
        click.echo(f"revoked {gone} token(s)")


def register(group: click.Group) -> None:
    """Add this module's commands to the main group."""
    group.add_command(serve)
    group.add_command(user)
