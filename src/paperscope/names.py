"""How author names and categories are compared: as written, folded for case and accents.

paperscope does no identity resolution: "Jane Doe" and "J. Doe" are two authors, and two
people both called Jane Doe are one.  Folding only removes differences of case, accents and
spacing ("José  García" = "jose garcia"), which are spelling, not identity.
"""

from __future__ import annotations

import unicodedata


def normalize_name(name: str) -> str:
    """Case- and accent-folded, single-spaced: the key that author matching and follows use."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(bare.casefold().split())


def normalize_category(category: str) -> str:
    """arXiv categories are case-sensitive in form (``cs.CL``) but a reader may type ``cs.cl``."""
    return category.strip().lower()
