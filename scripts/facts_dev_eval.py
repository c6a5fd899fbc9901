"""Measure the facts answerer before it is wired into the service: ingest the sample articles
into a temporary data dir, extract their facts, and run the eval files answering with facts first
and falling back to ``Tinbot.answer``.

    .venv/bin/python scripts/facts_dev_eval.py [eval/dev_stats.jsonl eval/dev.jsonl ...] [-v]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.evaluate import load_cases, run_eval  # noqa: E402
from bot.facts_answer import FactsAnswerer  # noqa: E402
from bot.service import Tinbot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.types import Answer  # noqa: E402
from index.facts import FactStore  # noqa: E402


class FactsFirst:
    """Quacks like ``Tinbot`` for ``run_eval``: facts first, then the service's answer."""

    def __init__(self, service: Tinbot) -> None:
        self.service = service
        self.retriever = service.retriever
        self.facts = FactStore(service.store.conn)
        self.facts.refresh(service.store)
        self.answerer = FactsAnswerer(self.facts, service.store)

    def __getattr__(self, name: str) -> object:
        return getattr(self.service, name)  # settings, store, … as the eval harness needs

    def answer(self, question: str, *, history: list[tuple[str, str]] | None = None) -> Answer:
        return self.answerer.answer(question) or self.service.answer(question, history=history)


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("-")]
    verbose = "-v" in sys.argv
    files = args or ["eval/dev_stats.jsonl", "eval/dev.jsonl", "eval/extra.jsonl"]
    with tempfile.TemporaryDirectory() as tmp:
        service = Tinbot.open(Settings(data_dir=Path(tmp)))
        try:
            service.ingest([str(ROOT / "samples" / "corpus")])
            facts_first = FactsFirst(service)
            for name in files:
                report = run_eval(facts_first, load_cases(ROOT / name))  # type: ignore[arg-type]
                print(f"== {name}")
                for r in report.results:
                    ok = r.answer_ok and r.citation_ok and r.refusal_ok
                    print(f"{'ok ' if ok else 'BAD'} {r.case.id:<4} {r.case.question}")
                    if verbose or not ok:
                        print("      " + r.answer.replace("\n", "\n      "))
                metrics = report.metrics()
                keys = ("answer_accuracy", "citation_accuracy", "refusal_accuracy")
                print("   ", {k: metrics[k] for k in keys})
        finally:
            service.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
