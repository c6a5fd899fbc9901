"""Fit the answer ranker's weights and selection settings on labelled questions.

    python -m bot.answering.fit            # rebuilds bot/answering/weights.json

Data: the sample articles (``samples/corpus``) and the news reports in ``eval/news``, ingested
into one index, and the questions of ``eval/news.jsonl``. The news questions are split **by
article** into a fixed tuning half and a test half: articles whose number is odd (``mt_01``,
``nb_03``, …) and the questions about them tune; the even ones are never seen by the fit. A
compare/total question belongs to a half only when all its articles do; an unanswerable one
(no article) goes by the parity of its own number.

Labels: a candidate sentence is positive when it comes from the question's article and holds at
least one expected answer string (numbers matched whole: "5" is not in "15"). Each answerable
question also adds its candidates with its own article taken away, every one negative: the
ranker must learn what "no answer here" looks like, not only which sentence is best.

Model: L2-regularised logistic regression (Newton's method, numpy), so the probability it gives
is what the refusal threshold is set on. The selection settings (threshold, how many sentences
to quote) are chosen by grid search on the tuning half, scoring the real answer each setting
produces, each question answered by a ranker fitted without its fold of articles (so the
threshold is set on scores like those of a question the ranker never saw). The report gives both
halves, a 5-fold cross-validation by article over all news questions, and the weights;
``tests/test_fit.py`` checks that a fresh fit reproduces the shipped file.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from bot.answering.candidates import Candidate, candidates
from bot.answering.extractive import ExtractiveAnswerer, Ranking, Scored, mismatch
from bot.answering.features import FEATURES, featurize
from bot.answering.question import Query, analyse
from bot.answering.ranker import WEIGHTS_PATH, Ranker, Selection, load_ranker, save_ranker
from bot.evaluate import EvalCase, load_cases

REPO = Path(__file__).resolve().parents[2]
ARTICLES = (REPO / "samples" / "corpus", REPO / "eval" / "news")
QUESTIONS = REPO / "eval" / "news.jsonl"
# Questions no article answers (off-topic, places and years the articles never report), to
# calibrate refusal with more than the news set's own dozen; split by the same parity rule.
REFUSALS = REPO / "eval" / "offtopic.jsonl"
L2 = 1.0
FOLDS = 5
JOINT = ("threshold", "min_cover", "min_content")
# Features that serve a refusal check (``Selection.min_content``) and explain it, but do not rank:
# a sentence holding more of the question's other words is already scored by the cover features.
CHECK_ONLY = frozenset({"content_context"})
GRID: dict[str, Sequence[float]] = {
    # Highest first: of thresholds that score the same, the search keeps the first, and an
    # honest refusal is the safer error than a wrong answer.
    "threshold": (0.2, 0.16, 0.12, 0.1, 0.08, 0.07, 0.06),
    "min_cover": (0.2, 0.25, 0.3, 0.35, 0.4),
    "min_slot": (0.0, 0.2, 0.3, 0.4, 0.5),
    "min_content": (0.15, 0.1, 0.05, 0.0),
    "ratio": (0.2, 0.35, 0.5, 0.7),
    "ratio_adjacent": (0.2, 0.35),
    "ratio_multi": (0.4, 0.7),
    "ratio_missing": (0.05, 0.15),
    "adjacent_missing": (1, 2),
    "practice_block": (0, 2, 3),
    "ratio_list": (0.0, 0.2, 0.3, 0.5),
    "period_dominance": (0.0, 0.3, 0.5, 0.7, 1.0),
    "max_quotes_practice": (3, 4),
    "direct_handicap": (0.5, 1.0, 2.0, 100.0),
}


@dataclass
class Example:
    case: EvalCase
    half: str  # "tune" or "test"
    article: str  # the news article it is about ("" for unanswerable, several joined by +)
    query: Query
    cands: list[Candidate]
    origins: list[str]  # basename of each candidate's article
    rows: np.ndarray
    labels: np.ndarray
    negatives: np.ndarray  # features of the candidates with the question's own article removed


def article_number(name: str) -> int | None:
    match = re.search(r"_(\d+)\.", name)
    return int(match.group(1)) if match else None


def half_of(case: EvalCase) -> str:
    if not case.sources:
        digits = re.sub(r"\D", "", case.id)
        return "tune" if digits and int(digits) % 2 else "test"
    numbers = [article_number(s) for s in case.sources]
    return "tune" if all(n is not None and n % 2 for n in numbers) else "test"


def contains(text: str, expected: str) -> bool:
    """``expected`` in ``text``, a number only as a whole number."""
    text, expected = unicodedata.normalize("NFC", text), unicodedata.normalize("NFC", expected)
    pattern = re.escape(expected)
    if expected[:1].isdigit():
        pattern = r"(?<![\d.,])" + pattern
    if expected[-1:].isdigit():
        pattern += r"(?![\d]|[.,]\d)"
    return re.search(pattern, text) is not None


def build_examples(bot: Any, cases: Sequence[EvalCase]) -> list[Example]:
    """Retrieval, candidates and features for every question, as the service answers it."""
    from bot.answering.evidence import evidence_from_hits

    answerer: ExtractiveAnswerer = bot.answerer
    basenames: dict[str, str] = {}

    def basename(article_id: str) -> str:
        if article_id not in basenames:
            article = bot.store.get(article_id)
            basenames[article_id] = Path(article.origin).name if article else ""
        return basenames[article_id]

    examples: list[Example] = []
    width = len(FEATURES)
    for case in cases:
        query = analyse(case.question)
        hits = bot.search(case.question, k=bot.settings.top_k)
        evidence = evidence_from_hits(hits, bot.store)
        cands = candidates(evidence, answerer.view_of)
        terms = answerer.terms(query)
        rows = featurize(query, terms, cands, answerer._facts_of)
        origins = [basename(c.view.article_id) for c in cands]
        labels = [
            sum(1 for e in case.expect if contains(c.text, e))
            if len(case.sources) == 1 and origin == case.sources[0]
            else 0
            for c, origin in zip(cands, origins, strict=True)
        ]
        negatives: list[list[float]] = []
        if len(case.sources) == 1:
            rest = [c for c, o in zip(cands, origins, strict=True) if o != case.sources[0]]
            negatives = featurize(query, terms, rest, answerer._facts_of)
        examples.append(
            Example(
                case=case,
                half=half_of(case),
                article="+".join(case.sources),
                query=query,
                cands=cands,
                origins=origins,
                rows=np.array(rows, dtype=float).reshape(len(cands), width),
                labels=np.array(labels, dtype=int),
                negatives=np.array(negatives, dtype=float).reshape(len(negatives), width),
            )
        )
    return examples


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, iterations: int = 100) -> np.ndarray:
    """Weights (bias last) of an L2-regularised logistic regression, by Newton's method."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    beta = np.zeros(xb.shape[1])
    penalty = l2 * np.eye(xb.shape[1])
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ beta, -60, 60)))
        gradient = xb.T @ (p - y) + penalty @ beta
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def fit_ranker(examples: Sequence[Example], l2: float = L2) -> Ranker:
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    for ex in examples:
        if len(ex.case.sources) != 1 or not len(ex.rows):
            continue
        xs += [ex.rows, ex.negatives]
        ys += [(ex.labels > 0).astype(float), np.zeros(len(ex.negatives))]
    x = np.vstack(xs)
    x[:, [FEATURES.index(name) for name in CHECK_ONLY]] = 0.0  # an unused column gets weight 0
    beta = fit_logistic(x, np.concatenate(ys), l2)
    weights = {name: float(w) for name, w in zip(FEATURES, beta[:-1], strict=True)}
    return Ranker(weights=weights, bias=float(beta[-1]))


def answer_ok(example: Example, answerer: ExtractiveAnswerer, ranker: Ranker) -> dict[str, Any]:
    """The answer the ranker leads to, judged as ``tinbot eval`` judges it."""
    scored = [
        Scored(c, list(row), ranker.probability(row), mismatch(example.query, row))
        for c, row in zip(example.cands, example.rows, strict=True)
    ]
    scored.sort(key=lambda s: (-s.probability, s.candidate.rank, s.candidate.start))
    answerer.ranker = ranker
    chosen = answerer.select(Ranking(example.query, scored))
    case = example.case
    if not chosen:
        return {"ok": not case.answerable, "refused": True, "chars": 0, "direct": False}
    answer = answerer.compose(example.query, chosen)
    text = unicodedata.normalize("NFC", answer.text)
    first = Path(answer.citations[0].origin).name if answer.citations else ""
    ok = (
        case.answerable
        and all(e in text for e in case.expect)
        and (len(case.sources) != 1 or first == case.sources[0])
    )
    head = text[:160]
    return {
        "ok": ok,
        "refused": False,
        "chars": len(answer.text),
        "direct": all(e in head for e in case.expect),
    }


def evaluate(
    examples: Sequence[Example], answerer: ExtractiveAnswerer, ranker: Ranker
) -> dict[str, Any]:
    return evaluate_with(examples, answerer, lambda _: ranker)


def evaluate_with(
    examples: Sequence[Example],
    answerer: ExtractiveAnswerer,
    ranker_of: Callable[[Example], Ranker],
) -> dict[str, Any]:
    """:func:`evaluate`, each example answered by its own ranker."""
    by_type: dict[str, list[bool]] = defaultdict(list)
    refused_answerable = 0
    answerable = 0
    unanswerable_refused = 0
    unanswerable = 0
    sizes: list[int] = []
    direct: list[bool] = []
    for ex in examples:
        if len(ex.case.sources) > 1:
            continue  # compare / total: answered from several articles, not by the ranker
        result = answer_ok(ex, answerer, ranker_of(ex))
        by_type[ex.case.type].append(result["ok"])
        if ex.case.answerable:
            answerable += 1
            refused_answerable += result["refused"]
            if not result["refused"]:
                sizes.append(result["chars"])
                if ex.case.type in ("statistic",) or "count" in ex.query.answer_types:
                    direct.append(result["direct"])
        else:
            unanswerable += 1
            unanswerable_refused += result["refused"]
    answerable_ok = [ok for t, oks in by_type.items() if t != "unanswerable" for ok in oks]
    return {
        "answer": round(float(np.mean(answerable_ok)), 3) if answerable_ok else 0.0,
        "questions": sum(len(v) for v in by_type.values()),
        "by_type": {t: round(float(np.mean(v)), 3) for t, v in sorted(by_type.items())},
        "answerable_refused": refused_answerable,
        "answerable": answerable,
        "unanswerable_refused": unanswerable_refused,
        "unanswerable": unanswerable,
        "median_chars": int(np.median(sizes)) if sizes else 0,
        "max_chars": max(sizes, default=0),
        "figure_in_direct_line": round(float(np.mean(direct)), 3) if direct else 0.0,
    }


def _objective(metrics: dict[str, Any]) -> tuple[float, ...]:
    answered = metrics["answer"] * metrics["answerable"]
    refused = metrics["unanswerable_refused"]
    total = metrics["answerable"] + metrics["unanswerable"]
    # Then the figure in the direct line (a target of its own), then shorter answers.
    return (
        (answered + refused) / max(1, total),
        metrics["figure_in_direct_line"],
        -metrics["median_chars"],
    )


def fold_of_articles(examples: Sequence[Example]) -> dict[str, int]:
    """Each article's fold: the articles in name order, dealt round the ``FOLDS`` folds."""
    articles = sorted({ex.article for ex in examples if ex.article})
    return {a: i % FOLDS for i, a in enumerate(articles)}


def out_of_fold(examples: Sequence[Example]) -> Callable[[Selection], Callable[[Example], Ranker]]:
    """For a selection, the ranker that answers each example: one fitted without the example's
    fold of articles (a question no article answers takes a fold by its place in the list), so
    the selection is judged on scores the ranker did not learn from."""
    fold_of = fold_of_articles(examples)
    fold_of_example = {
        id(ex): fold_of[ex.article] if ex.article else i % FOLDS for i, ex in enumerate(examples)
    }
    fitted = [
        fit_ranker([ex for ex in examples if fold_of_example[id(ex)] != fold])
        for fold in range(FOLDS)
    ]

    def rankers(selection: Selection) -> Callable[[Example], Ranker]:
        chosen = [replace(r, selection=selection) for r in fitted]
        return lambda ex: chosen[fold_of_example[id(ex)]]

    return rankers


def tune_selection(
    examples: Sequence[Example],
    answerer: ExtractiveAnswerer,
    starts: Sequence[Selection] = (Selection(),),
) -> Selection:
    """Coordinate search over ``GRID`` from each of ``starts``, keeping the best end (the
    earlier start on a tie): each setting in turn takes its best value with the others held,
    twice over (a full grid costs minutes for the same result). The refusal settings
    (``JOINT``) work together, so they are searched as one coordinate, every combination: one
    at a time, the search stopped at whichever pair it met first.

    Each setting is judged out of fold (:func:`out_of_fold`): judged by the ranker fitted on
    the same questions, a threshold sits where that ranker's over-confident scores put it, and
    a small change of one feature moved it and the period factor enough to move several
    answers of the held-out half either way."""
    rankers = out_of_fold(examples)
    coordinates: list[list[dict[str, float]]] = [
        [
            dict(zip(JOINT, combo, strict=True))
            for combo in itertools.product(*(GRID[n] for n in JOINT))
        ]
    ]
    coordinates += [
        [{name: v} for v in values] for name, values in GRID.items() if name not in JOINT
    ]

    def score_of(selection: Selection) -> tuple[float, ...]:
        return _objective(evaluate_with(examples, answerer, rankers(selection)))

    ends: list[tuple[tuple[float, ...], int, Selection]] = []
    for i, selection in enumerate(starts):
        best = score_of(selection)
        for _ in range(2):
            for settings in coordinates:
                for values in settings:
                    candidate = replace(selection, **values)  # type: ignore[arg-type]
                    score = score_of(candidate)
                    if score > best:
                        best, selection = score, candidate
        ends.append((best, -i, selection))
    return max(ends, key=lambda end: end[:2])[2]


def cross_validate(
    examples: Sequence[Example], answerer: ExtractiveAnswerer, selection: Selection
) -> dict[str, Any]:
    """Answer accuracy over ``FOLDS`` folds of articles, each fold answered by the ranker
    fitted on the others (:func:`out_of_fold`)."""
    fold_of = fold_of_articles(examples)
    ranker_of = out_of_fold(examples)(selection)
    scores = [
        evaluate_with(
            [ex for ex in examples if ex.article and fold_of[ex.article] == fold],
            answerer,
            ranker_of,
        )["answer"]
        for fold in range(FOLDS)
    ]
    return {"folds": [round(s, 3) for s in scores], "mean": round(float(np.mean(scores)), 3)}


def open_index(data_dir: Path) -> Any:
    """The index of the sample articles and the news reports, built when missing."""
    from bot.service import Tinbot
    from bot.settings import Settings

    settings = Settings.from_env({"TINBOT_DATA_DIR": str(data_dir)})
    bot = Tinbot.open(settings)
    report = bot.ingest([str(p) for p in ARTICLES])
    failed = [r for r in report.results if r.status == "failed"]
    if failed:
        bot.close()
        raise SystemExit(f"cannot build the training index: {failed[0].origin}: {failed[0].reason}")
    return bot


def fit(data_dir: Path, questions: Path = QUESTIONS) -> tuple[Ranker, dict[str, Any]]:
    bot = open_index(data_dir)
    try:
        examples = build_examples(bot, load_cases(questions) + load_cases(REFUSALS))
        answerer: ExtractiveAnswerer = bot.answerer
        tune = [ex for ex in examples if ex.half == "tune"]
        test = [ex for ex in examples if ex.half == "test"]
        ranker = fit_ranker(tune)
        # The search also starts from the shipped settings: from the defaults alone, a small
        # change of the features can end it where the tuning half scores two answers fewer
        # than those settings still give.
        starts = [Selection()]
        if WEIGHTS_PATH.exists():
            starts.append(load_ranker(WEIGHTS_PATH).selection)
        selection = tune_selection(tune, answerer, starts)
        ranker = replace(ranker, selection=selection)
        report = {
            "tune": evaluate(tune, answerer, ranker),
            "test": evaluate(test, answerer, ranker),
            "cross_validation": cross_validate(examples, answerer, selection),
        }
    finally:
        bot.close()
    meta = {
        "fitted_on": "eval/news.jsonl, odd-numbered articles (tuning half)",
        "examples": sum(1 for ex in tune if len(ex.case.sources) == 1),
        "l2": L2,
    }
    return replace(ranker, meta=meta), report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.answering.fit", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--data-dir", type=Path, help="index to use (built when missing; default: a temporary one)"
    )
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH, help="weights file to write")
    parser.add_argument("--report", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tinbot-fit-") as tmp:
        ranker, report = fit(args.data_dir or Path(tmp), args.questions)
    save_ranker(ranker, args.out)
    text = json.dumps(report, ensure_ascii=False, indent=2)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
