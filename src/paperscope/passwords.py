"""Is a password one that attackers try first?  The check behind sign-up and ``user create``.

The list is the 30,000 most common passwords of real leaks that ships inside the ``zxcvbn``
package (Dropbox's strength estimator, Python port), read from the installed package: offline,
nothing fetched at run time.  Only the list is used, not zxcvbn's score: a score would also
refuse long passphrases of common words, which are fine, and its verdict is hard to explain on
a form; "this is one of the most common passwords" is not.
"""

from __future__ import annotations

from functools import cache


@cache
def _common() -> frozenset[str]:
    # Loaded on first use (a 30,000-entry list, ~1 MB of Python): most processes never sign anyone up.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str, *personal: str) -> bool:
    """True when ``password`` (ignoring case and surrounding spaces) is on the common list, or is
    one of ``personal`` (the username, the email and its local part): the first guesses."""
    folded = password.strip().lower()
    mine = {value.strip().lower() for value in personal if value.strip()}
    return folded in _common() or folded in mine
