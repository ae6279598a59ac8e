"""Facets of a result set: how many of its papers are in each category, each year, and have code.

Counted from the metadata arrays (:class:`~paperscope.index.meta.MetaIndex`) over the ids the
searcher holds, so no database query is made.  Years and "has code" partition the set, so their
counts add up to its size; a paper lists several categories, so those counts do not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..categories import category_label, category_name
from ..index.meta import MetaIndex

# Categories shown, most frequent first; the rest are summed as "other" in ``categories_more``.
MAX_CATEGORIES = 12


def facets(meta: MetaIndex, ids: npt.NDArray[np.int64], total: int) -> dict[str, Any]:
    """Counts by category, year and code link over ``ids``; ``counted`` says over how many
    papers (fewer than ``total`` when a large keyword set is held only in part)."""
    cats = meta.categories_of(ids)
    codes, counts = np.unique(cats[cats >= 0], return_counts=True)
    names = {code: name for name, code in meta.vocab.items()}
    ranked = sorted(zip(codes.tolist(), counts.tolist(), strict=True), key=lambda cc: (-cc[1], names.get(cc[0], "")))
    categories = [
        {"value": names[c], "label": category_label(names[c]), "name": category_name(names[c]), "count": n}
        for c, n in ranked[:MAX_CATEGORIES]
        if c in names
    ]
    years_of = meta.values("day", ids) // 10_000
    year_values, year_counts = np.unique(years_of, return_counts=True)
    years = [
        {"value": str(y) if y > 0 else "unknown", "count": int(n)}
        for y, n in sorted(zip(year_values.tolist(), year_counts.tolist(), strict=True), key=lambda yc: -yc[0])
    ]
    with_code = int(meta.with_code(ids).sum())
    return {
        "counted": int(ids.shape[0]),
        "total": total,
        "categories": categories,
        "categories_more": max(0, len(ranked) - MAX_CATEGORIES),
        "years": years,
        "has_code": {"yes": with_code, "no": int(ids.shape[0]) - with_code},
    }


def category_counts(meta: MetaIndex) -> list[dict[str, Any]]:
    """Every category the library's papers list, with how many list it, most first."""
    key = (meta.seq, int(meta.present.shape[0]))
    cached = _LIBRARY.get(id(meta))
    if cached is not None and cached[0] == key:
        return cached[1]
    rows = meta.cats[np.asarray(meta.present, dtype=bool)]
    codes, counts = np.unique(rows[rows >= 0], return_counts=True)
    names = {code: name for name, code in meta.vocab.items()}
    out = [
        {"value": names[c], "label": category_label(names[c]), "name": category_name(names[c]), "count": n}
        for c, n in sorted(zip(codes.tolist(), counts.tolist(), strict=True), key=lambda cc: (-cc[1], cc[0]))
        if c in names
    ]
    _LIBRARY[id(meta)] = (key, out)
    return out


# Per metadata index (one per searcher): counting a million papers' categories takes ~30 ms,
# so it is done again only when the index has changed.
_LIBRARY: dict[int, tuple[tuple[int, int], list[dict[str, Any]]]] = {}
