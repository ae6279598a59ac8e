"""The "For you" recommender on a real store with real keyword and semantic indexes.

The library is the last four days of the February 2026 Daily Papers month (114 papers),
embedded once per module with the packaged MiniLM; each test signs its own readers in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from itertools import count
from pathlib import Path

import numpy as np
import pytest

from paperscope.recommend import Recommender
from paperscope.recommend.model import MIN_LINEAR
from paperscope.store import Store
from paperscope.store.accounts import User
from pg import drop_home

DAYS = ("2026-02-24", "2026-02-25", "2026-02-26", "2026-02-27")
_names = count()


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[tuple[Path, list[dict]]]:
    home = tmp_path_factory.mktemp("reco-home")
    data = json.loads((shared_data / "hf-daily" / "hf-daily-2026-02.json").read_text())
    data["papers"] = [p for p in data["papers"] if p["date"] in DAYS]
    subset = home / "subset.json"
    subset.write_text(json.dumps(data))
    from paperscope.index.build import update_indexes
    from paperscope.ingest import Ingestor

    with Store.open(str(home)) as store:
        with Ingestor(store, report_rejects=False) as ingestor:
            assert ingestor.ingest_paths([subset]).added == len(data["papers"])
        update_indexes(store)
    yield home, data["papers"]
    drop_home(home)


@pytest.fixture()
def lib(library: tuple[Path, list[dict]]) -> Iterator[tuple[Store, list[dict]]]:
    with Store.open(str(library[0])) as store:
        yield store, library[1]


def reader(store: Store) -> User:
    name = f"reader{next(_names)}"
    return store.accounts.create_user(name, f"{name}@example.org", "correct horse battery staple")


def ids_matching(store: Store, papers: list[dict], pattern: str) -> list[int]:
    found = [store.resolve_key(p["paper_id"]) for p in papers if re.search(pattern, p["title"], re.IGNORECASE)]
    return [i for i in found if i is not None]


def test_no_signals_gives_trending_and_onboarding(lib: tuple[Store, list[dict]]) -> None:
    store, _papers = lib
    user = reader(store)
    result = Recommender(store).recommend(user.id, 10)
    assert result.mode == "trending" and result.onboarding
    assert [r.paper.id for r in result.items] == [p.id for p, _ in store.trending(window_days=7, limit=10)]
    assert all(r.reasons[0].kind == "trending" for r in result.items)


def test_signals_change_the_list_and_say_why(lib: tuple[Store, list[dict]]) -> None:
    store, papers = lib
    recommender = Recommender(store)
    agents, video = reader(store), reader(store)
    agent_ids = ids_matching(store, papers, r"\bagent")
    video_ids = ids_matching(store, papers, r"\bvideo")
    assert len(agent_ids) >= 4 and len(video_ids) >= 4
    # One positive each: the centroid (that paper); a second makes a linear model.
    store.accounts.set_vote(agents.id, agent_ids[0], True)
    store.signals.set_feedback(video.id, video_ids[1], 1)
    a = recommender.recommend(agents.id, 10)
    v = recommender.recommend(video.id, 10)
    assert a.mode == v.mode == "centroid"
    store.signals.set_feedback(agents.id, agent_ids[1], 1)
    store.accounts.set_vote(video.id, video_ids[0], True)
    a = recommender.recommend(agents.id, 10)
    v = recommender.recommend(video.id, 10)
    assert a.mode == v.mode == "linear"
    a_ids, v_ids = [r.paper.id for r in a.items], [r.paper.id for r in v.items]
    assert a_ids != v_ids
    # Each reader's list holds more of their own topic than the other reader's does.
    assert len(set(a_ids) & set(agent_ids)) > len(set(v_ids) & set(agent_ids))
    assert len(set(v_ids) & set(video_ids)) > len(set(a_ids) & set(video_ids))
    # Their own papers are never suggested back, and each card names the paper it is like.
    assert not set(a_ids) & set(agent_ids[:2])
    first = a.items[0].reasons[0]
    assert first.kind == "like" and first.key in {p.key for p in store.get_papers(agent_ids[:2])}
    assert re.match(r"like “.+”, which you (upvoted|asked more of)$", first.text)


@pytest.mark.parametrize("seeds", [1, 4], ids=["centroid", "linear"])
def test_less_like_this_removes_the_paper_and_lowers_its_neighbours(lib: tuple[Store, list[dict]], seeds: int) -> None:
    store, papers = lib
    recommender = Recommender(store)
    user = reader(store)
    for pid in ids_matching(store, papers, r"\bagent")[:seeds]:
        store.accounts.set_vote(user.id, pid, True)
    first = recommender.recommend(user.id, 100)
    assert first.mode == ("centroid" if seeds == 1 else "linear")
    before = {r.paper.id: r.score for r in first.items}
    disliked = max(before, key=lambda pid: before[pid])
    from paperscope.index.vectors import SemanticIndex

    with SemanticIndex.open(store.settings.index_dir) as index:
        near = [int(i) for i in index.related(disliked, 5).ids.tolist() if int(i) in before]
    assert near
    store.signals.set_feedback(user.id, disliked, -1)
    after = {r.paper.id: r.score for r in recommender.recommend(user.id, 100).items}
    assert disliked not in after
    assert all(after[pid] < before[pid] for pid in near if pid in after)
    # Taking the feedback back restores the list.
    store.signals.set_feedback(user.id, disliked, 0)
    assert {r.paper.id: r.score for r in recommender.recommend(user.id, 100).items} == pytest.approx(before)


def test_linear_model_from_enough_signals(lib: tuple[Store, list[dict]]) -> None:
    store, papers = lib
    user = reader(store)
    positives = ids_matching(store, papers, r"\b(agent|agentic)")[: MIN_LINEAR + 3]
    assert len(positives) == MIN_LINEAR + 3
    for pid in positives:
        store.accounts.set_vote(user.id, pid, True)
    store.signals.set_feedback(user.id, ids_matching(store, papers, r"\bdiffusion")[0], -1)
    result = Recommender(store).recommend(user.id, 10)
    assert result.mode == "linear" and result.train_ms > 0
    titles = " ".join(r.paper.title for r in result.items[:5]).lower()
    assert "agent" in titles


def test_followed_author_and_category(lib: tuple[Store, list[dict]]) -> None:
    store, papers = lib
    user = reader(store)
    paper = next(p for p in papers if p["date"] == DAYS[0])
    author = paper["authors"][0]
    # Followed in another case: matching folds case and accents.
    store.signals.follow(user.id, "author", author.upper())
    result = Recommender(store).recommend(user.id, 10)
    assert result.mode == "follows"
    top = result.items[0]
    assert author in top.paper.authors
    assert top.reasons[0].text == f"by {author.upper()}, whom you follow"


def test_digest_related_section_is_the_recommenders_list(lib: tuple[Store, list[dict]]) -> None:
    from paperscope.mail.selection import Selector

    store, papers = lib
    user = reader(store)
    for pid in ids_matching(store, papers, r"\bagent")[:2]:
        store.accounts.set_vote(user.id, pid, True)
    sub = store.digests.subscribe(user.email, "daily")
    store.digests.confirm(sub.id, user_id=user.id)
    digest = Selector(store, top=3, related=4).select(store.digests.get(sub.id), "2026-11-23", date(2026, 11, 23))  # type: ignore[arg-type]
    taken = {p.id for p in digest.trending}
    expected = [r.paper.id for r in Recommender(store).recommend(user.id, 4, exclude=taken).items]
    assert [p.id for p in digest.related] == expected and len(expected) == 4


def test_model_scores_are_linear_in_the_vector(lib: tuple[Store, list[dict]]) -> None:
    from paperscope.recommend.model import fit

    rng = np.random.default_rng(0)
    pos, back = rng.normal(size=(6, 8)).astype(np.float32), rng.normal(size=(50, 8)).astype(np.float32)
    model = fit(pos, np.empty((0, 8), dtype=np.float32), back)
    assert model.kind == "linear"
    x = rng.normal(size=(3, 8)).astype(np.float32)
    assert np.allclose(model.score(x), model.scale * (x @ model.direction) + model.bias, atol=1e-5)
    assert model.zscore(back).mean() == pytest.approx(0.0, abs=1e-4)
