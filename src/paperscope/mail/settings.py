"""Mail configuration as the mail code uses it: SMTP server, From address, public base URL and
the signing secret -- a view of the ``smtp_*``, ``mail_*``, ``base_url`` and ``secret`` fields of
the one settings object (:mod:`paperscope.config`; ``[smtp]`` and ``[web]`` in config.toml).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import ConfigError, Settings, load_settings

SECURITY_MODES = ("none", "starttls", "tls")

# The mail code's name for a bad setting; one class, so ``except ConfigError`` catches it too.
MailConfigError = ConfigError


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
    # Whether an operator named a mail server (PAPERSCOPE_SMTP_HOST or [smtp] host).  Without
    # one the site does not offer mail (the digest form says so) rather than try localhost:25,
    # which is the default the command-line sender keeps.
    configured: bool = True

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
        """The mail view of ``settings``' home, read afresh (``environ`` instead of the process
        environment, for tests): mail is sent by long-lived processes whose operator may have
        fixed config.toml since they started."""
        current = load_settings(settings.home, settings.database_url, environ=environ)
        smtp = SmtpSettings(
            host=current.smtp_host,
            port=current.smtp_port_in_force,
            security=current.smtp_security,
            user=current.smtp_user,
            password=current.smtp_password,
            mail_from=current.mail_from,
            timeout=current.smtp_timeout,
            cafile=current.smtp_cafile,
            # Named by the operator (variable or config.toml), not the localhost default.
            configured="smtp_host" in current.model_fields_set,
        )
        return cls(
            smtp=smtp,
            base_url=current.base_url,
            secret=current.mail_secret(),
            unsubscribe_mailto=current.mail_unsubscribe or f"unsubscribe@{smtp.from_domain}",
        )


def load_secret(home: Path, environ: Mapping[str, str] | None = None) -> str:
    """``$PAPERSCOPE_SECRET``, else ``$PAPERSCOPE_SECRET_KEY``, else ``<home>/secret_key`` (the web
    app's key file, made once: see :func:`paperscope.config.secret_from_file`)."""
    return load_settings(home, environ=environ).mail_secret()
