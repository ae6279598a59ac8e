"""Personal recommendations ("For you"): reader models over paper embeddings, with followed
authors, categories and saved searches.  Sits beside ``search/``: reads the store and the
indexes, and is used by ``web/`` and ``mail/``.  See :mod:`.recommender` for how a list is made.
"""

from __future__ import annotations

from .recommender import ForYou, Reason, Recommendation, Recommender

__all__ = ["ForYou", "Reason", "Recommendation", "Recommender"]
