"""Signed links: confirmation (expiring) and unsubscribe (permanent).

The token is the authority, so links work without signing in and cannot be guessed from a
subscription id.  Confirmation links expire (an old forwarded mail must not re-activate a
subscription); unsubscribe links must keep working in every digest ever sent, so they do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from ..errors import QueryError

CONFIRM_MAX_AGE_S = 7 * 24 * 3600


class BadToken(QueryError):
    """A link that was altered, belongs to another installation, or has expired."""


@dataclass(frozen=True, slots=True)
class ConfirmPayload:
    subscription_id: int
    email: str
    filters: dict[str, Any]
    # The account that asked, linked to the subscription only once the mailbox owner clicks
    # (account emails are not verified, so the click is the proof).
    user_id: int | None = None


class Tokens:
    def __init__(self, secret: str) -> None:
        self._confirm = URLSafeTimedSerializer(secret, salt="paperscope.digest.confirm")
        self._unsubscribe = URLSafeSerializer(secret, salt="paperscope.digest.unsubscribe")

    def confirm_token(
        self, subscription_id: int, email: str, filters: dict[str, Any], user_id: int | None = None
    ) -> str:
        return self._confirm.dumps({"s": subscription_id, "e": email, "f": filters, "u": user_id})

    def read_confirm(self, token: str, max_age: int = CONFIRM_MAX_AGE_S) -> ConfirmPayload:
        try:
            data = self._confirm.loads(token, max_age=max_age)
        except SignatureExpired:
            raise BadToken("this confirmation link has expired: subscribe again to get a new one") from None
        except BadSignature:
            raise BadToken(
                "this confirmation link is not valid: copy the whole link from the email"
            ) from None
        user = data.get("u")
        return ConfirmPayload(
            int(data["s"]), str(data["e"]), dict(data.get("f") or {}), int(user) if user else None
        )

    def unsubscribe_token(self, subscription_id: int, email: str) -> str:
        return self._unsubscribe.dumps({"s": subscription_id, "e": email})

    def read_unsubscribe(self, token: str) -> tuple[int, str]:
        try:
            data = self._unsubscribe.loads(token)
        except BadSignature:
            raise BadToken(
                "this unsubscribe link is not valid: copy the whole link from the email"
            ) from None
        return int(data["s"]), str(data["e"])
