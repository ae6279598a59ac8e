"""store.accounts: users, hashed passwords and session tokens, exact votes, private collections.

Every test runs on SQLite and on PostgreSQL (``database_url`` from tests/pg.py).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.store.accounts import AccountError, hash_token


@pytest.fixture()
def store(home: Path, database_url: str) -> Iterator[Store]:
    with Store.open(str(home), database_url) as opened:
        yield opened


def _paper(store: Store, arxiv_id: str = "2602.00001", upvotes: int = 5) -> int:
    store.write_records(
        [
            PaperRecord(
                source="json-list",
                origin="t",
                title=f"Paper {arxiv_id}",
                arxiv_id=arxiv_id,
                abstract="About things.",
                authors=["A. Author"],
                upvotes=upvotes,
                daily_date="2026-02-27",
            )
        ]
    )
    paper_id = store.resolve_key(arxiv_id)
    assert paper_id is not None
    return paper_id


def test_user_password_is_argon2_hashed_and_checked(store: Store) -> None:
    user = store.accounts.create_user("alice", "Alice@Example.org", "a long password")
    assert user.email == "alice@example.org"
    with store.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT password_hash FROM users WHERE id = :i"), {"i": user.id}
        ).scalar()
    assert stored.startswith("$argon2") and "a long password" not in stored
    assert store.accounts.authenticate("alice", "a long password") == user
    assert store.accounts.authenticate("ALICE", "a long password") == user
    assert store.accounts.authenticate("alice@example.org", "a long password") == user
    assert store.accounts.authenticate("alice", "wrong password") is None
    assert store.accounts.authenticate("nobody", "a long password") is None


@pytest.mark.parametrize(
    ("username", "email", "password", "field"),
    [
        ("al", "a@b.c", "long enough", "username"),
        ("bad name", "a@b.c", "long enough", "username"),
        ("alice2", "not-an-email", "long enough", "email"),
        ("alice2", "a@b.c", "short", "password"),
        ("alice2", "a@b.c", "password1", "password"),  # common passwords (zxcvbn's list) are refused
        ("alice2", "a@b.c", " ILoveYou ", "password"),
        ("alicealice", "a@b.c", "AliceAlice", "password"),  # so are the username and the email
        ("alice2", "secretmail@b.c", "secretmail", "password"),
    ],
)
def test_bad_signup_values_name_the_field(
    store: Store, username: str, email: str, password: str, field: str
) -> None:
    with pytest.raises(AccountError) as caught:
        store.accounts.create_user(username, email, password)
    assert caught.value.field == field


def test_duplicate_username_or_email_is_refused(store: Store) -> None:
    store.accounts.create_user("alice", "alice@example.org", "a long password")
    with pytest.raises(AccountError, match="username"):
        store.accounts.create_user("Alice", "other@example.org", "a long password")
    with pytest.raises(AccountError, match="email"):
        store.accounts.create_user("alice2", "ALICE@example.org", "a long password")


def test_sessions_store_only_a_hash_and_end(store: Store) -> None:
    user = store.accounts.create_user("alice", "alice@example.org", "a long password")
    token = store.accounts.create_session(user.id)
    with store.connect() as conn:
        hashes = [r[0] for r in conn.execute(sa.text("SELECT token_hash FROM sessions"))]
    assert hashes == [hash_token(token)] and token not in hashes
    assert store.accounts.session_user(token) == user
    assert store.accounts.session_user(token + "x") is None
    store.accounts.delete_session(token)
    assert store.accounts.session_user(token) is None
    expired = store.accounts.create_session(user.id, days=-1)
    assert store.accounts.session_user(expired) is None
    assert store.accounts.purge_expired_sessions() == 1


def test_vote_toggles_and_counts_combine_sources(store: Store) -> None:
    paper_id = _paper(store, upvotes=165)
    users = [store.accounts.create_user(f"user{i}", f"u{i}@example.org", "a long password") for i in range(3)]
    for user in users:
        counts = store.accounts.toggle_vote(user.id, paper_id)
    assert (counts.hf_upvotes, counts.local_upvotes, counts.upvotes, counts.voted) == (165, 3, 168, True)
    paper = store.get_paper("2602.00001")
    assert paper is not None and (paper.hf_upvotes, paper.local_upvotes, paper.upvotes) == (165, 3, 168)
    again = store.accounts.toggle_vote(users[0].id, paper_id)
    assert (again.local_upvotes, again.voted) == (2, False)
    assert store.accounts.voted(users[0].id, [paper_id]) == set()
    assert store.accounts.voted(users[1].id, [paper_id]) == {paper_id}
    assert store.accounts.set_vote(users[1].id, paper_id, True).local_upvotes == 2  # idempotent
    assert store.accounts.set_vote(users[1].id, paper_id, False).local_upvotes == 1


def test_votes_that_change_something_enter_the_change_record(store: Store) -> None:
    """The search indexes follow the change record: a vote must appear there (for the upvote
    filter and sort), and a vote that changes nothing must not."""
    paper_id = _paper(store)
    user = store.accounts.create_user("voter", "voter@example.org", "a long password")
    seq = store.last_change_seq()
    store.accounts.toggle_vote(user.id, paper_id)
    store.accounts.set_vote(user.id, paper_id, True)  # already voted: no change
    store.accounts.set_vote(user.id, paper_id, False)
    assert [c.paper_id for c in store.changes_since(seq)] == [paper_id, paper_id]


def test_vote_counts_take_the_largest_hf_observation_not_their_sum(store: Store) -> None:
    """Two sources that saw the same Hugging Face count must not double it (the store uses MAX)."""
    paper_id = _paper(store, upvotes=40)
    store.write_records(
        [
            PaperRecord(
                source="hf-api",
                origin="t2",
                title="Paper 2602.00001",
                arxiv_id="2602.00001",
                abstract="About things.",
                authors=["A. Author"],
                upvotes=42,
                daily_date="2026-02-27",
            )
        ]
    )
    with store.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT COUNT(*) FROM upvote_counts WHERE paper_id = :p"), {"p": paper_id}
        ).scalar()
    assert rows == 2
    user = store.accounts.create_user("alice", "alice@example.org", "a long password")
    counts = store.accounts.toggle_vote(user.id, paper_id)
    paper = store.get_paper("2602.00001")
    assert paper is not None
    assert (counts.hf_upvotes, counts.upvotes) == (42, 43) == (paper.hf_upvotes, paper.upvotes)


def test_concurrent_votes_from_threads_are_exact(store: Store) -> None:
    paper_id = _paper(store, upvotes=0)
    users = [
        store.accounts.create_user(f"voter{i}", f"v{i}@example.org", "a long password") for i in range(16)
    ]
    barrier = threading.Barrier(len(users))
    errors: list[BaseException] = []

    def vote(user_id: int) -> None:
        try:
            barrier.wait()
            # Each user votes with set_vote twice (a retry) and toggles twice: net one vote each.
            store.accounts.set_vote(user_id, paper_id, True)
            store.accounts.set_vote(user_id, paper_id, True)
            store.accounts.toggle_vote(user_id, paper_id)
            store.accounts.toggle_vote(user_id, paper_id)
        except BaseException as error:  # collected and re-raised in the main thread
            errors.append(error)

    threads = [threading.Thread(target=vote, args=(u.id,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    paper = store.get_paper("2602.00001")
    assert paper is not None and paper.local_upvotes == len(users)


def test_collections_belong_to_their_owner(store: Store) -> None:
    paper_id = _paper(store)
    alice = store.accounts.create_user("alice", "alice@example.org", "a long password")
    bob = store.accounts.create_user("bob", "bob@example.org", "a long password")
    reading = store.accounts.create_collection(alice.id, "  Reading   list ")
    assert reading.name == "Reading list"
    assert store.accounts.add_to_collection(alice.id, reading.id, paper_id) is True
    assert store.accounts.add_to_collection(alice.id, reading.id, paper_id) is False
    assert store.accounts.collection_paper_ids(reading.id) == [paper_id]
    assert [c.size for c in store.accounts.collections(alice.id)] == [1]
    assert store.accounts.get_collection(bob.id, reading.id) is None
    assert store.accounts.collections(bob.id) == []
    with pytest.raises(AccountError):
        store.accounts.add_to_collection(bob.id, reading.id, paper_id)
    assert store.accounts.delete_collection(bob.id, reading.id) is False
    with pytest.raises(AccountError, match="already"):
        store.accounts.create_collection(alice.id, "Reading list")
    with pytest.raises(AccountError):
        store.accounts.create_collection(alice.id, "   ")
    assert store.accounts.remove_from_collection(alice.id, reading.id, paper_id) is True
    assert store.accounts.delete_collection(alice.id, reading.id) is True
    assert store.accounts.get_collection(alice.id, reading.id) is None


def test_failed_sign_ins_stop_the_guesser_not_the_others_behind_the_address(store: Store) -> None:
    from paperscope.store.signins import PAIR_LIMIT, Refusal

    alice = store.accounts.create_user("alice", "alice@example.org", "a long password")
    bob = store.accounts.create_user("bob", "bob@example.org", "a long password")
    guesser, home = "203.0.113.7", "198.51.100.1"
    for _ in range(PAIR_LIMIT):
        assert store.accounts.sign_in("alice", "wrong guess", guesser) is None
    # The guesser is stopped on alice, even with the right password, by either of her names...
    for name in ("alice", "ALICE@example.org"):
        refused = store.accounts.sign_in(name, "a long password", guesser)
        assert isinstance(refused, Refusal) and 1 <= refused.retry_after <= 15 * 60 + 1
    # ...but bob, behind the same address, signs in, and so does alice from her own.
    assert store.accounts.sign_in("bob", "a long password", guesser) == bob
    assert store.accounts.sign_in("alice", "a long password", home) == alice
    # A name with no account is limited exactly the same (the limit does not tell who exists).
    for _ in range(PAIR_LIMIT):
        assert store.accounts.sign_in("nobody", "wrong guess", guesser) is None
    assert isinstance(store.accounts.sign_in("nobody", "wrong guess", guesser), Refusal)
    # A right password forgives that address's earlier typos on that account.
    for _ in range(PAIR_LIMIT - 1):
        store.accounts.sign_in("bob", "typo typo", home)
    assert store.accounts.sign_in("bob", "a long password", home) == bob
    assert store.accounts.sign_in("bob", "typo again", home) is None
    assert store.accounts.sign_in("bob", "a long password", home) == bob


def test_an_account_guessed_from_many_addresses_is_slowed_not_locked(store: Store) -> None:
    from paperscope.store.signins import ACCOUNT_LIMIT, ADDRESS_LIMIT, SLOW_S

    signins = store.signins
    start = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
    for i in range(ACCOUNT_LIMIT):
        signins.failed("user:1", f"10.0.{i}.1", start + timedelta(seconds=i))
    last = start + timedelta(seconds=ACCOUNT_LIMIT - 1)
    refused = signins.refusal("user:1", "192.0.2.50", last + timedelta(seconds=1))
    assert refused is not None and refused.retry_after == SLOW_S
    assert signins.refusal("user:1", "192.0.2.50", last + timedelta(seconds=SLOW_S)) is None  # one try per SLOW_S
    assert signins.refusal("user:2", "10.0.0.1", last + timedelta(seconds=1)) is None  # other accounts: untouched
    # One address spraying many accounts is slowed the same way.
    for i in range(ADDRESS_LIMIT):
        signins.failed(f"name:victim{i}", "203.0.113.9", last + timedelta(seconds=2))
    assert signins.refusal("user:3", "203.0.113.9", last + timedelta(seconds=3)) is not None
    assert signins.refusal("user:3", "203.0.113.10", last + timedelta(seconds=3)) is None
    # Everything leaves the window after 15 minutes.
    later = last + timedelta(minutes=16)
    assert signins.refusal("user:1", "192.0.2.50", later) is None
    assert signins.refusal("user:3", "203.0.113.9", later) is None
