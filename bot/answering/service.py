"""Answering a question end to end: analyse it once, try the fact table for comparisons,
lists and totals, split a comparison it cannot make per place, else retrieve passages and let
the extractive answerer quote them (and an optional LLM write from them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.answering.evidence import evidence_from_hits, example_questions
from bot.answering.extractive import ExtractiveAnswerer
from bot.answering.facts import FactsAnswerer
from bot.answering.multi import answer_multi, is_multi
from bot.answering.question import Query, analyse
from bot.types import Answer, ArticleInfo, Evidence, Passage, Stats
from index.retrieve import Hit, HybridRetriever
from index.store import ArticleStore

if TYPE_CHECKING:
    from bot.answering.generate import Generator


class Answering:
    def __init__(
        self,
        store: ArticleStore,
        retriever: HybridRetriever,
        answerer: ExtractiveAnswerer,
        facts_answerer: FactsAnswerer,
        *,
        top_k: int,
        generator: Generator | None = None,
        sync: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.retriever = retriever
        self.answerer = answerer
        self.facts_answerer = facts_answerer
        self.top_k = top_k
        self._generator = generator
        self.sync = sync  # brings this process's view of the vectors up to date

    def answer(
        self,
        question: str,
        *,
        history: list[tuple[str, str]] | None = None,
        article_ids: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        generate: bool = True,
    ) -> Answer:
        """Answer from all articles, or only those given / published in a date range.
        ``generate=False`` skips the LLM (when one is set) for an answer that is needed at
        once, such as an inline query's."""
        generating = generate and self._generator is not None
        evidence, baseline = self._prepare_answer(
            question, article_ids, date_from, date_to, generating=generating
        )
        if self._generator is None or not generating or not evidence:
            return baseline
        return self._generator.answer(question, evidence, baseline, history=history)

    def answer_stream(
        self,
        question: str,
        on_text: Callable[[str], None],
        *,
        history: list[tuple[str, str]] | None = None,
        article_ids: Sequence[str] | None = None,
    ) -> Answer:
        """:meth:`answer`, passing a generated answer's text to ``on_text`` as the model writes
        it (the whole text so far, each time it grows). That text is unchecked: what is returned
        is the checked answer or, when the checks fail, the extractive one. Without an LLM,
        ``on_text`` is never called."""
        evidence, baseline = self._prepare_answer(
            question, article_ids, None, None, generating=self._generator is not None
        )
        if self._generator is None or not evidence:
            return baseline
        text = ""
        for event in self._generator.stream(question, evidence, baseline, history=history):
            if isinstance(event, Answer):
                return event
            text += event
            on_text(text)
        raise AssertionError("a generator's stream ends with its answer")

    def search(
        self,
        question: str,
        k: int = 5,
        *,
        article_ids: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[Hit]:
        """The passages the answerer reads for a question, best first."""
        return self._search(analyse(question), k, article_ids, date_from, date_to)

    def _search(
        self,
        query: Query,
        k: int,
        article_ids: Sequence[str] | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
    ) -> list[Hit]:
        self.sync()
        return self.retriever.search(
            query.search_text,
            k=k,
            article_ids=article_ids,
            date_from=date_from,
            date_to=date_to,
            about=query.entities,
        )

    def _prepare_answer(
        self,
        question: str,
        article_ids: Sequence[str] | None,
        date_from: str | None,
        date_to: str | None,
        *,
        generating: bool,
    ) -> tuple[list[Evidence], Answer]:
        """The numbered evidence a generator would read, and the answer given without one.

        Figures, comparisons, lists and totals come exactly from the fact table; a generator
        then receives the facts' sentences as the first numbered passages, and the fact answer is
        its fallback. Anything the facts cannot answer goes to retrieval and the extractive
        answerer.
        """
        query = analyse(question)
        from_facts = None
        if article_ids is None and date_from is None and date_to is None:
            # Comparisons, totals, lists: the fact table first (it knows each figure's kind,
            # place and period); a comparison or total it cannot make is split into one
            # question per place for the extractive answerer.
            from_facts = self.facts_answerer.answer(question, query, figures=False)
            if from_facts is not None and not generating:
                return [], from_facts
            kind = is_multi(query)
            if from_facts is None and kind is not None and not generating:
                multi = answer_multi(
                    query,
                    kind,
                    self._answer_one,
                    lambda q, c: self.answerer.fact_scores(q, c.article_id, c.start, c.end),
                    lambda c, offset: self.answerer.fact_place(c.article_id, c.start + offset),
                )
                if multi is not None:
                    return [], multi
        hits = self._search(query, self.top_k, article_ids, date_from, date_to)
        evidence = evidence_from_hits(hits, self.store)
        if from_facts is None:
            return evidence, self.answerer.answer(query, evidence)
        facts_evidence = [
            Evidence(
                n=0,
                chunk_id=f"fact-{c.article_id}-{c.start}",
                article_id=c.article_id,
                title=c.title,
                date=c.date,
                origin=c.origin,
                text=c.quote,
                start=c.start,
                end=c.end,
                score=1.0,
                link=c.link,
                publisher=c.publisher,
            )
            for c in from_facts.citations
        ]
        rest = [
            e
            for e in evidence
            if not any(
                f.article_id == e.article_id and f.start >= e.start and f.end <= e.end
                for f in facts_evidence
            )
        ]
        merged = (facts_evidence + rest)[: max(self.top_k, len(facts_evidence))]
        return [replace(e, n=i) for i, e in enumerate(merged, start=1)], from_facts

    def _answer_one(self, query: Query) -> Answer:
        hits = self._search(query, self.top_k)
        return self.answerer.answer(query, evidence_from_hits(hits, self.store))

    def articles(self) -> list[ArticleInfo]:
        return self.store.articles()

    def stats(self) -> Stats:
        return self.store.stats()

    def passage(
        self, article_id: str, start: int, end: int, context_chars: int = 300
    ) -> Passage | None:
        article = self.store.get(article_id)
        if article is None or not 0 <= start <= end <= len(article.text):
            return None
        before = article.text[max(0, start - context_chars) : start]
        after = article.text[end : end + context_chars]
        return Passage(
            article_id=article.article_id,
            title=article.title,
            date=article.date,
            origin=article.origin,
            before=before,
            quote=article.text[start:end],
            after=after,
        )

    def example_questions(self, n: int = 3) -> list[str]:
        return example_questions(self.store, n)

    def explain(self, question: str, *, top: int = 5) -> dict[str, object]:
        """Why the extractive answerer answers or refuses: its best candidates with every
        feature and the probability (``tinbot ask --explain``)."""
        query = analyse(question)
        hits = self._search(query, self.top_k)
        return self.answerer.explain(query, evidence_from_hits(hits, self.store), top)
