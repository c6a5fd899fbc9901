"""The fitted answer ranker: a logistic model over the candidate features, read from a data file.

``weights.json`` holds one weight per feature name (see ``features.FEATURES``), the bias, the
refusal threshold and the selection settings that were tuned with it. It is written by
``python -m bot.answering.fit`` and nothing else; the fit is reproducible from the repository's
own articles and questions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bot.answering.features import FEATURES

WEIGHTS_PATH = Path(__file__).with_name("weights.json")


@dataclass(frozen=True)
class Selection:
    """How many sentences an answer quotes, tuned with the weights."""

    threshold: float = 0.15  # below this probability the best candidate does not answer
    min_cover: float = 0.3  # … nor when it and its context hold less of the question than this
    min_slot: float = 0.0  # … or less of the words around the question word than this
    min_content: float = 0.0  # … or less of the question's words besides its names than this
    max_quotes: int = 2  # figure, date, name questions
    max_quotes_practice: int = 3  # how / what-measures questions
    ratio: float = 0.7  # another sentence is quoted when this close to the best one …
    ratio_adjacent: float = 0.2  # … or, for a practice question, this close and next to it
    adjacent: int = 1
    ratio_multi: float = 0.6  # … or, for a question of several asks, from the same article
    ratio_missing: float = 0.15  # a neighbour that holds an asked kind the best one lacks
    adjacent_missing: int = 1
    period_dominance: float = 0.0  # >0: refuse when another period's best is this much better
    ratio_list: float = 0.0  # >0: a how-answer is the list this close to the best sentence
    practice_block: int = 0  # >0: a practice answer is the best run of this many sentences
    max_chars: int = 1000  # quoted text in all: an answer is read on a phone
    # The direct line's figure comes from the quote whose figure fits the question best, each
    # later quote handicapped by this much (a large value: always the first quote's figure).
    direct_handicap: float = 100.0


@dataclass(frozen=True)
class Ranker:
    weights: dict[str, float]
    bias: float
    selection: Selection = field(default_factory=Selection)
    meta: dict[str, Any] = field(default_factory=dict)

    def logit(self, row: Sequence[float]) -> float:
        return self.bias + sum(
            self.weights.get(n, 0.0) * x for n, x in zip(FEATURES, row, strict=True)
        )

    def probability(self, row: Sequence[float]) -> float:
        z = self.logit(row)
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def probability_without(self, row: Sequence[float], names: Sequence[str]) -> float:
        """The probability had these features been 0: what a candidate would score but for,
        say, its period."""
        z = self.logit(row) - sum(self.weights.get(n, 0.0) * row[FEATURES.index(n)] for n in names)
        return 1.0 / (1.0 + math.exp(-z)) if z > -60 else 0.0

    def contributions(self, row: Sequence[float]) -> list[tuple[str, float, float]]:
        """(feature, value, weight × value) for every feature, largest effect first."""
        parts = [(n, x, self.weights.get(n, 0.0) * x) for n, x in zip(FEATURES, row, strict=True)]
        return sorted(parts, key=lambda p: -abs(p[2]))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": {n: round(self.weights.get(n, 0.0), 6) for n in FEATURES},
            "bias": round(self.bias, 6),
            "selection": self.selection.__dict__,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ranker:
        unknown = set(data["features"]) - set(FEATURES)
        if unknown:
            raise ValueError(f"weights for unknown features: {sorted(unknown)}")
        return cls(
            weights={n: float(w) for n, w in data["features"].items()},
            bias=float(data["bias"]),
            selection=Selection(**data.get("selection", {})),
            meta=dict(data.get("meta", {})),
        )


@cache
def load_ranker(path: Path = WEIGHTS_PATH) -> Ranker:
    return Ranker.from_json(json.loads(path.read_text(encoding="utf-8")))


def save_ranker(ranker: Ranker, path: Path = WEIGHTS_PATH) -> None:
    path.write_text(
        json.dumps(ranker.to_json(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
