"""Passages: an abstract cut into runs of a few sentences, each embedded beside the paper's vector.

A paper's own vector embeds its title and the first 256 tokens of its abstract as one text.
MiniLM is a sentence model: one vector for a whole abstract blurs the sentence that answers a
query (a claim, a method, a result) with everything around it, and 71% of SciFact's abstracts
(and many arXiv ones) run past 256 tokens, so their ends are not embedded at all.  Embedding
each passage (the title, then a few sentences) and scoring a paper by the best of its own
vector and its passages' ("MaxP") is measured on SciFact train qrels (809 claims), int8 MiniLM,
semantic mode alone:

==============================================  =======  ==========
paper scored by                                 nDCG@10  Recall@100
==============================================  =======  ==========
its own vector (before)                         0.659    0.932
best of ~250-token passages (1.9 per paper)     0.682    0.933
best of ~96-token passages (5.7 per paper)      0.700    0.944
best of ~64-token passages (8.0 per paper)      0.694    0.941
mean of ~96-token passages                      0.653    0.922
==============================================  =======  ==========

So a passage is the title and about 96 tokens of sentences, written here as words
(``PASSAGE_WORDS``; scientific English runs ~1.35 WordPiece tokens a word).  The hybrid figures
and the floors are in search/fusion.py.  Stored with a scale per row (``vectorfiles.quantize``):
int8 gave the same nDCG@10 as float32 to the third decimal at a quarter of the disk, and 4 bits
(what is stored) the same again at an eighth; hybrid search on SciFact train (session 6 harness,
served floors and weight):

=================  =======  ==========
passages stored    nDCG@10  Recall@100
=================  =======  ==========
int8               0.7435   0.9237
4 bits             0.7432   0.9250
=================  =======  ==========

Passages are most of the semantic index (three per paper at 1M papers: 1.2 GB as int8), and
a search process maps the passages of every candidate it rescores, so 4 bits halve what it
holds in memory; reducing them to 256 dimensions by PCA instead lost more (0.7426 / 0.9225).
"""

from __future__ import annotations

import re

# Bumped when what a passage is changes: an index built with another version is re-embedded.
PASSAGES_VERSION = 1
PASSAGE_WORDS = 56
# A sentence ends at . ! or ? followed by space; an abbreviation cut this way ("e.g. the") only
# makes a passage end a few words early, since short pieces are packed together again.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_passages(title: str, abstract: str, words: int = PASSAGE_WORDS) -> list[str]:
    """The passages of a paper: ``title`` + consecutive sentences of ``abstract`` up to ``words``
    words each (a longer sentence is a passage alone).  An abstract that fits in one passage has
    none: the paper's own vector already embeds exactly that text."""
    sentences = [s for s in _SENTENCE_END.split(" ".join(abstract.split())) if s]
    chunks: list[list[str]] = []
    count = 0
    for sentence in sentences:
        size = len(sentence.split())
        if chunks and count + size <= words:
            chunks[-1].append(sentence)
            count += size
        else:
            chunks.append([sentence])
            count = size
    if len(chunks) <= 1:
        return []
    title = " ".join(title.split())
    return [f"{title} {' '.join(chunk)}".strip() for chunk in chunks]


def passage_text(title: str, abstract: str, number: int) -> str | None:
    """The sentences of passage ``number`` (its title left out), or None when there is no such
    passage (the abstract changed since it was embedded, say)."""
    passages = split_passages("", abstract)
    return passages[number] if 0 <= number < len(passages) else None
