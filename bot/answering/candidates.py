"""Candidate answers: the sentences of the retrieved passages, and of a short gap between two
passages of one article, with their articles split once into sentences (a sentence that
introduces a list carries its items)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

from bot.answering.signals import years_in
from bot.types import Evidence
from ingest.chunking import split_sentences
from ingest.lexicon import ORDINAL_ITEM_RE, SPELLED_OUT, SPELLED_OUT_RE, YEAR_RE
from ingest.vietnamese import WORD_RE, fold, keys, with_bigrams

LIST_MAX_CHARS = 900  # a list is quoted whole up to this size: its items are the answer
GAP_MAX_CHARS = 800  # text between two retrieved passages of an article read as candidates
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-+•*–]|\d{1,2}[.)]|[a-zđ][.)])\s+")
_LIST_CUE_RE = re.compile(
    r"\b(?:là|như|sau|sau đây|gồm|gồm có|bao gồm|cụ thể|trong đó)\s*:", re.IGNORECASE
)


@dataclass(frozen=True)
class WordText:
    """A long text as space-separated words, asked whether it holds a term ("kết" or the pair
    "kết_nạp"): for a whole article, cheaper than building the set of all its terms."""

    text: str  # words joined by single spaces, padded with a space at each end

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and f" {term.replace('_', ' ')} " in self.text


@dataclass(frozen=True)
class ArticleView:
    """An article split once into sentences, with what the features need of each."""

    article_id: str
    title: str
    date: str | None
    text: str
    spans: tuple[tuple[int, int], ...]
    paragraph: tuple[int, ...]  # paragraph number of each sentence
    title_exact: frozenset[str]
    title_folded: frozenset[str]
    article_exact: WordText  # the whole article, for terms found anywhere in it
    article_folded: WordText
    folded_words: str  # the whole article, folded, space-padded: for names
    years: frozenset[str]  # the publication year and the years in the title
    all_years: frozenset[str]  # every year the article mentions or covers ("2016-2020", "đến nay")
    # Terms of each sentence, computed when first asked for: a question reads a few sentences
    # of each article, and splitting all of a long one into terms costs more than answering.
    _cache: dict[int, tuple[frozenset[str], frozenset[str]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def exact_terms(self, index: int) -> frozenset[str]:
        return self._sentence_terms(index)[0]

    def folded_terms(self, index: int) -> frozenset[str]:
        return self._sentence_terms(index)[1]

    def _sentence_terms(self, index: int) -> tuple[frozenset[str], frozenset[str]]:
        found = self._cache.get(index)
        if found is None:
            start, end = self.spans[index]
            found = self._cache[index] = sentence_terms(self.text[start:end])
        return found

    def sentence_at(self, start: int) -> int | None:
        lo, hi = 0, len(self.spans)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.spans[mid][1] <= start:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self.spans) else None


def spell_out(text: str) -> str:
    """The text with its abbreviations written out ("ĐV" → "đảng viên")."""
    if SPELLED_OUT_RE.search(text):
        return SPELLED_OUT_RE.sub(lambda m: f" {SPELLED_OUT[m.group()]} ", text)
    return text


def sentence_terms(text: str) -> tuple[frozenset[str], frozenset[str]]:
    text = spell_out(text)
    syllables = keys(text)
    folded = WORD_RE.findall(fold(text))  # the same words, folded in one pass
    if len(folded) != len(syllables):
        folded = [fold(k) for k in syllables]
    return frozenset(with_bigrams(syllables)), frozenset(with_bigrams(folded))


def build_view(
    article_id: str, title: str, date: str | None, text: str, publisher: str | None = None
) -> ArticleView:
    """An article as the ranker reads it. The publisher's name counts among the article's words
    (not its sentences): "Báo Phú Thọ" places a report that never names its province."""
    spans = tuple(split_sentences(text))
    paragraph: list[int] = []
    number = 0
    for i, (start, _) in enumerate(spans):
        if i and "\n\n" in text[spans[i - 1][1] : start]:
            number += 1
        paragraph.append(number)
    lead = " ".join(text[s:e] for s, e in spans[:3])
    title_exact, title_folded = sentence_terms(f"{title} {lead}")
    article_exact = WordText(" " + " ".join(keys(f"{title}\n{publisher or ''}\n{text}")) + " ")
    article_folded = WordText(fold(article_exact.text))
    years = set(YEAR_RE.findall(title))
    if date:
        years.add(date[:4])
    all_years = years_in(f"{title}\n{text}", date) | years
    return ArticleView(
        article_id=article_id,
        title=title,
        date=date,
        text=text,
        spans=spans,
        paragraph=tuple(paragraph),
        title_exact=title_exact,
        title_folded=title_folded,
        article_exact=article_exact,
        article_folded=article_folded,
        folded_words=article_folded.text,
        years=frozenset(years),
        all_years=frozenset(all_years),
    )


@dataclass(frozen=True)
class Candidate:
    """A sentence (or a list's introduction with its items) that may answer."""

    evidence: Evidence  # the best-ranked passage holding it
    view: ArticleView
    index: int  # sentence number in the article
    last: int  # last sentence number it spans (a list runs over several)
    start: int  # offsets in the article
    end: int
    rank: int  # 1-based rank of that passage

    @property
    def text(self) -> str:
        return self.view.text[self.start : self.end]


def candidates(
    evidence: Sequence[Evidence], view_of: Callable[[Evidence], ArticleView | None]
) -> list[Candidate]:
    """The sentences of the retrieved passages, each once, with the rank of its best passage."""
    found: dict[tuple[str, int], Candidate] = {}
    for rank, ev in enumerate(evidence, start=1):
        view = view_of(ev)
        if view is None:
            continue
        for index, start, end in _sentences_within(view, ev.start, ev.end + 1):
            if (view.article_id, index) in found:
                continue
            last = _list_end(view, index) if introduces_list(view.text[start:end]) else index
            source = ev
            if view.spans[last][1] > ev.end:
                # A list runs past its passage: its items are the answer, so the quote (and
                # the citation, verbatim from the article) runs to the list's end.
                stop = view.spans[last][1]
                source = replace(ev, text=view.text[ev.start : stop], end=stop)
            found[(view.article_id, index)] = Candidate(
                source, view, index, last, start, view.spans[last][1], rank
            )
    _fill_gaps(evidence, view_of, found)
    return list(found.values())


def _sentences_within(view: ArticleView, lo: int, hi: int) -> Iterator[tuple[int, int, int]]:
    """(number, start, end) of the sentences from the one at ``lo`` that end by ``hi``, but
    for fragments too short to answer."""
    first = view.sentence_at(lo)
    if first is None:
        return
    for index in range(first, len(view.spans)):
        start, end = view.spans[index]
        if start >= hi:
            break
        if end <= hi and end - start >= 12:
            yield index, start, end


def _fill_gaps(
    evidence: Sequence[Evidence],
    view_of: Callable[[Evidence], ArticleView | None],
    found: dict[tuple[str, int], Candidate],
) -> None:
    """Sentences between two retrieved passages of one article, at most a passage apart:
    the article's part about the question ran over them and retrieval missed the middle. Each
    is cited from the passage before it, extended to the sentence, at the worse of the two
    ranks."""
    by_article: dict[str, list[tuple[int, Evidence]]] = {}
    for rank, ev in enumerate(evidence, start=1):
        by_article.setdefault(ev.article_id, []).append((rank, ev))
    for passages in by_article.values():
        if len(passages) < 2:
            continue
        passages.sort(key=lambda item: item[1].start)
        view = view_of(passages[0][1])
        if view is None:
            continue
        for (rank_a, a), (rank_b, b) in itertools.pairwise(passages):
            if not 0 < b.start - a.end <= GAP_MAX_CHARS:
                continue
            for index, start, end in _sentences_within(view, a.end, b.start):
                if start < a.end or (view.article_id, index) in found:
                    continue
                source = replace(a, text=view.text[a.start : end], end=end)
                found[(view.article_id, index)] = Candidate(
                    source, view, index, index, start, end, max(rank_a, rank_b)
                )


def introduces_list(sentence: str) -> bool:
    """ "… gồm:", "… hạn chế, đó là: A. B." — a sentence whose answer is the list after it. A
    bare "Huyện Tuần Giáo, tỉnh Điện Biên:" is a headline's kicker, not a list."""
    if _LIST_CUE_RE.search(sentence):
        return True
    return sentence.rstrip().endswith(":") and len(sentence) > 60


def _list_end(view: ArticleView, index: int) -> int:
    """The last sentence of the list that the sentence at ``index`` introduces."""
    start = view.spans[index][0]
    last = index
    for j in range(index + 1, len(view.spans)):
        s, e = view.spans[j]
        same_paragraph = view.paragraph[j] == view.paragraph[index]
        line = view.text[s:e]
        item = bool(_LIST_ITEM_RE.match(line) or ORDINAL_ITEM_RE.match(line))
        if not (same_paragraph or item) or e - start > LIST_MAX_CHARS:
            break
        last = j
    return last
