"""``paperscope related`` end to end: a real store on disk, the real model, the click command."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from paperscope.cli import main
from paperscope.store import Store
from semantic_helpers import daily_records


def test_related_command(home: Path, shared_data: Path) -> None:
    records = daily_records(shared_data)[600:640]
    with Store.open(str(home)) as store:
        store.write_records(records)
    target = records[7]
    runner = CliRunner()
    # No index yet: the command embeds what it needs first.  An arXiv URL with a version works.
    result = runner.invoke(main, ["--home", str(home), "--quiet", "related",
                                  f"https://arxiv.org/abs/{target.arxiv_id}v2", "--limit", "4", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["paper"]["id"] == target.arxiv_id and data["how"] == "semantic"
    related = data["related"]
    assert 1 <= len(related) <= 4 and data["floor"] > 0
    ids = [r["id"] for r in related]
    assert target.arxiv_id not in ids and len(set(ids)) == len(ids)
    assert all(r["title"] and r["authors"] and abs(r["why"]["semantic"] - r["score"]) < 1e-3 for r in related)
    scores = [r["score"] for r in related]
    assert scores == sorted(scores, reverse=True) and data["floor"] <= scores[-1] < 1
    assert (home / "index" / "semantic" / "manifest.json").exists()

    text = runner.invoke(main, ["--home", str(home), "related", str(target.arxiv_id), "-n", "1"])
    assert text.exit_code == 0, text.output
    assert target.title in text.output
    assert related[0]["title"] in text.output
    assert len(related) == 1 or related[1]["title"] not in text.output


def test_related_unknown_paper_is_a_clear_error(home: Path) -> None:
    with Store.open(str(home)):
        pass
    result = CliRunner().invoke(main, ["--home", str(home), "related", "2501.99999"])
    assert result.exit_code == 2
    assert "no paper '2501.99999'" in result.output and "Traceback" not in result.output
