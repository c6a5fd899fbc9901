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

from bot.query import YEAR_RE, Query, analyse, boundary_pairs
from bot.types import REFUSAL_EN, REFUSAL_VI, Answer, Citation, Evidence
from index.lexical import STOPWORDS, query_terms
from ingest.chunking import split_sentences
from ingest.vietnamese import fold, keys, with_bigrams

if TYPE_CHECKING:
    from index.lexical import LexicalIndex
    from index.retrieve import Hit
    from index.store import ArticleStore, StoredChunk
    from ingest.models import Article, Chunk

_DATE_RE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*\s*%?")

_LIST_INTRO_RE = re.compile(r"(?:là|như|sau|gồm)\s*:\s*\S|:$")
_TARGET_RE = re.compile(r"\b(?:(?:dat ra|de ra|giao) (?:muc tieu|chi tieu)|phan dau|du kien)\b")
_TOTAL_RE = re.compile(r"\btong (?:cong|so)\b")

MIN_COVERAGE = 0.35  # share of the question's weighted terms the answer must cover
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


def _terms(text: str, exact: bool) -> set[str]:
    syllables = keys(text)
    return set(with_bigrams(syllables if exact else [fold(k) for k in syllables]))


class ExtractiveAnswerer:
    def __init__(
        self, lexical: LexicalIndex | None = None, store: ArticleStore | None = None
    ) -> None:
        self.lexical = lexical
        self.store = store
        self._folded_articles: dict[tuple[str, str], str] = {}
        self._article_term_cache: dict[tuple[str, str, bool], set[str]] = {}

    def _article_text(self, ev: Evidence) -> str:
        """The whole article, or a stand-in where only the passage is known (no store)."""
        article = self.store.get(ev.article_id) if self.store is not None else None
        if article is not None and article.text[ev.start : ev.end] == ev.text:
            return article.text
        return " " * ev.start + ev.text

    def _article_context(self, ev: Evidence) -> str:
        """Folded title and full text of the evidence's article, for the entity check."""
        if self.store is None:
            return _folded_words(f"{ev.title} {ev.text}")
        article = self.store.get(ev.article_id)
        if article is None:
            return _folded_words(f"{ev.title} {ev.text}")
        cache_key = (article.article_id, article.content_hash)
        if cache_key not in self._folded_articles:
            if len(self._folded_articles) > 256:
                self._folded_articles.clear()
            self._folded_articles[cache_key] = _folded_words(f"{article.title} {article.text}")
        return self._folded_articles[cache_key]

    def _article_terms(self, ev: Evidence, exact: bool) -> set[str]:
        """Terms of the evidence's whole article: what the article as a whole is about backs a
        sentence that does not repeat it ("thành phố" in a story about Lai Châu)."""
        article = self.store.get(ev.article_id) if self.store is not None else None
        if article is None:
            return _terms(ev.text, exact)
        cache_key = (article.article_id, article.content_hash, exact)
        if cache_key not in self._article_term_cache:
            if len(self._article_term_cache) > 256:
                self._article_term_cache.clear()
            self._article_term_cache[cache_key] = _terms(article.text, exact)
        return self._article_term_cache[cache_key]

    def _weights(
        self, terms: list[str], exact: bool, *, drop_unknown: bool = False
    ) -> dict[str, float]:
        """Inverse document frequency of each question term in the whole corpus."""
        if self.lexical is None:
            return dict.fromkeys(terms, 1.0)
        total = max(1, self.lexical.count())
        freqs = self.lexical.doc_freqs(terms, column="exact" if exact else "folded")
        weights: dict[str, float] = {}
        for term in terms:
            if freqs[term] == 0 and drop_unknown:
                # An English word the glossary did not translate says nothing either way.
                continue
            if (
                freqs[term] == 0
                and "_" in term
                and any(fold(part) in STOPWORDS for part in term.split("_"))
            ):
                # A pair with a function word that the corpus never contains ("thành có") is an
                # artefact of the question's wording, not a missing piece of the answer; a pair
                # of content words it never contains ("chủ tịch") is.
                continue
            idf = math.log(1 + total / (1 + freqs[term]))
            # Pairs like "đảng_viên" or "kết_nạp" carry more meaning than either syllable.
            weights[term] = idf * (1.5 if "_" in term else 1.0)
        return weights

    def answer(self, question: str, evidence: Sequence[Evidence]) -> Answer:
        query = analyse(question)
        # A sentence from an article about another place than the one asked cannot answer,
        # however well its words match; the best of the rest must stand on its own.
        about = {ev.article_id for ev in evidence if self._about(query, ev)}
        ranked = [s for s in self.rank_sentences(query, evidence) if s.evidence.article_id in about]
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
        # An English question is matched through its Vietnamese glossary terms. An accented
        # question is matched on its exact words: folded, "Chủ tịch" would find "chủ trương …
        # tích cực".
        exact = query.accented
        exact_terms, folded_terms = query_terms(query.search_text)
        terms = exact_terms if exact else folded_terms
        if not terms:
            return []
        junk = boundary_pairs(query.search_text)
        terms = [t for t in terms if t not in junk]
        weights = self._weights(terms, exact, drop_unknown=query.language == "en")
        if not weights:
            return []
        total = sum(weights.values()) or 1.0
        scored: list[ScoredSentence] = []
        for ev in evidence:
            title_terms = _terms(ev.title, exact)
            passage_terms = self._article_terms(ev, exact)
            for start, end in split_sentences(ev.text):
                sentence = ev.text[start:end]
                if len(sentence) < 20:
                    continue
                sentence_terms = _terms(sentence, exact)
                covered = 0.0
                for term, weight in weights.items():
                    if term in sentence_terms:
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
                    if query.wants_percent:
                        score += 0.1 if any(f.endswith("%") for f in found) else -0.15
                folded = fold(sentence)
                folded_words = [fold(k) for k in keys(sentence)]
                if query.head and any(
                    re.search(r"\d(?:[\d.,]*\d)?\s*(?:%\s*)?" + re.escape(head), folded)
                    for head in _head_variants(query)
                ):
                    # The figure counts what was asked for: "470 đảng viên", "2 - 3 lớp".
                    score += 0.15
                if query.focus and f" {query.focus} " in f" {' '.join(folded_words)} ":
                    # The thing a "what …" question asks about: "khó khăn gì", "giải pháp nào".
                    score += 0.15
                if query.wants_figure and not query.asks_target and _TARGET_RE.search(folded):
                    # "đặt ra mục tiêu … kết nạp 150 đảng viên/năm" is a plan; the question
                    # asks what was achieved.
                    score -= 0.1
                if query.wants_total:
                    if _TOTAL_RE.search(folded):
                        score += 0.15
                    if "ket nap" in folded or "phan dau" in folded:
                        # Asked how many members there are, not how many were admitted.
                        score -= 0.15
                if query.years:
                    sentence_years = set(YEAR_RE.findall(sentence))
                    if sentence_years & set(query.years):
                        score += 0.1
                    elif sentence_years:
                        # Explicitly about another year than the one asked.
                        score -= 0.2
                abs_start, abs_end = ev.start + start, ev.start + end
                if not query.wants_figure and _LIST_INTRO_RE.search(sentence):
                    # "…hạn chế, đó là: A. B. C." — the answer is the list that follows,
                    # possibly past the end of this passage.
                    text = self._article_text(ev)
                    abs_end = _extend_list(text, abs_start, abs_end)
                    sentence = text[abs_start:abs_end]
                scored.append(ScoredSentence(ev, abs_start, abs_end, sentence, score, coverage))
        scored.sort(key=lambda s: (-s.score, s.evidence.n, s.start))
        return scored

    def _supported(self, query: Query, sentence: ScoredSentence) -> bool:
        if sentence.coverage < MIN_COVERAGE:
            return False
        return not (query.wants_figure and not figures(sentence.text))

    def _about(self, query: Query, ev: Evidence) -> bool:
        """A place or person the question names must be what the evidence's article is about;
        checked once per article, not per sentence (each check reads the whole article)."""
        if not query.entities:
            return True
        context = self._article_context(ev)
        return all(f" {entity} " in context for entity in query.entities)

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


def _head_variants(query: Query) -> tuple[str, ...]:
    assert query.head is not None
    if query.head.startswith("dang vien") and " ket nap " in f" {fold(query.search_text)} ":
        # Those admitted are counted as "quần chúng (ưu tú)" joining the party.
        return (query.head, "quan chung")
    return (query.head,)


def _extend_list(text: str, start: int, end: int, max_chars: int = 500) -> int:
    """End of the sentences that continue a list introduced at ``text[start:end]``, within the
    same paragraph and up to about ``max_chars``."""
    paragraph_end = text.find("\n", end)
    limit = len(text) if paragraph_end == -1 else paragraph_end
    for _, s_end in split_sentences(text[end:limit]):
        if end + s_end - start > max_chars:
            break
        new_end = end + s_end
    return new_end if "new_end" in locals() else end


def _folded_words(text: str) -> str:
    """Folded words joined by single spaces and padded, so names match as whole words."""
    return " " + " ".join(fold(k) for k in keys(text)) + " "


def _overlaps(a: ScoredSentence, b: ScoredSentence) -> bool:
    return a.evidence.article_id == b.evidence.article_id and a.start < b.end and b.start < a.end


def evidence_of(
    n: int,
    article: Article,
    chunk: Chunk | StoredChunk,
    score: float = 0.0,
    lexical: float = 0.0,
    similarity: float = 0.0,
) -> Evidence:
    """Passage ``n`` of the evidence an answerer reads: the chunk with its article's details."""
    return Evidence(
        n=n,
        chunk_id=chunk.chunk_id,
        article_id=article.article_id,
        title=article.title,
        date=article.date,
        origin=article.origin,
        text=chunk.text,
        start=chunk.start,
        end=chunk.end,
        score=score,
        lexical=lexical,
        similarity=similarity,
        link=article.extra.get("url"),
    )


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
        evidence.append(evidence_of(n, article, chunk, hit.score, hit.lexical, hit.similarity))
    return evidence
