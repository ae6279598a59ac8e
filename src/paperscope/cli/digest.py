"""``paperscope digest``: subscriptions for operators, and the cron job that sends digests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import click

from ..errors import QueryError
from ..mail.outbox import send_outbox
from ..mail.periods import FREQUENCIES
from ..mail.sending import DigestSender, SendReport
from ..mail.settings import MailSettings
from ..mail.subscribing import normalize_email, subscribe
from ..store.digests import COMMITTING, DEFERRED, SENDING, UNKNOWN
from .common import AppContext, echo_json, json_option, pass_app


@click.group()
def digest() -> None:
    """Email digests of trending papers: subscriptions and sending."""


def _mail(app: AppContext) -> MailSettings:
    return MailSettings.load(app.store.settings)


def _outbox_error(app: AppContext, outbox_id: int | None) -> str:
    item = app.store.outbox.get(outbox_id) if outbox_id is not None else None
    return (item.last_error if item is not None else None) or "the mail server did not take it"


def _today(value: datetime | None) -> date:
    return value.date() if value is not None else datetime.now(UTC).date()


@digest.command("subscribe")
@click.argument("email")
@click.option("--daily", "frequency", flag_value="daily", help="A digest every weekday.")
@click.option(
    "--weekly", "frequency", flag_value="weekly", default=True, help="A digest every week (default)."
)
@click.option(
    "--category", "categories", multiple=True, help="arXiv category (cs.CL) or archive (cs); repeatable."
)
@click.option("--keywords", default="", help="A saved search: only papers matching it.")
@click.option(
    "--min-upvotes", default=0, show_default=True, type=int, help="Only papers with this many upvotes."
)
@json_option
@pass_app
def subscribe_cmd(
    app: AppContext,
    email: str,
    frequency: str,
    categories: tuple[str, ...],
    keywords: str,
    min_upvotes: int,
    as_json: bool,
) -> None:
    """Subscribe EMAIL; a confirmation link is mailed and nothing else is sent until it is clicked.

    The confirmation goes through the outbox like the site's: this command sends it at once and,
    when the mail server cannot take it now, leaves it queued for the `outbox` job to retry."""
    mail = _mail(app)
    if not mail.smtp.configured:
        raise QueryError(
            "no mail server is configured: set PAPERSCOPE_SMTP_HOST (or [smtp] host in config.toml) first"
        )
    outcome = subscribe(
        app.store,
        mail,
        email,
        frequency,
        categories=categories,
        keywords=keywords,
        min_upvotes=min_upvotes,
    )
    sent = send_outbox(app.store, mail, only=[outcome.outbox_id] if outcome.outbox_id is not None else [])
    if not sent["sent"]:
        problem = "; ".join(sent["errors"]) or _outbox_error(app, outcome.outbox_id)
        raise QueryError(
            f"subscription for {email} recorded as pending, but the confirmation could not be mailed: "
            f"{problem}; it stays in the outbox for the `outbox` job to retry. "
            "Check the SMTP settings (PAPERSCOPE_SMTP_*)"
        )
    sub = outcome.subscription
    if as_json:
        echo_json({**sub.as_dict(), "requested_filters": outcome.filters, "confirmation_sent": True})
        return
    state = "already active; the new filters apply once" if outcome.already_active else "pending until"
    click.echo(f"subscription {sub.id} ({sub.email}, {sub.frequency}): {state} the emailed link is clicked")


@digest.command("list")
@click.option(
    "--status", type=click.Choice(["pending", "active", "unsubscribed", "suspended"]), help="Only these."
)
@json_option
@pass_app
def list_cmd(app: AppContext, status: str | None, as_json: bool) -> None:
    """Every subscription (suspended ones included) and sends that need an operator."""
    subs = app.store.digests.subscriptions(status=status)
    attention = app.store.digests.sends(statuses=[UNKNOWN, DEFERRED, SENDING, COMMITTING])
    if as_json:
        echo_json(
            {
                "subscriptions": [s.as_dict() for s in subs],
                "sends_needing_attention": [s.as_dict() for s in attention],
            }
        )
        return
    if not subs:
        click.echo("no subscriptions")
    for s in subs:
        filters = (
            ", ".join(
                part
                for part in (
                    "categories " + " ".join(s.categories) if s.categories else "",
                    f"keywords {s.keywords!r}" if s.keywords else "",
                    f">= {s.min_upvotes} upvotes" if s.min_upvotes else "",
                )
                if part
            )
            or "no filters"
        )
        flag = "  <-- SUSPENDED after permanent failures" if s.status == "suspended" else ""
        click.echo(f"{s.id:5}  {s.status:12} {s.frequency:6}  {s.email}  ({filters}){flag}")
    for send in attention:
        click.echo(
            f"send {send.id}: {send.email} {send.period_key} is {send.status}"
            + (f" ({send.last_error})" if send.last_error else "")
        )


@digest.command("unsubscribe")
@click.argument("email")
@json_option
@pass_app
def unsubscribe_cmd(app: AppContext, email: str, as_json: bool) -> None:
    """Stop every digest to EMAIL."""
    address = normalize_email(email)
    subs = [s for s in app.store.digests.subscriptions(email=address) if s.status != "unsubscribed"]
    if not subs and not app.store.digests.subscriptions(email=address):
        raise QueryError(f"no subscription for {address}: see 'paperscope digest list'")
    done = [app.store.digests.unsubscribe(s.id) for s in subs]
    if as_json:
        echo_json({"email": address, "unsubscribed": [s.as_dict() for s in done if s]})
    else:
        click.echo(f"{address}: {len(done)} subscription(s) unsubscribed")


@digest.command("send")
@click.option(
    "--period", type=click.Choice(FREQUENCIES), help="Only daily or weekly digests (default: both)."
)
@click.option(
    "--dry-run", is_flag=True, help="Render due digests to files (.eml, .html); send and record nothing."
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Folder for --dry-run files.")
@click.option(
    "--today", type=click.DateTime(["%Y-%m-%d"]), help="Send as if today were this day (catch-up)."
)
@click.option(
    "--attempts", default=4, show_default=True, type=int, help="SMTP tries per digest on 4xx errors."
)
@click.option(
    "--retry-wait", default=2.0, show_default=True, type=float, help="First backoff wait, seconds."
)
@json_option
@pass_app
def send_cmd(
    app: AppContext,
    period: str | None,
    dry_run: bool,
    out: Path | None,
    today: datetime | None,
    attempts: int,
    retry_wait: float,
    as_json: bool,
) -> None:
    """Send every digest that is due, once (for cron: safe to rerun, and after a crash).

    Exit status: 0 when everything due went out, 1 when some digest was deferred, failed or
    has an unknown outcome (listed; see 'paperscope digest list').
    """
    sender = DigestSender(app.store, _mail(app), attempts=attempts, retry_wait=retry_wait)
    day = _today(today)
    reports: list[SendReport] = [
        sender.run(freq, day, dry_run=dry_run, out_dir=out, progress=app.show_progress())
        for freq in ([period] if period else FREQUENCIES)
    ]
    if as_json:
        echo_json({"today": day.isoformat(), "runs": [r.as_dict() for r in reports]})
    else:
        for r in reports:
            if r.period_key is None:
                click.echo(f"{r.frequency}: no digest on {day.strftime('%A')}s")
                continue
            verb = "rendered" if r.dry_run else "sent"
            count = len(r.files) // 2 if r.dry_run else len(r.sent)
            click.echo(
                f"{r.frequency} {r.period_key}: {count} {verb}, {len(r.deferred)} deferred, "
                f"{len(r.failed)} failed, {len(r.empty)} empty, {r.already_done} already done"
            )
            for path in r.files:
                click.echo(f"  {path}")
            for error in r.errors:
                click.echo(f"  error: {error}")
        last = reports[-1]
        for email in last.suspended:
            click.echo(f"SUSPENDED (repeated permanent failures): {email}")
        for item in last.unknown:
            click.echo(
                f"UNKNOWN outcome, not resent: send {item['id']} to {item['email']} ({item['period_key']}, "
                f"Message-ID {item['message_id']}); settle with 'paperscope digest resolve {item['id']} "
                "--delivered|--resend'"
            )
    if any(r.deferred or r.failed or r.errors for r in reports) or reports[-1].unknown:
        raise SystemExit(1)


@digest.command("resolve")
@click.argument("send_id", type=int)
@click.option("--delivered", "delivered", flag_value=True, default=None, help="It arrived: mark it sent.")
@click.option("--resend", "delivered", flag_value=False, help="It did not arrive: send it on the next run.")
@json_option
@pass_app
def resolve_cmd(app: AppContext, send_id: int, delivered: bool | None, as_json: bool) -> None:
    """Settle a send whose outcome is unknown (the sender died while the server had the message)."""
    if delivered is None:
        raise QueryError(
            "say what happened: --delivered (check the mail log for its Message-ID) or --resend"
        )
    send = app.store.digests.resolve(send_id, delivered=delivered)
    if send is None:
        raise QueryError(f"no digest send {send_id}: see 'paperscope digest list'")
    if as_json:
        echo_json(send.as_dict())
    else:
        click.echo(f"send {send.id} ({send.period_key}) is now {send.status}")


def register(group: click.Group) -> None:
    """Add this module's commands to the main group."""
    group.add_command(digest)
