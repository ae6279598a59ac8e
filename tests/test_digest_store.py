"""The digest tables on SQLite and PostgreSQL: subscriptions, the claim protocol, sent items."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.store.digests import Claim, DigestSend


@pytest.fixture()
def db(home: Path, database_url: str) -> Iterator[Store]:
    with Store.open(str(home), database_url) as store:
        store.write_records(
            [
                PaperRecord(source="arxiv-api", origin="t", title=f"Paper {i}", arxiv_id=f"2602.0000{i}")
                for i in range(5)
            ]
        )
        yield store


def never_stale(send: DigestSend) -> bool:
    return False


def always_stale(send: DigestSend) -> bool:
    return True


def test_subscription_lifecycle(db: Store) -> None:
    digests = db.digests
    sub = digests.subscribe("a@example.org", "daily", categories=["cs.CL"], keywords="llm", min_upvotes=3)
    assert (sub.status, sub.categories, sub.keywords, sub.min_upvotes, sub.user_id) == (
        "pending",
        ["cs.CL"],
        "llm",
        3,
        None,
    )
    user = db.accounts.create_user("ada", "a@example.org", "correct horse battery")
    active = digests.confirm(sub.id, {"categories": [], "keywords": "", "min_upvotes": 0}, user.id)
    assert active is not None and (active.status, active.categories, active.user_id) == (
        "active",
        [],
        user.id,
    )
    # Re-subscribing an active address changes nothing until the new link is clicked.
    again = digests.subscribe("a@example.org", "daily", categories=["cs.LG"])
    assert again.id == sub.id and again.status == "active" and again.categories == []
    assert [s.id for s in digests.for_user(user.id)] == [sub.id]
    assert digests.unsubscribe(sub.id).status == "unsubscribed"  # type: ignore[union-attr]
    reopened = digests.subscribe("a@example.org", "daily", categories=["cs.LG"])
    assert (reopened.status, reopened.categories) == ("pending", ["cs.LG"])
    weekly = digests.subscribe("a@example.org", "weekly")
    assert weekly.id != sub.id and len(digests.subscriptions(email="A@EXAMPLE.org")) == 2


def test_claims_are_exclusive(db: Store) -> None:
    digests = db.digests
    sub = digests.subscribe("b@example.org", "daily")
    digests.confirm(sub.id)

    def claim(n: int) -> Claim | None:
        return digests.claim(
            sub.id, "2026-11-23", claimed_by=f"h:{n}:x", message_id=f"<{n}@t>", is_stale=never_stale
        )

    with ThreadPoolExecutor(4) as pool:
        won = [c for c in pool.map(claim, range(8)) if c is not None]
    assert len(won) == 1
    mine = won[0]
    digests.record_items(mine, [1, 2, 3])
    assert digests.mark_committing(mine)
    digests.mark_sent(mine)
    assert claim(99) is None  # done is done
    send = digests.send_for(sub.id, "2026-11-23")
    assert send is not None and (send.status, send.message_id) == ("sent", mine.message_id)
    assert digests.sent_paper_ids(sub.id) == {1, 2, 3}


def test_stale_claims(db: Store) -> None:
    digests = db.digests
    sub = digests.subscribe("c@example.org", "daily")
    digests.confirm(sub.id)
    first = digests.claim(sub.id, "p1", claimed_by="h:1:a", message_id="<1@t>", is_stale=never_stale)
    assert first is not None
    digests.record_items(first, [1])
    # 'sending' and stale: taken over, and its items are free again.
    second = digests.claim(sub.id, "p1", claimed_by="h:2:b", message_id="<2@t>", is_stale=always_stale)
    assert second is not None and second.reclaimed and digests.sent_paper_ids(sub.id) == set()
    # The presumed-dead owner can no longer move the row.
    assert not digests.mark_committing(first)
    assert digests.mark_committing(second)
    # 'committing' and stale: outcome unknown, never resent automatically.
    assert (
        digests.claim(sub.id, "p1", claimed_by="h:3:c", message_id="<3@t>", is_stale=always_stale) is None
    )
    assert digests.send_for(sub.id, "p1").status == "unknown"  # type: ignore[union-attr]
    assert (
        digests.claim(sub.id, "p1", claimed_by="h:4:d", message_id="<4@t>", is_stale=always_stale) is None
    )
    resolved = digests.resolve(digests.send_for(sub.id, "p1").id, delivered=False)  # type: ignore[union-attr]
    assert resolved is not None and resolved.status == "deferred"
    assert (
        digests.claim(sub.id, "p1", claimed_by="h:5:e", message_id="<5@t>", is_stale=never_stale)
        is not None
    )


def test_failures_suspend_after_three(db: Store) -> None:
    digests = db.digests
    sub = digests.subscribe("d@example.org", "daily")
    digests.confirm(sub.id)
    results = []
    for n in range(3):
        claim = digests.claim(
            sub.id, f"p{n}", claimed_by="h:1:a", message_id=f"<{n}@t>", is_stale=never_stale
        )
        assert claim is not None
        digests.record_items(claim, [n + 1])
        results.append(digests.fail(claim, "550 no such user"))
    assert results == [False, False, True]
    assert digests.get(sub.id).status == "suspended"  # type: ignore[union-attr]
    assert digests.sent_paper_ids(sub.id) == set()
    assert [s.status for s in digests.sends()] == ["failed"] * 3
    # A success resets the count; a deferral leaves the period due.
    other = digests.subscribe("e@example.org", "daily")
    digests.confirm(other.id)
    c1 = digests.claim(other.id, "p0", claimed_by="h:1:a", message_id="<a@t>", is_stale=never_stale)
    assert c1 is not None
    digests.fail(c1, "550")
    c2 = digests.claim(other.id, "p1", claimed_by="h:1:a", message_id="<b@t>", is_stale=never_stale)
    assert c2 is not None
    digests.defer(c2, "421 busy")
    c3 = digests.claim(other.id, "p1", claimed_by="h:1:a", message_id="<c@t>", is_stale=never_stale)
    assert c3 is not None
    digests.mark_sent(c3)
    assert digests.get(other.id).permanent_failures == 0  # type: ignore[union-attr]


def test_saved_papers_of_a_user(db: Store) -> None:
    user = db.accounts.create_user("eve", "eve@example.org", "correct horse battery")
    db.accounts.set_vote(user.id, 2, True)
    collection = db.accounts.create_collection(user.id, "later")
    db.accounts.add_to_collection(user.id, collection.id, 4)
    db.accounts.add_to_collection(user.id, collection.id, 2)
    assert set(db.digests.saved_paper_ids(user.id)) == {2, 4}
