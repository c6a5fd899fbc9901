"""Candidate sentences of the retrieved passages and the features the answer ranker scores.

A candidate is a sentence of an article that one of the top passages contains (a sentence that
introduces a list carries the list with it). Each candidate gets a vector of general signals —
how much of the question it covers (weighted by term rarity, exact and folded, alone and with
its title, lead and neighbours), how well retrieval ranked its passage, whether it holds the kind
of answer asked for (a figure with the counted noun, a share, a date, a person, a document
number, a place), whether its period and place match the question, where it sits in the article.
The weights that turn the vector into a score are fitted on data (``bot.answering.fit``), not set
by hand; this module only measures.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.answering.fact_question import exact_match, question_spec, score_fact, years_overlap
from bot.answering.question import Query, boundary_pairs
from bot.types import Evidence
from index.lexical import STOPWORDS, query_terms
from ingest.chunking import split_sentences
from ingest.facts import Fact
from ingest.lexicon import (
    DOCUMENT_RE,
    PERSON_CUES,
    PLACE_CUES,
    SINCE_RE,
    SURNAMES,
    TARGET_SENTENCE_RE,
    YEAR_RE,
    YEAR_SPAN_RE,
)
from ingest.numbers import Number, find_numbers
from ingest.vietnamese import WORD_RE, fold, is_accented, key, keys, with_bigrams

# Names of the features, in the order of the vectors ``featurize`` returns.
FEATURES: tuple[str, ...] = (
    "cover",  # IDF-weighted share of the question's terms the sentence holds
    "cover_folded",  # the same without diacritics
    "cover_pairs",  # share of the question's word pairs the sentence holds
    "cover_slot",  # share of the words around the question word ("bao nhiêu học viên")
    "slot_context",  # … found in the sentence, its neighbours or its article's title and lead
    "figure_context",  # best coverage of the question within a few words of one of its figures
    "cover_context",  # … the sentence with its neighbours and the article's title
    "cover_title",  # … the article's title and lead
    "cover_article",  # … anywhere in the article
    "cover_best",  # cover relative to the best candidate's
    "missing_rare",  # weight of the rarest question term found nowhere near the sentence
    "rank",  # 1 / rank of the best passage holding the sentence
    "passage_score",  # the passage's fused retrieval score
    "passage_dense",  # the passage's cosine similarity minus the best passage's
    "passage_lexical",  # the passage's normalised BM25
    "top_article",  # the sentence is from the best passage's article
    "article_share",  # share of the retrieved passages from the sentence's article
    "has_asked",  # holds the kind of answer asked (figure, share, date, person, …)
    "lacks_asked",  # a checkable kind was asked and the sentence holds none
    "head_match",  # share of the counted noun ("đảng viên mới") that follows one of its figures
    "stock_match",  # a stock is asked ("có bao nhiêu") and a figure is one ("tổng cộng 5.279")
    "flow_for_stock",  # a stock is asked and its figures are admissions or plans
    "stated_number",  # holds a number the question itself gives
    "figures",  # how many figures the sentence holds (capped)
    "year_match",  # holds a year the question asks about
    "year_other",  # names years, none of them asked
    "year_article",  # an asked year is the article's (date, title) though not the sentence's
    "year_absent",  # years are asked and the article mentions none of them anywhere
    "target_match",  # a plan or quota, asked about
    "target_mismatch",  # a plan or quota, while results are asked
    "entity_sentence",  # share of the question's names in the sentence
    "entity_article",  # share of the question's names in the article
    "place_article",  # share of the places the question names with their level in the article
    "focus",  # holds the noun a "what …" question asks about ("khó khăn", "giải pháp")
    "position",  # where in the article (0 = start)
    "lead",  # one of the article's first three sentences
    "length",  # characters, scaled
    "short",  # under 40 characters: a heading or a caption
    "heading",  # a line without a sentence's closing punctuation: a title or a heading
    "asked_in_context",  # holds the asked kind, in a passage about the question
    "cover_before",  # coverage of the two sentences before it (an answer often follows its intro)
    "asked_after_intro",  # holds the asked kind right after sentences about the question
    "asked_slot",  # holds the asked kind and the words around the question word
    "dated_lead",  # opens with a date ("Ngày 03/02, tại …"): a news lead, the event not the answer
    "fact_match",  # best match of one of its figures to the asked measure (fact table), scaled
    "fact_exact",  # one of its figures is exactly what is asked: kind, part, measure, period
    "fact_kind_mismatch",  # the question asks a kind of figure; none of its figures is that kind
    "fact_period_mismatch",  # its figures of the asked kind are of another period than asked
    "fact_target_mismatch",  # its figures of the asked kind are plans where results are asked
    "list_intro",  # introduces a list ("… gồm:")
    "practice_length",  # length, for how/what-measures questions
    "caption",  # a photo caption
    "question_mark",  # itself a question (a heading that asks what the article answers)
    "novelty",  # share of its words the question does not use: an answer adds something
)
INDEX = {name: i for i, name in enumerate(FEATURES)}

# Checkable kinds of answer: a sentence either holds one or does not.
CHECKABLE = frozenset({"count", "share", "date", "year", "person", "document"})
LIST_MAX_CHARS = 500
_DATE_RE = re.compile(
    r"\b\d{1,2}\s*[/.-]\s*\d{1,2}(?:\s*[/.-]\s*\d{2,4})?\b|\bngày\s+\d{1,2}\b|\btháng\s+\d{1,2}\b",
    re.IGNORECASE,
)
_TOKEN_RE = re.compile(r"[^\W_]+(?:/[^\W_]+)?|[^\w\s]")
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-+•*–]|\d{1,2}[.)]|[a-zđ][.)])\s+")
_DATED_LEAD_RE = re.compile(
    r"^\W*(?:(?:sáng|chiều|tối|trưa|đêm)\s+)?(?:(?:ngày|hôm)\s+)?\d{1,2}\s*[/.-]\s*\d{1,2}\b", re.I
)
_LIST_CUE_RE = re.compile(
    r"\b(?:là|như|sau|sau đây|gồm|gồm có|bao gồm|cụ thể|trong đó)\s*:", re.IGNORECASE
)
_CAPTION_RE = re.compile(r"^\s*\(?(?:ảnh|anh|photo)\s*[:.)]", re.IGNORECASE)


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
    _terms: dict[int, tuple[frozenset[str], frozenset[str]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def exact_terms(self, index: int) -> frozenset[str]:
        return self._sentence_terms(index)[0]

    def folded_terms(self, index: int) -> frozenset[str]:
        return self._sentence_terms(index)[1]

    def _sentence_terms(self, index: int) -> tuple[frozenset[str], frozenset[str]]:
        found = self._terms.get(index)
        if found is None:
            start, end = self.spans[index]
            found = self._terms[index] = _terms(self.text[start:end])
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


def _terms(text: str) -> tuple[frozenset[str], frozenset[str]]:
    syllables = keys(text)
    folded = WORD_RE.findall(fold(text))  # the same words, folded in one pass
    if len(folded) != len(syllables):
        folded = [fold(k) for k in syllables]
    return frozenset(with_bigrams(syllables)), frozenset(with_bigrams(folded))


def build_view(article_id: str, title: str, date: str | None, text: str) -> ArticleView:
    spans = tuple(split_sentences(text))
    paragraph: list[int] = []
    number = 0
    for i, (start, _) in enumerate(spans):
        if i and "\n\n" in text[spans[i - 1][1] : start]:
            number += 1
        paragraph.append(number)
    lead = " ".join(text[s:e] for s, e in spans[:3])
    title_exact, title_folded = _terms(f"{title} {lead}")
    article_exact = WordText(" " + " ".join(keys(f"{title}\n{text}")) + " ")
    article_folded = WordText(fold(article_exact.text))
    years = set(YEAR_RE.findall(title))
    if date:
        years.add(date[:4])
    all_years = _years(f"{title}\n{text}", date) | years
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
        first = view.sentence_at(ev.start)
        if first is None:
            continue
        for index in range(first, len(view.spans)):
            start, end = view.spans[index]
            if start >= ev.end:
                break
            if end > ev.end + 1 or (view.article_id, index) in found:
                continue
            if end - start < 12:
                continue
            last = _list_end(view, index) if introduces_list(view.text[start:end]) else index
            found[(view.article_id, index)] = Candidate(
                ev, view, index, last, start, view.spans[last][1], rank
            )
    return list(found.values())


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
        item = bool(_LIST_ITEM_RE.match(view.text[s:e]))
        if not (same_paragraph or item) or e - start > LIST_MAX_CHARS:
            break
        last = j
    return last


@dataclass
class QuestionTerms:
    """The question's content terms with their weights (IDF), exact or folded."""

    exact: bool
    weights: dict[str, float]
    folded_weights: dict[str, float]
    total: float = field(init=False)
    folded_total: float = field(init=False)
    pair_total: float = field(init=False)

    def __post_init__(self) -> None:
        self.total = sum(self.weights.values()) or 1.0
        self.folded_total = sum(self.folded_weights.values()) or 1.0
        self.pair_total = sum(w for t, w in self.weights.items() if "_" in t) or 1.0


def question_terms(
    query: Query, doc_freq: Callable[[list[str], bool], dict[str, int]], passages: int
) -> QuestionTerms:
    """Weights of the question's terms: rarer in the corpus weighs more, pairs of syllables
    more than syllables. Terms the corpus never holds say nothing when they are a question's
    artefact (an untranslated English word, a pair straddling a name's edge)."""
    exact_terms, folded_terms = query_terms(query.search_text)
    junk = boundary_pairs(query.search_text) | straddling_pairs(query)

    def weigh(terms: list[str], exact: bool) -> dict[str, float]:
        terms = [t for t in terms if t not in junk]
        freqs = doc_freq(terms, exact)
        weights: dict[str, float] = {}
        untranslated: list[str] = []
        for term in terms:
            if freqs.get(term, 0) == 0 and (
                query.language == "en"
                or ("_" in term and any(fold(p) in STOPWORDS for p in term.split("_")))
            ):
                if query.language == "en" and "_" not in term and not term.isdigit():
                    untranslated.append(term)
                continue
            idf = math.log(1 + passages / (1 + freqs.get(term, 0)))
            weights[term] = idf * (1.5 if "_" in term else 1.0)
        if untranslated and weights:
            # An English word the glossary does not know ("gold", "price") is a part of the
            # question no article was found to hold: it counts as missing, at an average
            # word's weight, instead of vanishing and leaving "Hà Nội" to cover it all.
            average = sum(weights.values()) / len(weights)
            weights.update({f"?{t}": average for t in untranslated})
        return weights

    exact = query.accented and query.language == "vi"
    folded_weights = weigh(folded_terms, False)
    return QuestionTerms(
        exact=exact,
        weights=weigh(exact_terms, True) if exact else folded_weights,
        folded_weights=folded_weights,
    )


def straddling_pairs(query: Query) -> set[str]:
    """Word pairs of the question that are no phrase: across punctuation ("Sơn Động (Bắc Giang)"
    → "động_bắc"), and in an English question between a translated Vietnamese term and an
    English word or another term ("học sinh sinh viên" + "viên"), where only pairs inside one
    translation or one name mean anything."""
    text = query.search_text
    matches = list(WORD_RE.finditer(text))
    english = query.language == "en"
    pairs: set[str] = set()
    for a, b in itertools.pairwise(matches):
        gap = text[a.end() : b.start()]
        broken = bool(gap.strip())
        if english and not broken:
            both_vietnamese = is_accented(a.group()) and is_accented(b.group())
            both_name = a.group()[:1].isupper() and b.group()[:1].isupper()
            broken = not (both_vietnamese or both_name)
        if broken:
            ka, kb = key(a.group()), key(b.group())
            pairs.update({f"{ka}_{kb}", f"{fold(ka)}_{fold(kb)}"})
    return pairs


def _cover(weights: dict[str, float], total: float, *term_sets: Container[str]) -> float:
    if len(term_sets) == 1:
        only = term_sets[0]
        return sum(w for t, w in weights.items() if t in only) / total
    return sum(w for t, w in weights.items() if any(t in s for s in term_sets)) / total


@lru_cache(maxsize=8192)
def _sentence_facts(text: str) -> tuple[bool, bool, bool, bool, bool, bool, int, tuple[str, ...]]:
    """(count, share, date, year, person, document, figures, folded units) found in a text."""
    numbers = _numbers(text)
    counts = [n for n in numbers if n.measure != "percent"]
    shares = [n for n in numbers if n.measure == "percent"]
    units = tuple(fold(n.unit) for n in counts if n.unit)
    return (
        bool(counts),
        bool(shares),
        bool(_DATE_RE.search(text)),
        bool(YEAR_RE.search(text)),
        _has_person(text),
        bool(DOCUMENT_RE.search(text)),
        len(numbers),
        units,
    )


def _capital_runs(text: str) -> list[tuple[str, list[re.Match[str]]]]:
    """Runs of capitalised words, each with the lower-case word (or two) before it."""
    tokens = list(_TOKEN_RE.finditer(text))
    runs: list[tuple[str, list[re.Match[str]]]] = []
    run: list[re.Match[str]] = []
    for i, token in enumerate([*tokens, None]):
        if token is not None and token.group()[:1].isupper() and token.group()[:1].isalpha():
            run.append(token)
            continue
        if run:
            first = i - len(run)
            before = [key(t.group()) for t in tokens[max(0, first - 2) : first]]
            runs.append(("_".join(before), run))
            run = []
    return runs


def person_names(text: str) -> list[tuple[int, int]]:
    """Spans of capitalised runs of two to five syllables that read as a person's name: after
    (or starting with) "đồng chí", "ông", "chị" …, or starting with a common family name where
    no place word comes before it. A title word at the run's start is not part of the name."""
    found: list[tuple[int, int]] = []
    for before, run in _capital_runs(text):
        words = [key(t.group()) for t in run]
        cue = before.rsplit("_", 1)[-1] if before else ""
        start = 0
        while start < len(words) - 1 and (
            words[start] in PERSON_CUES or "_".join(words[start : start + 2]) in PERSON_CUES
        ):
            start += 2 if "_".join(words[start : start + 2]) in PERSON_CUES else 1
        name = run[start : start + 5]
        if len(name) < 2:
            continue
        named = start > 0 or cue in PERSON_CUES or before in PERSON_CUES
        if named or (fold(words[start]) in SURNAMES and fold(cue) not in PLACE_CUES):
            found.append((name[0].start(), name[-1].end()))
    return found


def _has_person(text: str) -> bool:
    return bool(person_names(text))


def _years(text: str, date: str | None = None) -> set[str]:
    """Years a text names or covers: "2016-2020" covers each year between, "từ năm 2017 đến nay"
    every year up to the publication date."""
    years = set(YEAR_RE.findall(text))
    for a, b in YEAR_SPAN_RE.findall(text):
        if int(a) < int(b) <= int(a) + 20:
            years.update(str(y) for y in range(int(a), int(b) + 1))
    if date:
        for a in SINCE_RE.findall(fold(text)):
            if int(a) <= int(date[:4]) <= int(a) + 20:
                years.update(str(y) for y in range(int(a), int(date[:4]) + 1))
    return years


def featurize(
    query: Query,
    terms: QuestionTerms,
    cands: Sequence[Candidate],
    facts_of: Callable[[str], Sequence[Fact]] | None = None,
) -> list[list[float]]:
    """One feature vector per candidate, in the order of ``FEATURES``. ``facts_of`` gives an
    article's figures from the fact table (none: the fact features stay 0)."""
    if not cands:
        return []
    spec = question_spec(query)
    sentence_facts: dict[tuple[str, int], list[Fact]] = {}
    if facts_of is not None:
        for article_id in {c.view.article_id for c in cands}:
            for fact in facts_of(article_id):
                sentence_facts.setdefault((article_id, fact.start), []).append(fact)
    asked = set(query.answer_types)
    checkable = asked & CHECKABLE
    folded_q = f" {' '.join(fold(k) for k in keys(query.search_text))} "
    head = query.head if query.head and query.head != "%" else None
    asked_years = set(query.years)
    best_dense = max(c.evidence.score for c in cands)
    best_similarity = max(_similarity(c.evidence) for c in cands)
    passages = {c.evidence.chunk_id: c.evidence.article_id for c in cands}
    per_article: dict[str, int] = {}
    for article_id in passages.values():
        per_article[article_id] = per_article.get(article_id, 0) + 1
    top_article = min(cands, key=lambda c: c.rank).view.article_id
    rarest = sorted(terms.folded_weights.items(), key=lambda item: -item[1])
    rows: list[list[float]] = []
    covers: list[float] = []
    for c in cands:
        view = c.view
        text = c.text
        sentence_sets = range(c.index, c.last + 1)
        if terms.exact:
            own = frozenset().union(*(view.exact_terms(i) for i in sentence_sets))
            near = frozenset().union(
                *(
                    view.exact_terms(i)
                    for i in range(max(0, c.index - 2), min(len(view.spans), c.last + 3))
                )
            )
            title, article = view.title_exact, view.article_exact
        else:
            own = frozenset().union(*(view.folded_terms(i) for i in sentence_sets))
            near = frozenset().union(
                *(
                    view.folded_terms(i)
                    for i in range(max(0, c.index - 2), min(len(view.spans), c.last + 3))
                )
            )
            title, article = view.title_folded, view.article_folded
        own_folded = frozenset().union(*(view.folded_terms(i) for i in sentence_sets))
        near_folded = frozenset().union(
            *(
                view.folded_terms(i)
                for i in range(max(0, c.index - 2), min(len(view.spans), c.last + 3))
            )
        )
        cover = _cover(terms.weights, terms.total, own)
        covers.append(cover)
        pair_weights = {t: w for t, w in terms.weights.items() if "_" in t}
        missing = next(
            (w for t, w in rarest if t not in near_folded and t not in view.title_folded), 0.0
        )
        slot = [t for t in query.slot if t in terms.folded_weights]
        slot_total = sum(terms.folded_weights[t] for t in slot) or 1.0
        slot_cover = (
            sum(terms.folded_weights[t] for t in slot if t in own_folded) / slot_total
            if slot
            else 0.0
        )
        slot_context = (
            sum(terms.folded_weights[t] for t in slot if t in near_folded or t in view.title_folded)
            / slot_total
            if slot
            else 1.0
        )
        before_sets = [
            (view.exact_terms if terms.exact else view.folded_terms)(i)
            for i in range(max(0, c.index - 2), c.index)
        ]
        cover_before = _cover(terms.weights, terms.total, *before_sets) if before_sets else 0.0
        count, share, date, year, person, document, n_figures, units = _sentence_facts(text)
        holds = {
            "count": count,
            "share": share,
            "date": date,
            "year": year,
            "person": person,
            "document": document,
        }
        has_asked = any(holds[k] for k in checkable) or (
            bool(asked & {"place", "name"}) and any(len(r) >= 2 for _, r in _capital_runs(text))
        )
        lacks = bool(checkable) and not any(holds[k] for k in checkable)
        head_match = _head_match(head, text, query) if head else 0.0
        stated = bool(query.stated) and any(
            re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", text) for n in query.stated
        )
        sentence_years = _years(text, view.date)
        stock_figure, flow = _stock_or_flow(text)
        folded_text = fold(text)
        target = bool(TARGET_SENTENCE_RE.search(folded_text))
        entities = query.entities
        entity_sentence = (
            sum(1 for e in entities if f" {e} " in f" {' '.join(fold(k) for k in keys(text))} ")
            / len(entities)
            if entities
            else 0.0
        )
        entity_article = (
            sum(1 for e in entities if f" {e} " in view.folded_words) / len(entities)
            if entities
            else 0.0
        )
        place_article = (
            sum(1 for e in query.places if f" {e} " in view.folded_words) / len(query.places)
            if query.places
            else 0.0
        )
        length = len(text)
        facts = [
            f
            for i in range(c.index, c.last + 1)
            for f in sentence_facts.get((view.article_id, view.spans[i][0]), [])
        ]
        fact_scores = [x for f in facts if (x := score_fact(f, spec)) is not None]
        kind_facts = [f for f in facts if spec.kind is not None and f.kind == spec.kind]
        # Figures of the asked kind about another period, or (none of that kind) every figure
        # of a known period about another one.
        period_clash = (
            bool(spec.years)
            and bool(kind_facts or facts)
            and all(years_overlap(f, spec.years) is False for f in (kind_facts or facts))
        )
        rows.append(
            [
                cover,
                _cover(terms.folded_weights, terms.folded_total, own_folded),
                _cover(pair_weights, terms.pair_total, own) if pair_weights else 0.0,
                slot_cover,
                slot_context,
                _figure_context(text, terms) if n_figures else 0.0,
                _cover(terms.weights, terms.total, near, title),
                _cover(terms.weights, terms.total, title),
                _cover(terms.weights, terms.total, article),
                0.0,  # cover_best, filled below
                missing / (rarest[0][1] if rarest else 1.0),
                1.0 / c.rank,
                c.evidence.score,
                _similarity(c.evidence) - best_similarity,
                _lexical(c.evidence),
                float(view.article_id == top_article),
                per_article.get(view.article_id, 0) / max(1, len(passages)),
                float(has_asked),
                float(lacks),
                head_match,
                float(query.wants_total and stock_figure),
                float(query.wants_total and not stock_figure and flow),
                float(stated),
                min(n_figures, 5) / 5,
                float(bool(asked_years & sentence_years)),
                float(
                    bool(asked_years) and bool(sentence_years) and not asked_years & sentence_years
                ),
                float(bool(asked_years & view.years) and not asked_years & sentence_years),
                float(bool(asked_years) and not asked_years & view.all_years),
                float(query.asks_target and target),
                float(not query.asks_target and target and n_figures > 0),
                entity_sentence,
                entity_article,
                place_article,
                float(bool(query.focus) and f" {query.focus} " in f" {folded_text} "),
                c.index / max(1, len(view.spans) - 1),
                float(c.index < 3),
                min(length, 400) / 400,
                float(length < 40),
                float(_is_heading(text)),
                float(has_asked) * _cover(terms.weights, terms.total, near, title),
                cover_before,
                float(has_asked) * cover_before,
                float(has_asked) * slot_cover,
                float(bool(_DATED_LEAD_RE.match(text))),
                max(0.0, max(fact_scores, default=0.0)) / 10,
                float(any(exact_match(f, spec) for f in facts)),
                float(spec.kind is not None and bool(facts) and not kind_facts),
                float(period_clash),
                float(bool(kind_facts) and all(f.target != spec.target for f in kind_facts)),
                float(c.last > c.index),
                float("practice" in asked) * min(length, 400) / 400,
                float(bool(_CAPTION_RE.match(text))),
                float(text.rstrip().endswith("?")),
                _novelty(own_folded, terms.folded_weights),
            ]
        )
    best = max(covers) or 1.0
    for row, cover in zip(rows, covers, strict=True):
        row[INDEX["cover_best"]] = cover / best
    del best_dense, folded_q
    return rows


FIGURE_WINDOW = 50  # characters either side of a figure that belong to it


@lru_cache(maxsize=8192)
def _numbers(text: str) -> tuple[Number, ...]:
    return tuple(find_numbers(text))


_STOCK_BEFORE_RE = re.compile(
    r"\b(?:tong cong|tong so|hien co|co|voi|gom|len|nang len)\s*(?:(?:khoang|gan|tren|hon)\s*)?$"
)
_FLOW_RE = re.compile(r"\b(?:ket nap|phat trien|phan dau|chi tieu|muc tieu|them)\b")


@lru_cache(maxsize=8192)
def _stock_or_flow(text: str) -> tuple[bool, bool]:
    """Whether a figure of the text is a stock ("có 5.279 đảng viên", "tổng cộng …") and
    whether the text speaks of admissions or plans (a flow)."""
    folded = fold(text)
    stock = any(
        _STOCK_BEFORE_RE.search(fold(text[max(0, n.start - 24) : n.start]))
        for n in _numbers(text)
        if n.measure != "percent"
    )
    return stock, bool(_FLOW_RE.search(folded))


def _head_match(head: str, text: str, query: Query) -> float:
    """Share of the counted noun's syllables found right after one of the text's figures
    (those admitted are also counted as "quần chúng (ưu tú)")."""
    wanted = head.split()
    best = 0.0
    admitted = " ket nap " in f" {fold(query.search_text)} " or "kết nạp" in query.search_text
    for n in _numbers(text):
        if n.measure == "percent":
            continue
        after = fold(text[n.end : n.end + 40]).split()[: len(wanted) + 2]
        if admitted and wanted[:2] == ["dang", "vien"] and after[:2] == ["quan", "chung"]:
            return 1.0
        found = sum(1 for w in wanted if w in after) / len(wanted)
        best = max(best, found if after[:1] == wanted[:1] else found / 2)
    return best


@lru_cache(maxsize=8192)
def _figure_windows(text: str) -> tuple[frozenset[str], ...]:
    return tuple(
        _terms(text[max(0, n.start - FIGURE_WINDOW) : (n.unit_end or n.end) + FIGURE_WINDOW])[1]
        for n in _numbers(text)
    )


def _figure_context(text: str, terms: QuestionTerms) -> float:
    windows = _figure_windows(text)
    if not windows:
        return 0.0
    return max(_cover(terms.folded_weights, terms.folded_total, w) for w in windows)


def _novelty(sentence_terms: frozenset[str], question: dict[str, float]) -> float:
    words = [t for t in sentence_terms if "_" not in t and t not in STOPWORDS and not t.isdigit()]
    if not words:
        return 0.0
    return sum(1 for t in words if t not in question) / len(words)


def _is_heading(text: str) -> bool:
    return len(text) < 160 and not text.rstrip().endswith(
        (".", "!", "?", "…", ";", ":", '"', "”", ")")
    )


def kinds_held(text: str) -> set[str]:
    """The checkable kinds of answer a text holds."""
    count, share, date, year, person, document, _, _ = _sentence_facts(text)
    held = {"count": count, "share": share, "date": date, "year": year, "person": person,
            "document": document}  # fmt: skip
    return {k for k, v in held.items() if v}


def _similarity(ev: Evidence) -> float:
    return getattr(ev, "similarity", 0.0)


def _lexical(ev: Evidence) -> float:
    return getattr(ev, "lexical", 0.0)
