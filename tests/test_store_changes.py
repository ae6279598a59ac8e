"""The change record on PostgreSQL: seqs become visible in the order they were handed out.

Index refreshers follow ``paper_changes`` by seq and remember the last one seen, so a change
committed after a higher seq would be skipped for good.  SQLite has one writer at a time;
PostgreSQL needs the advisory lock that ``record_changes`` takes and holds to commit, checked
here with two real concurrent transactions.
"""

from __future__ import annotations

import threading
from pathlib import Path

from paperscope.records import PaperRecord
from paperscope.store import Store
from paperscope.store.upsert import record_changes


def _record(n: int, title: str) -> PaperRecord:
    return PaperRecord(source="json-list", origin="tests", title=title, arxiv_id=f"2601.{n:05d}",
                       abstract="An abstract.", authors=["Ada Lovelace"], published="2026-01-05")


def test_a_later_seq_waits_for_an_earlier_open_one(home: Path, pg_url: str) -> None:
    with Store.open(str(home), pg_url) as store:
        store.write_records([_record(1, "First paper"), _record(2, "Second paper")])
        first_id = store.changes_since(0)[0].paper_id
        seen = store.last_change_seq()
        writer_done = threading.Event()

        def second_writer() -> None:
            store.write_records([_record(3, "Third paper")])
            writer_done.set()

        with store.engine.connect() as conn:
            open_tx = conn.begin()
            record_changes(conn, [{"paper_id": first_id, "changed_at": "now"}])
            thread = threading.Thread(target=second_writer)
            thread.start()
            # The second writer's change must not commit while the first's lower seq is open:
            # a reader would move past it and never see the first.
            assert not writer_done.wait(1.5)
            assert store.changes_since(seen) == []
            open_tx.commit()
        thread.join(30)
        assert writer_done.is_set()
        changes = store.changes_since(seen)
        assert len(changes) == 2 and changes[0].paper_id == first_id and changes[0].seq < changes[1].seq

