"""Mail configuration: SMTP server, From address, public base URL and the signing secret.

Environment variables win over ``<home>/config.toml`` (``[smtp]`` and ``[web]`` sections), so
a deployment can keep the password out of files, and a test can point at its own server.
"""

from __future__ import annotations

import os
import secrets
import ssl
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Settings
from ..errors import PaperscopeError

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
SECURITY_MODES = ("none", "starttls", "tls")
SECRET_FILE = "secret_key"


class MailConfigError(PaperscopeError):
    """The mail settings cannot be used as written."""


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    user: str | None
    password: str | None
    mail_from: str
    timeout: float = 30.0
    # A private CA (a company relay with its own certificate); default: the system's CAs.
    cafile: str | None = None

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.cafile)

    @property
    def from_domain(self) -> str:
        return self.mail_from.rpartition("@")[2].strip("> ") or "localhost"


@dataclass(frozen=True, slots=True)
class MailSettings:
    smtp: SmtpSettings
    base_url: str
    secret: str
    # Where the mailto: List-Unsubscribe goes; an operator reads (or filters) that mailbox.
    unsubscribe_mailto: str

    @classmethod
    def load(cls, settings: Settings, environ: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if environ is None else environ
        config_path = settings.home / "config.toml"
        file_config = _read_toml(config_path)
        smtp_file: dict[str, Any] = file_config.get("smtp", {})
        web_file: dict[str, Any] = file_config.get("web", {})

        def pick(env_name: str, key: str, default: Any = None) -> Any:
            value = env.get(env_name)
            return value if value not in (None, "") else smtp_file.get(key, default)

        security = str(pick("PAPERSCOPE_SMTP_SECURITY", "security", "none")).lower()
        if security not in SECURITY_MODES:
            raise MailConfigError(
                f"SMTP security {security!r} (PAPERSCOPE_SMTP_SECURITY or [smtp] security in {config_path}) "
                f"is not one of {', '.join(SECURITY_MODES)}"
            )
        default_port = {"none": 25, "starttls": 587, "tls": 465}[security]
        raw_port = pick("PAPERSCOPE_SMTP_PORT", "port", default_port)
        try:
            port = int(raw_port)
        except (TypeError, ValueError):
            raise MailConfigError(
                f"SMTP port {raw_port!r} (PAPERSCOPE_SMTP_PORT or [smtp] port in {config_path}) "
                "is not a number"
            ) from None
        mail_from = str(
            env.get("PAPERSCOPE_MAIL_FROM") or smtp_file.get("from") or "paperscope <paperscope@localhost>"
        )
        smtp = SmtpSettings(
            host=str(pick("PAPERSCOPE_SMTP_HOST", "host", "localhost")),
            port=port,
            security=security,
            user=pick("PAPERSCOPE_SMTP_USER", "user"),
            password=pick("PAPERSCOPE_SMTP_PASSWORD", "password"),
            mail_from=mail_from,
            timeout=float(pick("PAPERSCOPE_SMTP_TIMEOUT", "timeout", 30.0)),
            cafile=pick("PAPERSCOPE_SMTP_CAFILE", "cafile"),
        )
        base_url = str(
            env.get("PAPERSCOPE_BASE_URL") or web_file.get("base_url") or DEFAULT_BASE_URL
        ).rstrip("/")
        unsubscribe = str(
            env.get("PAPERSCOPE_MAIL_UNSUBSCRIBE")
            or smtp_file.get("unsubscribe")
            or f"unsubscribe@{smtp.from_domain}"
        )
        return cls(
            smtp=smtp,
            base_url=base_url,
            secret=load_secret(settings.home, env),
            unsubscribe_mailto=unsubscribe,
        )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MailConfigError(f"cannot read {path}: {error}; fix or remove the file") from error


def load_secret(home: Path, environ: Mapping[str, str] | None = None) -> str:
    """``$PAPERSCOPE_SECRET`` (or the web app's ``$PAPERSCOPE_SECRET_KEY``), else ``<home>/secret_key``.

    The file is the one the web app uses (created once, mode 0600), so links signed by the
    cron sender verify in the web app.  O_EXCL makes two processes starting at once agree on
    one secret: the loser reads the winner's file instead of overwriting it (which would
    invalidate links already mailed).
    """
    env = os.environ if environ is None else environ
    for name in ("PAPERSCOPE_SECRET", "PAPERSCOPE_SECRET_KEY"):
        if env.get(name):
            return env[name]
    path = home / SECRET_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(40):  # the creator may not have written it yet
            secret = path.read_text().strip()
            if secret:
                return secret
            time.sleep(0.05)
        raise MailConfigError(f"{path} is empty: delete it to generate a new secret") from None
    secret = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret
