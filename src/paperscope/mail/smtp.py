"""One SMTP delivery with a commit hook, and the classification of what went wrong.

smtplib's ``data()`` sends the body and the terminating ``.`` in one write.  The terminator
is the point of no return: before it, a dropped connection makes the server discard the
message (RFC 5321 §4.1.1.4); after it, the server may have accepted it even if we never read
its reply.  :class:`_CommitHook` splits that write so the caller can record the moment.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

from .settings import SmtpSettings

_LEADING_DOT = re.compile(rb"(?m)^\.")
_CRLF = b"\r\n"


class Temporary(Exception):
    """Nothing was delivered, try again later (4xx, refused or dropped connection before DATA ended)."""


class Misconfigured(Temporary):
    """Our side is wrong (login refused, sender address refused, TLS failed): no address is to
    blame, the digest stays due, and the run stops instead of failing every subscriber."""


class Permanent(Exception):
    """The server refused for good (5xx): this address cannot get this message."""


class Unknown(Exception):
    """The connection failed after the server had the whole message: it may have been delivered."""


class _CommitHook:
    """Mixin for smtplib.SMTP / SMTP_SSL: calls ``on_commit`` right before the final ``.``."""

    on_commit: Callable[[], None] | None = None
    committed: bool = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        smtp: smtplib.SMTP = self  # type: ignore[assignment]
        smtp.putcmd("data")
        code, reply = smtp.getreply()
        if code != 354:
            raise smtplib.SMTPDataError(code, reply)
        body = msg if isinstance(msg, bytes) else msg.encode("ascii")
        # Dot-stuffing as smtplib does (RFC 5321 §4.5.2); smtplib's helper is private.
        quoted = _LEADING_DOT.sub(b"..", body)
        if not quoted.endswith(_CRLF):
            quoted += _CRLF
        smtp.send(quoted)
        if self.on_commit is not None:
            self.on_commit()
        self.committed = True
        smtp.send(b"." + _CRLF)
        return smtp.getreply()


class _SMTP(_CommitHook, smtplib.SMTP):
    pass


class _SMTPS(_CommitHook, smtplib.SMTP_SSL):
    pass


def deliver(
    settings: SmtpSettings, message: EmailMessage, on_commit: Callable[[], None] | None = None
) -> None:
    """Send one message in its own connection; raise Temporary, Permanent or Unknown on failure.

    One connection per message keeps the failure of one address from poisoning the next
    (smtplib leaves a connection in an odd state after some errors); digests are few.
    """
    client: _SMTP | _SMTPS | None = None
    delivered = False
    try:
        if settings.security == "tls":
            client = _SMTPS(
                settings.host, settings.port, timeout=settings.timeout, context=settings.ssl_context()
            )
        else:
            client = _SMTP(settings.host, settings.port, timeout=settings.timeout)
        client.on_commit = on_commit
        if settings.security == "starttls":
            client.starttls(context=settings.ssl_context())
        if settings.user:
            client.login(settings.user, settings.password or "")
        sender = parseaddr(settings.mail_from)[1] or settings.mail_from
        client.send_message(message, from_addr=sender, to_addrs=[parseaddr(str(message["To"]))[1]])
        delivered = True
    except (
        smtplib.SMTPAuthenticationError,
        smtplib.SMTPSenderRefused,
        smtplib.SMTPNotSupportedError,
    ) as error:
        raise Misconfigured(
            f"{settings.host}:{settings.port} refused our login or sender: {error}"
        ) from error
    except ssl.SSLError as error:
        raise Misconfigured(f"TLS with {settings.host}:{settings.port} failed: {error}") from error
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()))
        raise _by_code(code, reply) from error
    except smtplib.SMTPResponseException as error:
        # A reply to the final "." is a definite answer: nothing was accepted on 4xx/5xx.
        raise _by_code(error.smtp_code, error.smtp_error) from error
    except (smtplib.SMTPException, OSError) as error:
        if client is not None and client.committed:
            raise Unknown(f"connection lost after the message was transmitted: {error}") from error
        raise Temporary(f"cannot reach {settings.host}:{settings.port}: {error}") from error
    finally:
        # QUIT only after a complete transaction: sent in the middle of DATA it would become
        # part of the message body.  Otherwise drop the connection, which aborts the message.
        if client is not None:
            try:
                if delivered:
                    client.quit()
            except (smtplib.SMTPException, OSError):
                pass
            client.close()


def _by_code(code: int, reply: bytes | str) -> Exception:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    if 500 <= code < 600:
        return Permanent(f"{code} {text}")
    return Temporary(f"{code} {text}")
