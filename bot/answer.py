"""The extractive answerer: quote the sentences of the retrieved passages that answer the question.

No model and no network: every sentence of the top passages is scored by how much of the
question's content it covers (weighted by how rare each term is in the corpus), with credit for the
passage's title and neighbouring text (which often name the place and period), a bonus when a
figure question meets a sentence carrying a figure, and the retrieval score. The answer refuses when
even the best sentence covers too little of the question, or when a place or name in the question
appears nowhere in the article the sentence comes from.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.chunking import split_sentences

from bot.query import YEAR_RE, Query, analyse
from bot.types import REFUSAL_EN, REFUSAL_VI, Answer, Citation, Evidence
from index.lexical import query_terms
from ingest.vietnamese import fold, keys, with_bigrams

if TYPE_CHECKING:
    from index.lexical import LexicalIndex
    from index.retrieve import Hit
    from index.store import ArticleStore

_DATE_RE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*\s*%?")

MIN_COVERAGE = 0.5  # share of the question's weighted terms the answer must cover
SECOND_SENTENCE_RATIO = 0.85  # quote a second sentence only when nearly as good as the first
MAX_QUOTES = 2


@dataclass(frozen=True)
class ScoredSentence:
    evidence: Evidence
    start: int  # offsets in the article
    end: int
    text: str
    score: float
    coverage: float


def figures(text: str) -> list[str]:
    """Numbers in a sentence that are counts or shares, not dates or years."""
    stripped = _DATE_RE.sub(" ", text)
    return [
        m.group().strip()
        for m in _NUMBER_RE.finditer(stripped)
        if not YEAR_RE.fullmatch(m.group().strip())
    ]


def _terms(text: str) -> set[str]:
    return set(with_bigrams([fold(k) for k in keys(text)]))


class ExtractiveAnswerer:
    def __init__(self, lexical: LexicalIndex | None = None) -> None:
        self.lexical = lexical

    def _weights(self, terms: list[str]) -> dict[str, float]:
        """Inverse document frequency of each folded question term in the whole corpus."""
        if self.lexical is None:
            return dict.fromkeys(terms, 1.0)
        total = max(1, self.lexical.count())
        freqs = self.lexical.doc_freqs(terms)
        weights: dict[str, float] = {}
        for term in terms:
            idf = math.log(1 + total / (1 + freqs[term]))
            # Pairs like "đảng_viên" or "kết_nạp" carry more meaning than either syllable.
            weights[term] = idf * (1.5 if "_" in term else 1.0)
        return weights

    def answer(self, question: str, evidence: Sequence[Evidence]) -> Answer:
        query = analyse(question)
        ranked = self.rank_sentences(query, evidence)
        if not ranked or not self._supported(query, ranked[0]):
            return self.refusal(question, query)
        chosen = [ranked[0]]
        for candidate in ranked[1:]:
            if len(chosen) >= MAX_QUOTES:
                break
            if candidate.score < SECOND_SENTENCE_RATIO * ranked[0].score:
                break
            if any(_overlaps(candidate, c) for c in chosen) or not self._supported(
                query, candidate
            ):
                continue
            chosen.append(candidate)
        return self._compose(question, query, chosen)

    def refusal(self, question: str, query: Query | None = None) -> Answer:
        query = query or analyse(question)
        text = REFUSAL_EN if query.language == "en" else REFUSAL_VI
        return Answer(question=question, text=text, refused=True, language=query.language)

    def rank_sentences(self, query: Query, evidence: Sequence[Evidence]) -> list[ScoredSentence]:
        # An English question is matched through its Vietnamese glossary terms.
        _, folded_terms = query_terms(query.search_text)
        if not folded_terms:
            return []
        weights = self._weights(folded_terms)
        total = sum(weights.values()) or 1.0
        scored: list[ScoredSentence] = []
        for ev in evidence:
            title_terms = _terms(ev.title)
            passage_terms = _terms(ev.text)
            for start, end in split_sentences(ev.text):
                sentence = ev.text[start:end]
                if len(sentence) < 20:
                    continue
                terms = _terms(sentence)
                covered = 0.0
                for term, weight in weights.items():
                    if term in terms:
                        covered += weight
                    elif term in title_terms:
                        covered += 0.7 * weight
                    elif term in passage_terms:
                        covered += 0.4 * weight
                coverage = covered / total
                score = coverage + 0.3 * ev.score
                found = figures(sentence)
                if query.wants_figure:
                    score += 0.25 if found else -0.2
                    if query.wants_percent and any(f.endswith("%") for f in found):
                        score += 0.1
                for year in query.years:
                    if year in sentence:
                        score += 0.1
                scored.append(
                    ScoredSentence(ev, ev.start + start, ev.start + end, sentence, score, coverage)
                )
        scored.sort(key=lambda s: (-s.score, s.evidence.n, s.start))
        return scored

    @staticmethod
    def _supported(query: Query, sentence: ScoredSentence) -> bool:
        if sentence.coverage < MIN_COVERAGE:
            return False
        if query.wants_figure and not figures(sentence.text):
            return False
        # A place or person the question names must be what the article is about.
        context = fold(f"{sentence.evidence.title} {sentence.evidence.text}")
        return all(entity in context for entity in query.entities)

    @staticmethod
    def _compose(question: str, query: Query, chosen: list[ScoredSentence]) -> Answer:
        # Quote in reading order within an article, article order by relevance.
        citations: list[Citation] = []
        lines: list[str] = []
        for n, sentence in enumerate(chosen, start=1):
            ev = sentence.evidence
            citations.append(
                Citation(
                    n=n,
                    article_id=ev.article_id,
                    title=ev.title,
                    date=ev.date,
                    origin=ev.origin,
                    quote=sentence.text,
                    start=sentence.start,
                    end=sentence.end,
                )
            )
            lines.append(f"“{sentence.text}” [{n}]")
        lead = (
            "From the articles (quoted in Vietnamese):"
            if query.language == "en"
            else "Theo các bài viết đã nạp:"
        )
        return Answer(
            question=question,
            text=lead + "\n" + "\n".join(lines),
            refused=False,
            citations=citations,
            language=query.language,
        )

    @staticmethod
    def example_questions(store: ArticleStore, n: int = 3) -> list[str]:
        """Questions the corpus can answer, built from article titles' places."""
        examples: list[str] = []
        place_re = re.compile(
            r"(?:huyện|thành phố|TP\.|tỉnh|phường|xã|Khối các cơ quan tỉnh)\s+"
            r"((?:[A-ZĐÂĂÊÔƠƯ][^\s,.:;]*\s?){1,3})"
        )
        for info in store.articles():
            match = place_re.search(info.title)
            if match:
                examples.append(f"{match.group(1).strip()} kết nạp được bao nhiêu đảng viên?")
            if len(examples) >= n:
                break
        if len(examples) < n:
            examples.append("Công tác tạo nguồn phát triển đảng viên được thực hiện thế nào?")
        return examples[:n]


def _overlaps(a: ScoredSentence, b: ScoredSentence) -> bool:
    return a.evidence.article_id == b.evidence.article_id and a.start < b.end and b.start < a.end


def evidence_from_hits(hits: Sequence[Hit], store: ArticleStore) -> list[Evidence]:
    evidence: list[Evidence] = []
    articles = {}
    for n, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        if chunk.article_id not in articles:
            articles[chunk.article_id] = store.get(chunk.article_id)
        article = articles[chunk.article_id]
        if article is None:
            continue
        evidence.append(
            Evidence(
                n=n,
                chunk_id=chunk.chunk_id,
                article_id=article.article_id,
                title=article.title,
                date=article.date,
                origin=article.origin,
                text=chunk.text,
                start=chunk.start,
                end=chunk.end,
                score=hit.score,
            )
        )
    return evidence
