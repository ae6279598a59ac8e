"""Format detection by content, folder walking, and the errors for files we cannot import."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from paperscope.errors import SourceError
from paperscope.records import PaperRecord
from paperscope.sources import UnknownFormat, detect_format, expand_paths, parse_file


def expected_format(path: Path) -> str | None:
    """What each file in shared/data is, from the data README (None: not paper metadata)."""
    name = path.name
    if name.endswith(".atom.xml"):
        return "arxiv-atom"
    if path.parent.name == "atom" and name.endswith(".json"):
        return "recorded-response"
    return {
        "arxiv-metadata-oai-snapshot.sample.jsonl": "arxiv-snapshot",
        "daily_papers_2024-10-25.json": "hf-api",
        "hf-daily-2026-02.json": "json-list",
        "corpus.jsonl": "beir-corpus",
        "queries.jsonl": None,
        "train.tsv": None,
        "README.md": None,
    }.get(name, "arxiv-oai" if path.parent.name == "oai-pmh" else "hf-page" if name.endswith(".txt") else "?")


def test_every_shared_file_is_detected_by_content(shared_data: Path) -> None:
    seen: dict[str | None, int] = {}
    for path, explicit in expand_paths([shared_data]):
        assert explicit is False
        expected = expected_format(path)
        assert expected != "?", f"unexpected file in shared/data: {path}"
        if expected is None:
            with pytest.raises(UnknownFormat) as info:
                detect_format(path)
            assert str(path) in str(info.value)
        else:
            assert detect_format(path) == expected, path
        seen[expected] = seen.get(expected, 0) + 1
    assert seen == {
        "arxiv-atom": 20, "recorded-response": 20, "arxiv-snapshot": 1, "arxiv-oai": 10, "hf-api": 1,
        "json-list": 1, "hf-page": 2, "beir-corpus": 1, None: 3,
    }


def test_detection_ignores_names(shared_data: Path, tmp_path: Path) -> None:
    # The snapshot under a misleading name, and an Atom page saved as .json, keep their formats.
    snapshot = tmp_path / "papers.xml"
    snapshot.write_bytes((shared_data / "arxiv/kaggle/arxiv-metadata-oai-snapshot.sample.jsonl").read_bytes())
    atom = tmp_path / "feed.json"
    atom.write_bytes((shared_data / "arxiv/atom/id_1707.08567_s0_m100_6a1afebfc6a3.atom.xml").read_bytes())
    assert detect_format(snapshot) == "arxiv-snapshot"
    assert detect_format(atom) == "arxiv-atom"


def test_non_paper_files_explain_what_was_expected(shared_data: Path) -> None:
    with pytest.raises(UnknownFormat, match=r"queries\.jsonl.*no 'title'.*BEIR queries"):
        detect_format(shared_data / "scifact/queries.jsonl")
    with pytest.raises(UnknownFormat, match=r"train\.tsv.*plain text.*paperscope reads"):
        detect_format(shared_data / "scifact/qrels/train.tsv")
    with pytest.raises(UnknownFormat, match=r"README\.md"):
        detect_format(shared_data / "README.md")
    assert issubclass(UnknownFormat, SourceError)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b"<?xml version='1.0'?><rss><channel/></rss>", "root <rss>"),
        (b'{"name": "x", "value": 3}\n{"name": "y", "value": 4}\n', "looked for title"),
        (b'{"rows": [{"name": "x"}]}', "no list of papers under papers/data/items"),
        (b'{\n  "rows": [{"name": "x"}]\n}\n', "without a list of papers"),
        (b'[{"name": "x", "size": 3}]', "records have fields ['name', 'size']"),
        (b"{not json at all", "not valid JSON"),
    ],
)
def test_unknown_content_is_refused_with_a_reason(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.dat"
    path.write_bytes(content)
    with pytest.raises(UnknownFormat) as info:
        detect_format(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_expand_paths_walks_folders_sorted_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b/2.json", "b/1.json", "a.json", ".hidden.json", ".git/config"):
        (tmp_path / name).write_text("{}")
    single = tmp_path / "a.json"
    walked = list(expand_paths([tmp_path, single]))
    assert walked == [
        (tmp_path / "a.json", False),
        (tmp_path / "b/1.json", False),
        (tmp_path / "b/2.json", False),
        (single, True),
    ]


def test_expand_paths_names_a_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    with pytest.raises(SourceError, match=r"nope\.jsonl does not exist"):
        list(expand_paths([missing]))


def test_unreadable_file_is_a_source_error(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"cannot read .*missing\.jsonl"):
        list(parse_file(tmp_path / "missing.jsonl"))
    with pytest.raises(UnknownFormat, match="is a folder"):
        detect_format(tmp_path)


def test_json_lines_whose_first_line_is_broken_are_still_recognised(tmp_path: Path) -> None:
    good = {"title": "A paper", "arxiv_id": "2401.00001"}
    path = tmp_path / "list.jsonl"
    path.write_bytes(b'{"title": "cut off\n' + orjson.dumps(good) + b"\n")
    assert detect_format(path) == "json-list"
    results = list(parse_file(path))
    assert [type(r).__name__ for r in results] == ["Rejected", "PaperRecord"]
    assert isinstance(results[1], PaperRecord) and results[1].arxiv_id == "2401.00001"
