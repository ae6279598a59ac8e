"""Reader signals in the store, on both backends: feedback, follows, saved searches, export,
delete-all, private-feed tokens and public collections."""

from __future__ import annotations

import pytest

from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.store.accounts import AccountError


@pytest.fixture()
def signal_store(database_url: str) -> Store:
    with Store.open(database_url=database_url) as store:
        store.write_records([
            PaperRecord(source="json-list", origin="t", title=f"Paper {n}", arxiv_id=f"2602.0000{n}",
                        abstract="text", authors=["José García", "Ann Lee"], published="2026-02-0{n}")
            for n in range(1, 4)
        ])
        yield store  # type: ignore[misc]


def _ids(store: Store) -> list[int]:
    return [store.resolve_key(f"2602.0000{n}") for n in range(1, 4)]  # type: ignore[misc]


def test_feedback_last_word_wins_and_undo(signal_store: Store) -> None:
    store = signal_store
    user = store.accounts.create_user("ada", "ada@example.org", "correct horse battery")
    a, b, _c = _ids(store)
    store.signals.set_feedback(user.id, a, 1)
    store.signals.set_feedback(user.id, b, -1)
    store.signals.set_feedback(user.id, b, -1)  # idempotent
    assert store.signals.feedback_for(user.id, [a, b]) == {a: 1, b: -1}
    store.signals.set_feedback(user.id, a, -1)
    signals = store.signals.reader(user.id)
    assert signals.negative_ids == {a, b} and signals.positive_ids == []
    store.signals.set_feedback(user.id, a, 0)
    assert store.signals.feedback_for(user.id, [a, b]) == {b: -1}
    with pytest.raises(AccountError):
        store.signals.set_feedback(user.id, a, 2)


def test_follows_fold_case_and_accents(signal_store: Store) -> None:
    store = signal_store
    user = store.accounts.create_user("ada", "ada@example.org", "correct horse battery")
    first = store.signals.follow(user.id, "author", "José  García")
    again = store.signals.follow(user.id, "author", "jose garcia")
    assert first.id == again.id and again.value == "José García"
    assert store.signals.is_following(user.id, "author", "JOSÉ GARCÍA")
    store.signals.follow(user.id, "category", "cs.CL")
    assert [f.value for f in store.signals.follows(user.id, "category")] == ["cs.CL"]
    with pytest.raises(AccountError):
        store.signals.follow(user.id, "venue", "NeurIPS")
    assert store.signals.unfollow(user.id, "author", "Jose Garcia")
    assert not store.signals.is_following(user.id, "author", "José García")


def test_export_and_delete_all(signal_store: Store) -> None:
    store = signal_store
    user = store.accounts.create_user("ada", "ada@example.org", "correct horse battery")
    other = store.accounts.create_user("bob", "bob@example.org", "correct horse battery")
    a, b, c = _ids(store)
    store.accounts.set_vote(user.id, a, True)
    store.accounts.set_vote(other.id, a, True)
    collection = store.accounts.create_collection(user.id, "to read")
    store.accounts.add_to_collection(user.id, collection.id, b)
    store.signals.set_feedback(user.id, c, -1)
    store.signals.follow(user.id, "author", "Ann Lee")
    store.signals.save_search(user.id, "  sparse   attention ")
    exported = store.signals.export(user.id)
    assert [u["paper"] for u in exported["upvotes"]] == ["2602.00001"]
    assert [u["paper"] for u in exported["less_like_this"]] == ["2602.00003"]
    assert exported["collections"][0]["papers"] == ["2602.00002"]
    assert exported["followed_authors"][0]["name"] == "Ann Lee"
    assert exported["saved_searches"][0]["query"] == "sparse attention"
    seq = store.last_change_seq()
    counts = store.signals.delete_all(user.id)
    assert counts == {"upvotes": 1, "feedback": 1, "follows": 1, "saved_searches": 1}
    assert store.last_change_seq() > seq  # the vote count changed: the indexes hear of it
    left = store.signals.reader(user.id)
    assert [s.kind for s in left.papers] == ["saved"] and not left.follows and not left.searches
    assert store.signals.reader(other.id).positive_ids == [a]  # nobody else's signals go


def test_feed_token_revocable(signal_store: Store) -> None:
    store = signal_store
    user = store.accounts.create_user("ada", "ada@example.org", "correct horse battery")
    first = store.signals.new_feed_token(user.id)
    assert store.signals.feed_token_user(first) == user
    second = store.signals.new_feed_token(user.id)
    assert store.signals.feed_token_user(first) is None, "a new token replaces the old one"
    assert store.signals.feed_token_user(second) == user
    assert store.signals.revoke_feed_token(user.id)
    assert store.signals.feed_token_user(second) is None
    assert store.signals.feed_token_created(user.id) is None


def test_public_collection_visible_private_not(signal_store: Store) -> None:
    store = signal_store
    owner = store.accounts.create_user("ada", "ada@example.org", "correct horse battery")
    other = store.accounts.create_user("bob", "bob@example.org", "correct horse battery")
    collection = store.accounts.create_collection(owner.id, "reading")
    assert store.accounts.visible_collection(collection.id, other.id) is None
    assert store.accounts.visible_collection(collection.id, None) is None
    assert store.accounts.visible_collection(collection.id, owner.id) is not None
    assert not store.accounts.set_collection_public(other.id, collection.id, True)
    assert store.accounts.set_collection_public(owner.id, collection.id, True)
    shown = store.accounts.visible_collection(collection.id, None)
    assert shown is not None and shown.public
