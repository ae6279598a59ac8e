"""The store's record of job runs (``Store.job_runs()``) and the one-process-at-a-time job lock."""

from __future__ import annotations

import threading

from paperscope.store import Store
from paperscope.store.jobs import FAILED, INTERRUPTED, OK, RUNNING


def test_a_run_is_recorded_start_to_end(store: Store) -> None:
    assert store.job_runs() == []
    store.jobs.set_next_run("harvest-hf", "2026-12-05T10:00:00Z")
    with store.jobs.lock("harvest-hf") as held:  # as the scheduler runs a job: under its lock
        assert held
        store.jobs.started("harvest-hf", "2026-12-05T10:00:01Z")
        (running,) = store.job_runs()
        assert (running.name, running.last_status, running.runs) == ("harvest-hf", RUNNING, 0)
    store.jobs.finished(
        "harvest-hf", at="2026-12-05T10:00:09Z", status=OK, counts={"added": 3}, error=None,
        next_run="2026-12-05T11:00:00Z",
    )
    store.jobs.started("enrich", "2026-12-05T10:00:02Z")
    store.jobs.finished(
        "enrich", at="2026-12-05T10:00:03Z", status=FAILED, counts={}, error="arXiv unreachable",
        next_run="2026-12-05T10:30:00Z",
    )
    runs = {run.name: run for run in store.job_runs()}
    assert list(runs) == ["enrich", "harvest-hf"]
    hf = runs["harvest-hf"]
    assert (hf.last_run, hf.last_status, hf.last_counts, hf.next_run) == (
        "2026-12-05T10:00:01Z", OK, {"added": 3}, "2026-12-05T11:00:00Z",
    )
    assert (hf.runs, hf.failures, hf.last_error) == (1, 0, None)
    enrich = runs["enrich"]
    assert (enrich.last_status, enrich.last_error, enrich.runs, enrich.failures) == (
        FAILED, "arXiv unreachable", 1, 1,
    )
    assert store.jobs.get("enrich") == enrich and store.jobs.get("nothing") is None


def test_only_one_holder_of_a_job_lock(store: Store) -> None:
    other = Store.open(settings=store.settings)  # another "process": its own engine and connections
    try:
        with store.jobs.lock("digest") as first:
            assert first
            seen: list[bool] = []

            def try_other() -> None:
                with other.jobs.lock("digest") as held:
                    seen.append(held)
                with other.jobs.lock("enrich") as held:
                    seen.append(held)

            thread = threading.Thread(target=try_other)
            thread.start()
            thread.join(timeout=30)
            assert seen == [False, True]  # busy for that job only
        with other.jobs.lock("digest") as again:
            assert again  # released when the holder is done
    finally:
        other.close()


def test_a_running_row_nobody_holds_the_lock_of_reads_interrupted(store: Store) -> None:
    """What a killed run leaves: ``running`` in the row, the lock free.  Shown as interrupted,
    with the start time; the row itself is untouched for the next run to overwrite."""
    other = Store.open(settings=store.settings)  # the run's own "process"
    try:
        with other.jobs.lock("enrich") as held:
            assert held
            other.jobs.started("enrich", "2026-12-05T10:00:00Z")
            # Alive: another connection (or file handle) cannot take the lock.
            assert [(r.name, r.last_status) for r in store.job_runs()] == [("enrich", RUNNING)]
            assert store.jobs.is_held("enrich")
        # The holder is gone without recording an end.
        (run,) = store.job_runs()
        assert (run.last_status, run.last_run, run.runs) == (INTERRUPTED, "2026-12-05T10:00:00Z", 0)
        assert not store.jobs.is_held("enrich")
        stored = store.jobs.get("enrich")
        assert stored is not None and stored.last_status == RUNNING
    finally:
        other.close()
