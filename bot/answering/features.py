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
from collections import Counter
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.answering.candidates import Candidate, sentence_terms
from bot.answering.fact_question import (
    exact_match,
    other_period,
    place_name,
    question_spec,
    score_fact,
)
from bot.answering.question import Query, boundary_pairs
from bot.answering.signals import (
    CAPTION_RE,
    CHECKABLE,
    DATED_LEAD_RE,
    FIGURE_WINDOW,
    capital_runs,
    head_match_of,
    is_heading,
    novelty_of,
    numbers_in,
    sentence_facts,
    stock_or_flow,
    years_in,
)
from bot.types import Evidence
from index.lexical import STOPWORDS, query_terms
from ingest.fact_places import mentions
from ingest.facts import Fact
from ingest.lexicon import PLACE_LEVEL_RANK, TARGET_SENTENCE_RE
from ingest.vietnamese import WORD_RE, fold, is_accented, key, keys

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
    "place_specific",  # names the narrowest place asked about (by level): the unit asked about
    "place_other",  # names a place the question does not, while the question names one
    "content_context",  # cover_context of the question's words that are not names
    "fact_place_match",  # a figure of the asked kind is, by the fact table, the place asked
)
# For a question that asks how, why or what was done (no figure, date or name asked), the
# answer is the sentences that elaborate, not the ones that repeat the question: these
# features get a second weight that applies to such questions only.
DESCRIPTIVE_OF: tuple[str, ...] = (
    "cover",
    "cover_context",
    "cover_before",
    "cover_title",
    "novelty",
    "position",
    "lead",
    "heading",
    "question_mark",
    "entity_sentence",
    "rank",
    "figures",
)
FEATURES = FEATURES + tuple(f"descriptive_{name}" for name in DESCRIPTIVE_OF)
INDEX = {name: i for i, name in enumerate(FEATURES)}

# Checkable kinds of answer: a sentence either holds one or does not.


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


def is_descriptive(query: Query) -> bool:
    """A how / why / what-was-done question: no figure, date or name is asked."""
    asked = set(query.answer_types)
    return "practice" in asked or not asked & (CHECKABLE | {"place", "name"})


def question_terms(
    query: Query, doc_freq: Callable[[list[str], bool], dict[str, int]], passages: int
) -> QuestionTerms:
    """Weights of the question's terms: rarer in the corpus weighs more, pairs of syllables
    more than syllables. Terms the corpus never holds say nothing when they are a question's
    artefact (an untranslated English word, a pair straddling a name's edge)."""
    exact_terms, folded_terms = query_terms(query.search_text)
    junk = boundary_pairs(query.search_text) | straddling_pairs(query) | asking_pairs(query)

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


_ASKING = frozenset(("bao_nhieu", "the_nao", "la_gi", "nhu_the"))


def asking_pairs(query: Query) -> set[str]:
    """Word pairs that join a question phrase to a content word ("bao nhiêu đảng viên" →
    "nhiêu_đảng"): the question's wording, which a sentence holds only by chance ("nhiều đảng
    viên")."""
    syllables = keys(query.search_text)
    folded = [fold(s) for s in syllables]
    pairs: set[str] = set()
    for i in range(len(folded) - 1):
        phrase_before = i > 0 and f"{folded[i - 1]}_{folded[i]}" in _ASKING
        phrase_after = i + 2 < len(folded) and f"{folded[i + 1]}_{folded[i + 2]}" in _ASKING
        if phrase_before or phrase_after:
            pairs.update({f"{syllables[i]}_{syllables[i + 1]}", f"{folded[i]}_{folded[i + 1]}"})
    return pairs


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


def cover_of(weights: dict[str, float], total: float, *term_sets: Container[str]) -> float:
    sets = [s for s in term_sets if isinstance(s, frozenset | set)]
    if len(sets) == len(term_sets):
        # Set intersections run in C: the answerer computes a dozen covers per candidate.
        held: set[str] = set()
        for terms in sets:
            held |= weights.keys() & terms
        return sum(weights[t] for t in held) / total
    if len(term_sets) == 1:
        only = term_sets[0]
        return sum(w for t, w in weights.items() if t in only) / total
    return sum(w for t, w in weights.items() if any(t in s for s in term_sets)) / total


def content_weights(query: Query, terms: QuestionTerms) -> dict[str, float]:
    """The folded weights of the question's words that are not part of a name it gives: what it
    asks about Hà Nội, not Hà Nội. A sentence that holds a question's names and none of these is
    about the place, not about the question ("Dự báo thời tiết Hà Nội …")."""
    names = {s for entity in query.entities for s in entity.split()}
    # The level word before a name is the name's too ("thành phố Hồ Chí Minh", "huyện Tuần
    # Giáo"), unless the question uses its syllables elsewhere ("thành phố" … "thanh niên").
    levels = Counter(s for level in query.name_levels for s in level.split())
    said = [fold(k) for k in keys(query.search_text)]
    used = Counter(said)
    names |= {s for s, n in levels.items() if used[s] <= n}
    # The years asked, with the "năm" before each, are its period, checked on their own: a
    # sentence holding the names and the year is still not about what the question asks.
    names |= set(query.years)
    spoken = f" {' '.join(said)} "
    if 0 < used["nam"] <= sum(spoken.count(f" nam {y} ") for y in query.years):
        names.add("nam")
    # A pair with a name on either side ("noi_cuoi") is the name's as much as the question's.
    return {t: w for t, w in terms.folded_weights.items() if not names & set(t.split("_"))}


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
    facts_by_sentence: dict[tuple[str, int], list[Fact]] = {}
    if facts_of is not None:
        for article_id in {c.view.article_id for c in cands}:
            for fact in facts_of(article_id):
                facts_by_sentence.setdefault((article_id, fact.start), []).append(fact)
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
    content = content_weights(query, terms)
    content_total = sum(content.values())
    rows: list[list[float]] = []
    covers: list[float] = []
    specific_of: dict[str, str | None] = {}
    for c in cands:
        view = c.view
        text = c.text
        sentence_sets = range(c.index, c.last + 1)
        around = range(max(0, c.index - 2), min(len(view.spans), c.last + 3))
        own_folded = frozenset().union(*(view.folded_terms(i) for i in sentence_sets))
        near_folded = frozenset().union(*(view.folded_terms(i) for i in around))
        if terms.exact:
            own = frozenset().union(*(view.exact_terms(i) for i in sentence_sets))
            near = frozenset().union(*(view.exact_terms(i) for i in around))
            title, article = view.title_exact, view.article_exact
        else:
            own, near = own_folded, near_folded
            title, article = view.title_folded, view.article_folded
        cover = cover_of(terms.weights, terms.total, own)
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
        cover_before = cover_of(terms.weights, terms.total, *before_sets) if before_sets else 0.0
        count, share, date, year, person, document, n_figures, units = sentence_facts(text)
        holds = {
            "count": count,
            "share": share,
            "date": date,
            "year": year,
            "person": person,
            "document": document,
        }
        has_asked = any(holds[k] for k in checkable) or (
            bool(asked & {"place", "name"}) and any(len(r) >= 2 for _, r in capital_runs(text))
        )
        lacks = bool(checkable) and not any(holds[k] for k in checkable)
        head_match = head_match_of(head, text, query) if head else 0.0
        stated = bool(query.stated) and any(
            re.search(rf"(?<![\d.,]){re.escape(n)}(?![\d]|[.,]\d)", text) for n in query.stated
        )
        sentence_years = years_in(text, view.date)
        stock_figure, flow = stock_or_flow(text)
        folded_text = fold(text)
        target = bool(TARGET_SENTENCE_RE.search(folded_text))
        entities = query.entities
        sentence_words = _folded_words(text)
        entity_sentence = (
            sum(1 for e in entities if f" {e} " in sentence_words) / len(entities)
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
        if view.article_id not in specific_of:
            specific_of[view.article_id] = specific_place(query, view.folded_words)
        specific = specific_of[view.article_id]
        place_specific = specific is not None and f" {specific} " in sentence_words
        place_other = bool(query.places) and any(
            name not in query.entities and name not in query.places
            for name in _sentence_places(text)
        )
        length = len(text)
        facts = [
            f
            for i in range(c.index, c.last + 1)
            for f in facts_by_sentence.get((view.article_id, view.spans[i][0]), [])
        ]
        fact_scores = [x for f in facts if (x := score_fact(f, spec)) is not None]
        kind_facts = [f for f in facts if spec.kind is not None and f.kind == spec.kind]
        # Figures of the asked kind about another period, or (none of that kind) every figure
        # of a known period about another one.
        period_clash = (
            bool(spec.years)
            and bool(kind_facts or facts)
            and all(other_period(f, spec) for f in (kind_facts or facts))
        )
        # Plan or result: the fact table knows it figure by figure ("đã kết nạp được 470" in
        # a sentence that also names the "mục tiêu" is a result); the sentence's words stand
        # in where it holds no figure of the asked kind.
        plan = all(f.target for f in kind_facts) if kind_facts else target
        # Whose figures: "huyện Thới Lai: kết nạp 195" answers for Thới Lai, while the city's
        # 1.614 in the same report does not.
        placed = [place_name(f) for f in (kind_facts or facts)]
        fact_place_match = specific is not None and specific in placed
        rows.append(
            [
                cover,
                cover_of(terms.folded_weights, terms.folded_total, own_folded),
                cover_of(pair_weights, terms.pair_total, own) if pair_weights else 0.0,
                slot_cover,
                slot_context,
                _figure_context(text, terms) if n_figures else 0.0,
                cover_of(terms.weights, terms.total, near, title),
                cover_of(terms.weights, terms.total, title),
                cover_of(terms.weights, terms.total, article),
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
                float(query.asks_target and plan),
                float(not query.asks_target and plan and n_figures > 0),
                entity_sentence,
                entity_article,
                place_article,
                float(bool(query.focus) and f" {query.focus} " in f" {folded_text} "),
                c.index / max(1, len(view.spans) - 1),
                float(c.index < 3),
                min(length, 400) / 400,
                float(length < 40),
                float(is_heading(text)),
                float(has_asked) * cover_of(terms.weights, terms.total, near, title),
                cover_before,
                float(has_asked) * cover_before,
                float(has_asked) * slot_cover,
                float(bool(DATED_LEAD_RE.match(text))),
                max(0.0, max(fact_scores, default=0.0)) / 10,
                float(any(exact_match(f, spec) for f in facts)),
                float(spec.kind is not None and bool(facts) and not kind_facts),
                float(period_clash),
                float(bool(kind_facts) and all(f.target != spec.target for f in kind_facts)),
                float(c.last > c.index),
                float("practice" in asked) * min(length, 400) / 400,
                float(bool(CAPTION_RE.match(text))),
                float(text.rstrip().endswith("?")),
                novelty_of(own_folded, terms.folded_weights),
                float(place_specific),
                float(place_other),
                cover_of(content, content_total, near_folded, view.title_folded)
                if content
                else 1.0,
                float(fact_place_match),
            ]
        )
    best = max(covers) or 1.0
    descriptive = float(is_descriptive(query))
    for row, cover in zip(rows, covers, strict=True):
        row[INDEX["cover_best"]] = cover / best
        row += [descriptive * row[INDEX[name]] for name in DESCRIPTIVE_OF]
    del best_dense, folded_q
    return rows


# Level words with how wide each is, folded, longest first ("thi xa" before "xa").
_LEVEL_RANKS_FOLDED = sorted(
    ((fold(word), rank) for word, rank in PLACE_LEVEL_RANK.items()), key=lambda lv: -len(lv[0])
)


@lru_cache(maxsize=4096)
def _place_level(article_words: str, place: str) -> float:
    """The narrowest level word an article puts right before a place's name (3: none)."""
    best = 3.0
    needle = f" {place} "
    at = article_words.find(needle)
    while at != -1:
        before = article_words[max(0, at - 24) : at + 1]
        rank = next((r for lv, r in _LEVEL_RANKS_FOLDED if before.endswith(f" {lv} ")), 3.0)
        best = min(best, rank)
        at = article_words.find(needle, at + 1)
    return best


def specific_place(query: Query, article_words: str) -> str | None:
    """Of the asked places the article names, the narrowest: "Thới Lai" rather than "Cần Thơ"
    in "huyện Thới Lai (TP Cần Thơ)"; at equal levels, the one the article names least."""
    present = [
        (_place_level(article_words, p), article_words.count(f" {p} "), i, p)
        for i, p in enumerate(query.places)
        if f" {p} " in article_words
    ]
    return min(present)[3] if present else None


@lru_cache(maxsize=8192)
def _folded_words(text: str) -> str:
    """A sentence's words, folded, space-padded: for names."""
    return f" {' '.join(fold(k) for k in keys(text))} "


@lru_cache(maxsize=8192)
def _sentence_places(text: str) -> tuple[str, ...]:
    """Folded names of the places a sentence names with their level ("huyện Cờ Đỏ")."""
    return tuple(fold(m.name) for m in mentions(text) if m.name)


@lru_cache(maxsize=8192)
def _figure_windows(text: str) -> tuple[frozenset[str], ...]:
    return tuple(
        sentence_terms(
            text[max(0, n.start - FIGURE_WINDOW) : (n.unit_end or n.end) + FIGURE_WINDOW]
        )[1]
        for n in numbers_in(text)
    )


def _figure_context(text: str, terms: QuestionTerms) -> float:
    windows = _figure_windows(text)
    if not windows:
        return 0.0
    return max(cover_of(terms.folded_weights, terms.folded_total, w) for w in windows)


def _similarity(ev: Evidence) -> float:
    return getattr(ev, "similarity", 0.0)


def _lexical(ev: Evidence) -> float:
    return getattr(ev, "lexical", 0.0)
