"""The one shape every ranker returns, so that filtering, fusion and paging are written once."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(slots=True)
class Hits:
    """Paper ids (store ids, int64) and their scores (float32), best first."""

    ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]

    @classmethod
    def empty(cls) -> Hits:
        return cls(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))

    def __len__(self) -> int:
        return int(self.ids.shape[0])
