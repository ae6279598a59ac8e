"""What a search query asks for, as a plain structure: the contract between the query parser
(:mod:`paperscope.search.query`) and the indexes that build engine queries from it
(:mod:`paperscope.index.keyword_query`).  Kept outside both so the layers point one way:
``index`` needs the model, not the search layer above it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class ParsedQuery:
    """What a query asks for.  ``text`` is the free text (words and phrases) for semantic search."""

    raw: str
    words: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    since: str | None = None
    until: str | None = None
    jump_to: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join([*self.phrases, *self.words])

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def has_constraints(self) -> bool:
        """Clauses a document must satisfy beyond matching well: phrases, authors, exclusions."""
        return bool(self.phrases or self.authors or self.excluded)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
