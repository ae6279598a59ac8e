"""SMTP security modes against aiosmtpd on loopback: STARTTLS with login, implicit TLS, and
what a refused login or an untrusted certificate turns into."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mail_fixtures import RecordingHandler, free_port
from paperscope.mail.settings import SmtpSettings
from paperscope.mail.smtp import Misconfigured, Permanent, Temporary, deliver


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"bot", b"s3cret")
    return AuthResult(success=ok, handled=False)


def message() -> EmailMessage:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "paperscope <d@paperscope.test>", "r@example.org", "hello"
    msg.set_content("line one\n.line starting with a dot\n")
    return msg


def settings(port: int, security: str, cafile: Path | None, **kw: Any) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=port,
        security=security,
        user=kw.get("user"),
        password=kw.get("password"),
        mail_from="paperscope <d@paperscope.test>",
        timeout=10,
        cafile=str(cafile) if cafile else None,
    )


@pytest.fixture()
def starttls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[RecordingHandler, int]]:
    handler, port = RecordingHandler(), free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=server_context(certificate),
        require_starttls=True,
        auth_required=True,
        authenticator=authenticator,
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_starttls_with_login(
    starttls_server: tuple[RecordingHandler, int], certificate: tuple[Path, Path]
) -> None:
    handler, port = starttls_server
    committed: list[bool] = []
    deliver(
        settings(port, "starttls", certificate[0], user="bot", password="s3cret"),
        message(),
        lambda: committed.append(True),
    )
    assert committed == [True]
    assert [r.rcpt_tos for r in handler.received] == [["r@example.org"]]
    # Dot-stuffing survives the hand-written DATA: the body arrives as written.
    body = handler.received[0].message.get_content().replace("\r\n", "\n")
    assert body == "line one\n.line starting with a dot\n"


def test_refused_login_is_our_fault(
    starttls_server: tuple[RecordingHandler, int], certificate: tuple[Path, Path]
) -> None:
    _, port = starttls_server
    with pytest.raises(Misconfigured, match="refused our login"):
        deliver(settings(port, "starttls", certificate[0], user="bot", password="wrong"), message())
    # Without STARTTLS this server refuses to talk: a 5xx about us, not about the address.
    with pytest.raises((Misconfigured, Permanent)):
        deliver(settings(port, "none", None, user="bot", password="s3cret"), message())


def test_untrusted_certificate_is_refused(starttls_server: tuple[RecordingHandler, int]) -> None:
    _, port = starttls_server
    with pytest.raises(Misconfigured, match="TLS"):
        deliver(settings(port, "starttls", None, user="bot", password="s3cret"), message())


def test_implicit_tls(certificate: tuple[Path, Path]) -> None:
    handler, port = RecordingHandler(), free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, ssl_context=server_context(certificate)
    )
    controller.start()
    try:
        deliver(settings(port, "tls", certificate[0]), message())
        assert len(handler.received) == 1
    finally:
        controller.stop()
    with pytest.raises(Temporary, match="cannot reach"):
        deliver(settings(port, "tls", certificate[0]), message())  # stopped: connection refused
