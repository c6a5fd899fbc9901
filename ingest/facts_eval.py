"""Precision and recall of fact extraction against hand labels (``eval/facts_labels.jsonl``).

Each label names an article file, a short ``context`` that occurs once in the article, the
``figure`` inside it, and the expected kind, segment, target flag, per-year flag, place and period
(``[year_from, year_to]``, ``null`` where the article does not say). A fact *finds* a label when its
figure's span covers the labelled figure; it is *correct* when kind, segment, target, place and
period all agree too. Every figure of the labelled articles is labelled, so a fact that finds no
label is a false positive.

    python -m ingest.facts_eval [eval/facts_labels.jsonl] [samples/corpus]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.facts import Fact, extract_facts
from ingest.loaders import LoadLimits, load
from ingest.models import Article
from ingest.pipeline import prepare
from ingest.vietnamese import fold

FIELDS = ("kind", "segment", "target", "per_year", "place", "period")


@dataclass(frozen=True)
class Label:
    article: str
    context: str
    figure: str
    expected: dict[str, Any]


@dataclass
class Score:
    labels: int = 0
    facts: int = 0
    found: int = 0  # labels covered by some fact
    correct: int = 0  # labels covered by a fact with every field right
    spurious: list[str] = field(default_factory=list)  # facts that cover no label
    field_right: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    errors: list[str] = field(default_factory=list)

    @property
    def detection_precision(self) -> float:
        return (self.facts - len(self.spurious)) / self.facts if self.facts else 0.0

    @property
    def detection_recall(self) -> float:
        return self.found / self.labels if self.labels else 0.0

    @property
    def precision(self) -> float:
        """Facts that are a labelled figure with every field right, over all facts."""
        return self.correct / self.facts if self.facts else 0.0

    @property
    def recall(self) -> float:
        return self.correct / self.labels if self.labels else 0.0

    def field_accuracy(self) -> dict[str, float]:
        return {
            k: round(v / self.found, 3) if self.found else 0.0 for k, v in self.field_right.items()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "labels": self.labels,
            "facts": self.facts,
            "detection_precision": round(self.detection_precision, 3),
            "detection_recall": round(self.detection_recall, 3),
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "field_accuracy": self.field_accuracy(),
            "spurious": self.spurious,
            "errors": self.errors,
        }


def load_labels(path: Path) -> list[Label]:
    labels: list[Label] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            expected = {k: row[k] for k in FIELDS}
            labels.append(Label(row["article"], row["context"], row["figure"], expected))
    return labels


def _observed(fact: Fact) -> dict[str, Any]:
    return {
        "kind": fact.kind,
        "segment": fact.segment,
        "target": fact.target,
        "per_year": fact.per_year,
        "place": fact.place,
        "period": [fact.year_from, fact.year_to],
    }


def _agrees(name: str, expected: Any, observed: Any) -> bool:
    if name == "place":
        return expected is not None and observed is not None and fold(expected) == fold(observed)
    return bool(expected == observed)


def score(labels: Iterable[Label], articles: dict[str, Article]) -> Score:
    result = Score()
    by_article: dict[str, list[Label]] = {}
    for label in labels:
        by_article.setdefault(label.article, []).append(label)
    for name, article_labels in sorted(by_article.items()):
        article = articles[name]
        facts = extract_facts(article)
        result.facts += len(facts)
        covered: set[int] = set()
        for label in article_labels:
            result.labels += 1
            at = article.text.find(label.context)
            if at == -1 or article.text.find(label.context, at + 1) != -1:
                raise ValueError(f"{name}: context {label.context!r} must occur exactly once")
            offset = at + label.context.index(label.figure)
            matches = [i for i, f in enumerate(facts) if f.figure_start <= offset < f.figure_end]
            if not matches:
                result.errors.append(f"{name}: missed {label.context!r}")
                continue
            result.found += 1
            covered.update(matches)
            observed = _observed(facts[matches[0]])
            wrong = []
            for key in FIELDS:
                if _agrees(key, label.expected[key], observed[key]):
                    result.field_right[key] += 1
                else:
                    wrong.append(f"{key}={observed[key]!r} (expected {label.expected[key]!r})")
            if wrong:
                result.errors.append(f"{name}: {label.context!r}: " + ", ".join(wrong))
            else:
                result.correct += 1
        for i, fact in enumerate(facts):
            if i not in covered:
                result.spurious.append(f"{name}: {fact.figure!r} ({fact.kind})")
    return result


def load_articles(folder: Path) -> dict[str, Article]:
    limits = LoadLimits()
    return {p.name: prepare(load(str(p), limits)) for p in sorted(folder.iterdir()) if p.is_file()}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[1]
    labels_path = Path(args[0]) if args else root / "eval" / "facts_labels.jsonl"
    folder = Path(args[1]) if len(args) > 1 else root / "samples" / "corpus"
    result = score(load_labels(labels_path), load_articles(folder))
    print(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
