"""Mail configuration, signed tokens, digest periods, and the operator's CLI."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from mail_fixtures import SmtpServer, start_smtp_server
from paperscope.cli import main
from paperscope.config import load_settings
from paperscope.mail.periods import period_key, window_days
from paperscope.mail.settings import MailConfigError, MailSettings, load_secret
from paperscope.mail.tokens import BadToken, Tokens


@pytest.fixture()
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    yield from start_smtp_server(monkeypatch)


def test_environment_wins_over_config_file(home: Path) -> None:
    (home / "config.toml").write_text(
        '[smtp]\nhost = "mail.example.org"\nport = 2525\nsecurity = "starttls"\nuser = "bot"\n'
        'password = "from-file"\nfrom = "Papers <papers@example.org>"\n[web]\nbase_url = "https://p.example.org/"\n'
    )
    settings = load_settings(home)
    from_file = MailSettings.load(settings, {"PAPERSCOPE_SECRET": "s"})
    assert (from_file.smtp.host, from_file.smtp.port, from_file.smtp.security) == (
        "mail.example.org",
        2525,
        "starttls",
    )
    assert (from_file.smtp.user, from_file.smtp.password) == ("bot", "from-file")
    assert (
        from_file.smtp.mail_from == "Papers <papers@example.org>"
        and from_file.smtp.from_domain == "example.org"
    )
    assert from_file.base_url == "https://p.example.org"
    assert from_file.unsubscribe_mailto == "unsubscribe@example.org"
    env = {
        "PAPERSCOPE_SECRET": "s",
        "PAPERSCOPE_SMTP_HOST": "127.0.0.1",
        "PAPERSCOPE_SMTP_SECURITY": "tls",
        "PAPERSCOPE_SMTP_PASSWORD": "from-env",
        "PAPERSCOPE_SMTP_PORT": "",
    }
    from_env = MailSettings.load(settings, env)
    assert (from_env.smtp.host, from_env.smtp.security, from_env.smtp.password) == (
        "127.0.0.1",
        "tls",
        "from-env",
    )
    assert from_env.smtp.port == 2525  # an empty variable does not override the file


def test_defaults_and_bad_values(home: Path) -> None:
    settings = load_settings(home)
    mail = MailSettings.load(settings, {"PAPERSCOPE_SECRET": "s"})
    assert (mail.smtp.host, mail.smtp.port, mail.smtp.security) == ("localhost", 25, "none")
    assert mail.base_url == "http://127.0.0.1:8000"
    with pytest.raises(MailConfigError, match="PAPERSCOPE_SMTP_SECURITY"):
        MailSettings.load(settings, {"PAPERSCOPE_SECRET": "s", "PAPERSCOPE_SMTP_SECURITY": "ssl"})
    with pytest.raises(MailConfigError, match="is not a number"):
        MailSettings.load(settings, {"PAPERSCOPE_SECRET": "s", "PAPERSCOPE_SMTP_PORT": "twenty-five"})
    (home / "config.toml").write_text("[smtp\nhost=")
    with pytest.raises(MailConfigError, match=r"config\.toml"):
        MailSettings.load(settings, {"PAPERSCOPE_SECRET": "s"})


def test_secret_file_is_made_once_and_private(home: Path) -> None:
    first = load_secret(home, {})
    path = home / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(home, {}) == first and len(first) >= 40
    assert load_secret(home, {"PAPERSCOPE_SECRET": "explicit"}) == "explicit"


def test_tokens_are_signed() -> None:
    tokens = Tokens("secret-a")
    token = tokens.confirm_token(7, "a@example.org", {"categories": ["cs.CL"]}, user_id=3)
    payload = tokens.read_confirm(token)
    assert (payload.subscription_id, payload.email, payload.filters, payload.user_id) == (
        7,
        "a@example.org",
        {"categories": ["cs.CL"]},
        3,
    )
    with pytest.raises(BadToken, match="not valid"):
        Tokens("secret-b").read_confirm(token)
    with pytest.raises(BadToken, match="expired"):
        tokens.read_confirm(token, max_age=-1)
    unsub = tokens.unsubscribe_token(7, "a@example.org")
    assert tokens.read_unsubscribe(unsub) == (7, "a@example.org")
    with pytest.raises(BadToken):
        tokens.read_unsubscribe(unsub[:-2] + ("A" if unsub[-2] != "A" else "B") + unsub[-1])
    with pytest.raises(BadToken):
        tokens.read_unsubscribe(token)  # a confirmation token is not an unsubscribe token


def test_periods() -> None:
    assert period_key("daily", date(2026, 11, 27)) == "2026-11-27"  # Friday
    assert period_key("daily", date(2026, 11, 28)) is None  # Saturday
    assert period_key("daily", date(2026, 11, 29)) is None
    assert period_key("weekly", date(2026, 11, 23)) == "2026-W48"
    assert period_key("weekly", date(2027, 1, 1)) == "2026-W53"  # ISO year, not calendar year
    assert window_days("daily", date(2026, 11, 23)) == 4 and window_days("daily", date(2026, 11, 24)) == 2
    assert window_days("weekly", date(2026, 11, 24)) == 7
    with pytest.raises(ValueError, match="hourly"):
        period_key("hourly", date(2026, 11, 23))


def test_cli_subscribe_list_unsubscribe(smtp_server: SmtpServer, home: Path) -> None:
    runner = CliRunner()
    base = ["--home", str(home), "digest"]
    result = runner.invoke(
        main,
        [
            *base,
            "subscribe",
            "op@example.org",
            "--daily",
            "--category",
            "cs.CL",
            "--category",
            "cs.LG",
            "--keywords",
            "retrieval augmented",
            "--min-upvotes",
            "10",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = orjson.loads(result.output)
    assert (data["status"], data["frequency"], data["categories"], data["min_upvotes"]) == (
        "pending",
        "daily",
        ["cs.CL", "cs.LG"],
        10,
    )
    assert [r.rcpt_tos for r in smtp_server.handler.received] == [["op@example.org"]]
    assert (
        "retrieval augmented" in smtp_server.handler.received[0].message.get_body(("plain",)).get_content()
    )  # type: ignore[union-attr]

    bad = runner.invoke(main, [*base, "subscribe", "nobody", "--weekly"])
    assert bad.exit_code == 2 and "not an email address" in bad.output and "Traceback" not in bad.output

    listing = orjson.loads(runner.invoke(main, [*base, "list", "--json"]).output)
    assert [(s["email"], s["status"]) for s in listing["subscriptions"]] == [("op@example.org", "pending")]
    text = runner.invoke(main, [*base, "list"]).output
    assert "op@example.org" in text and "pending" in text and "cs.CL cs.LG" in text

    gone = runner.invoke(main, [*base, "unsubscribe", "op@example.org"])
    assert gone.exit_code == 0 and "1 subscription(s) unsubscribed" in gone.output
    unknown = runner.invoke(main, [*base, "unsubscribe", "who@example.org"])
    assert unknown.exit_code == 2 and "no subscription for who@example.org" in unknown.output


def test_cli_subscribe_reports_an_unreachable_server(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mail_fixtures import free_port

    monkeypatch.setenv("PAPERSCOPE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PAPERSCOPE_SMTP_PORT", str(free_port()))
    result = CliRunner().invoke(main, ["--home", str(home), "digest", "subscribe", "a@example.org"])
    assert (
        result.exit_code == 2
        and "could not be mailed" in result.output
        and "PAPERSCOPE_SMTP" in result.output
    )
