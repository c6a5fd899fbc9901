"""The eval harness behind ``tinbot eval``: answer, citation and refusal accuracy, retrieval
ans@k/MRR and latency on a JSONL question file shaped like shared/eval/dev.jsonl."""

from __future__ import annotations

import json
import statistics
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.answering.evidence import evidence_from_hits
from bot.answering.faithfulness import faithfulness
from bot.errors import TinbotError

if TYPE_CHECKING:
    from bot.service import Tinbot


@dataclass(frozen=True)
class EvalCase:
    id: str
    question: str
    type: str
    sources: tuple[str, ...]  # article basenames a full answer cites; empty = unanswerable
    expect: tuple[str, ...]

    @property
    def answerable(self) -> bool:
        return self.type != "unanswerable"


@dataclass
class CaseResult:
    case: EvalCase
    answer: str
    refused: bool
    cited: list[str]
    answer_ok: bool
    citation_ok: bool
    refusal_ok: bool
    rank: int | None  # 1-based rank of the first passage holding every expected string
    seconds: float
    faithfulness: float | None = None  # generated answers only
    answerer: str = "extractive"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.case.id,
            "type": self.case.type,
            "question": self.case.question,
            "answer": self.answer,
            "refused": self.refused,
            "cited": self.cited,
            "answer_ok": self.answer_ok,
            "citation_ok": self.citation_ok,
            "refusal_ok": self.refusal_ok,
            "rank": self.rank,
            "seconds": round(self.seconds, 4),
            "answerer": self.answerer,
            "faithfulness": self.faithfulness,
        }


@dataclass
class EvalReport:
    results: list[CaseResult] = field(default_factory=list)
    generator: str | None = None  # TINBOT_LLM when answers may be generated

    def metrics(self) -> dict[str, Any]:
        answerable = [r for r in self.results if r.case.answerable]
        unanswerable = [r for r in self.results if not r.case.answerable]
        latencies = sorted(r.seconds for r in self.results)

        def share(items: list[CaseResult], pred: Any) -> float:
            return round(sum(1 for r in items if pred(r)) / len(items), 4) if items else 0.0

        def pct(q: float) -> float:
            if not latencies:
                return 0.0
            index = min(len(latencies) - 1, max(0, round(q * (len(latencies) - 1))))
            return round(latencies[index] * 1000, 1)

        metrics: dict[str, Any] = {
            "questions": len(self.results),
            "answer_accuracy": share(answerable, lambda r: r.answer_ok),
            "citation_accuracy": share(answerable, lambda r: r.citation_ok),
            "refusal_accuracy": share(self.results, lambda r: r.refusal_ok),
            "unanswerable_refused": sum(1 for r in unanswerable if r.refused),
            "unanswerable": len(unanswerable),
            "answerable_refused": sum(1 for r in answerable if r.refused),
            "ans@1": share(answerable, lambda r: r.rank is not None and r.rank <= 1),
            "ans@5": share(answerable, lambda r: r.rank is not None and r.rank <= 5),
            "mrr@10": round(sum(1 / r.rank for r in answerable if r.rank) / len(answerable), 4)
            if answerable
            else 0.0,
            "latency_p50_ms": pct(0.5),
            "latency_p95_ms": pct(0.95),
        }
        by_type: dict[str, list[bool]] = {}
        for r in self.results:
            by_type.setdefault(r.case.type, []).append(r.answer_ok)
        metrics["by_type"] = {t: round(sum(v) / len(v), 4) for t, v in sorted(by_type.items())}
        # Size on a phone: single-article answers; the figure within the direct line.
        single = [r for r in answerable if len(r.case.sources) == 1 and not r.refused]
        sizes = sorted(len(r.answer) for r in single)
        if sizes:
            metrics["answer_chars_p50"] = sizes[len(sizes) // 2]
            metrics["answer_chars_max"] = sizes[-1]
        figures = [
            r for r in single if r.case.expect and any(c.isdigit() for c in r.case.expect[0])
        ]
        if figures:
            metrics["figure_in_first_160"] = share(
                figures,
                lambda r: all(
                    e in unicodedata.normalize("NFC", r.answer[:160]) for e in r.case.expect
                ),  # fmt: skip
            )
        faithful = [r.faithfulness for r in self.results if r.faithfulness is not None]
        if faithful:
            metrics["faithfulness"] = round(statistics.fmean(faithful), 4)
        if self.generator is not None:
            # The rest fell back to the extractive answer (rejected, failed or timed out).
            metrics["generated"] = share(self.results, lambda r: r.answerer.startswith("llm:"))
        return metrics


def load_cases(path: Path) -> list[EvalCase]:
    cases: list[EvalCase] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TinbotError(f"cannot read eval file {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            sources = row.get("sources") or ([row["source"]] if row.get("source") else [])
            cases.append(
                EvalCase(
                    id=str(row.get("id", number)),
                    question=row["question"],
                    type=row.get("type", "unanswerable" if not sources else "question"),
                    sources=tuple(sources),
                    expect=tuple(unicodedata.normalize("NFC", e) for e in row.get("expect", [])),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise TinbotError(f"{path}:{number}: not an eval case ({exc})") from None
    return cases


def _basename(origin: str) -> str:
    return origin.rstrip("/").rsplit("/", 1)[-1]


def run_eval(service: Tinbot, cases: list[EvalCase]) -> EvalReport:
    report = EvalReport(generator=None if service.settings.llm == "none" else service.settings.llm)
    for case in cases:
        started = time.perf_counter()
        answer = service.answer(case.question)
        seconds = time.perf_counter() - started
        text = unicodedata.normalize("NFC", answer.text)
        cited = [_basename(c.origin) for c in answer.citations]
        if case.answerable:
            answer_ok = not answer.refused and all(e in text for e in case.expect)
            if len(case.sources) == 1:
                citation_ok = bool(cited) and cited[0] == case.sources[0]
            else:
                citation_ok = set(case.sources) <= set(cited)
            refusal_ok = not answer.refused
        else:
            answer_ok = citation_ok = refusal_ok = answer.refused
        hits = service.search(case.question, k=10)
        rank = None
        if case.expect:
            for i, hit in enumerate(hits, start=1):
                if all(e in unicodedata.normalize("NFC", hit.chunk.text) for e in case.expect):
                    rank = i
                    break
        faithful = None
        if answer.answerer.startswith("llm:") and not answer.refused:
            # Judged against the passages the generator was shown: the service's own retrieval.
            shown = service.search(case.question, k=service.settings.top_k)
            faithful = faithfulness(answer, evidence_from_hits(shown, service.store))
        report.results.append(
            CaseResult(
                case,
                answer.text,
                answer.refused,
                cited,
                answer_ok,
                citation_ok,
                refusal_ok,
                rank,
                seconds,
                faithful,
                answer.answerer,
            )
        )
    return report
