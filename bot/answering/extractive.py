"""The extractive answerer: quote the sentences of the retrieved passages that answer.

No model and no network at answer time. Each sentence of the top passages is a candidate; the
fitted ranker (``ranker.py``) turns its features (``features.py``) into the probability that it
answers. The decision is a few named steps, each of which ``explain`` can show:

1. **mismatch** — a candidate about another year than the one asked (it names other years, its
   figures are of another period, or the article never mentions the year), from an article
   that names none of the places the question names, or from one that never names the part of
   those counted that a figure question asks about ("nữ", "có đạo"), cannot be the answer;
2. **threshold** — the best remaining candidate must be likely enough, else the answer is an
   honest refusal (saying which year is not reported, and what is, when that was the reason);
   so too when what remains is scraps of a report about another year: a sentence set aside for
   its year would far outscore them, and none gives the asked measure;
3. **selection** — the best sentence, plus a neighbour that holds an asked kind it lacks (the
   name after the sentence about the event), plus close runners-up for questions of several
   asks or how-questions, within a phone-sized budget; a how-question whose list ("… gồm:",
   "Thứ nhất, …") scores close to the best sentence is answered by the list;
4. **compose** — a direct line with the figure, date or name, then the verbatim quotes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from bot.answering.candidates import (
    LIST_MAX_CHARS,
    ArticleView,
    Candidate,
    build_view,
    candidates,
    spell_out,
)
from bot.answering.compose import (
    MAX_QUOTE_CHARS,
    Quote,
    citation_for,
    direct_line,
    pick_answer,
    shorten,
)
from bot.answering.fact_question import (
    Spec,
    folded_text,
    name_of,
    other_period,
    place_name,
    question_spec,
    score_fact,
)
from bot.answering.features import (
    INDEX,
    QuestionTerms,
    featurize,
    is_descriptive,
    question_terms,
)
from bot.answering.question import Query
from bot.answering.ranker import Ranker, load_ranker
from bot.answering.signals import CHECKABLE, kinds_held
from bot.types import REFUSAL_EN, REFUSAL_VI, Answer, Citation, Evidence
from ingest.fact_kinds import segments_named

if TYPE_CHECKING:
    from index.facts import FactStore
    from index.lexical import LexicalIndex
    from index.store import ArticleStore
    from ingest.facts import Fact

PERIOD_FEATURES = ("year_other", "year_absent", "fact_period_mismatch", "year_match")
VIEW_CACHE = 512  # articles kept split into sentences between questions
# What the fact table's place is worth when picking the figure to state, on its scale: as much as
# the period matching (``score_fact``), so a unit's own place decides between two of its figures.
PLACE_MATCH = 1.5


@dataclass
class Scored:
    """A candidate with its features, probability and why it was set aside (if it was)."""

    candidate: Candidate
    row: list[float]
    probability: float
    mismatch: str | None = None  # "period", "place" or "segment"


@dataclass
class Ranking:
    query: Query
    scored: list[Scored] = field(default_factory=list)  # best first

    @property
    def eligible(self) -> list[Scored]:
        return [s for s in self.scored if s.mismatch is None]


def mismatch(query: Query, row: Sequence[float]) -> str | None:
    """Why a candidate cannot answer, whatever its score: it is about another period than the
    one asked, from an article that names none of the places asked about, or a photo's caption
    ("Ảnh: …", describing a photo the reader of a chat does not see)."""
    if query.places and row[INDEX["place_article"]] == 0:
        return "place"
    if row[INDEX["caption"]] > 0:
        return "caption"
    if query.years and (
        row[INDEX["year_other"]] > 0
        or row[INDEX["year_absent"]] > 0
        or row[INDEX["fact_period_mismatch"]] > 0
    ):
        return "period"
    return None


def segment_missing(query: Query, spec: Spec, text: str) -> bool:
    """A figure about a part of those counted is asked ("bao nhiêu đảng viên nữ") and ``text``
    (an article) never names that part: whatever it counts, it is not that part."""
    if not spec.segments or not {"count", "share"} & set(query.answer_types):
        return False
    return not segments_named(folded_text(spell_out(text))) & set(spec.segments)


def _off_measure(row: Sequence[float]) -> bool:
    """The candidate holds no figure of the asked kind, or holds it as a plan where results
    are asked (or the other way round)."""
    return any(
        row[INDEX[name]] > 0
        for name in ("lacks_asked", "fact_kind_mismatch", "target_mismatch", "fact_target_mismatch")
    )


class ExtractiveAnswerer:
    def __init__(
        self,
        lexical: LexicalIndex | None = None,
        store: ArticleStore | None = None,
        facts: FactStore | None = None,
        ranker: Ranker | None = None,
    ) -> None:
        self.lexical = lexical
        self.store = store
        self.facts = facts
        self.ranker = ranker or load_ranker()
        self._views: OrderedDict[tuple[str, str, str | None], ArticleView] = OrderedDict()

    # --- inputs ------------------------------------------------------------------------------
    def view_of(self, ev: Evidence) -> ArticleView:
        article = self.store.get(ev.article_id) if self.store is not None else None
        if article is None or article.text[ev.start : ev.end] != ev.text:
            # No store (tests, a generator's own evidence): the passage stands for its article.
            return build_view(ev.article_id, ev.title, ev.date, " " * ev.start + ev.text)
        publisher = article.extra.get("publisher")
        key = (article.article_id, article.content_hash, publisher)
        view = self._views.get(key)
        if view is None:
            view = build_view(
                article.article_id, article.title, article.date, article.text, publisher
            )
            self._views[key] = view
            while len(self._views) > VIEW_CACHE:
                self._views.popitem(last=False)
        else:
            self._views.move_to_end(key)
        return view

    def terms(self, query: Query) -> QuestionTerms:
        lexical = self.lexical

        def doc_freq(terms: list[str], exact: bool) -> dict[str, int]:
            if lexical is None:
                return dict.fromkeys(terms, 0)
            return lexical.doc_freqs(terms, column="exact" if exact else "folded")

        passages = lexical.count() if lexical is not None else 1
        return question_terms(query, doc_freq, max(1, passages))

    def _facts_of(self, article_id: str) -> Sequence[Fact]:
        return self.facts.of_article(article_id) if self.facts is not None else ()

    # --- steps -------------------------------------------------------------------------------
    def rank(self, query: Query, evidence: Sequence[Evidence]) -> Ranking:
        terms = self.terms(query)
        if not any(not t.startswith("?") for t in terms.folded_weights):
            return Ranking(query)  # no word of the question occurs in any article
        cands = candidates(evidence, self.view_of)
        rows = featurize(query, terms, cands, self._facts_of)
        spec = question_spec(query)
        unnamed: dict[str, bool] = {}
        for c in cands:
            if c.view.article_id not in unnamed:
                unnamed[c.view.article_id] = segment_missing(query, spec, c.view.text)
        scored = [
            Scored(
                c,
                row,
                self.ranker.probability(row),
                mismatch(query, row) or ("segment" if unnamed[c.view.article_id] else None),
            )
            for c, row in zip(cands, rows, strict=True)
        ]
        scored.sort(key=lambda s: (-s.probability, s.candidate.rank, s.candidate.start))
        return Ranking(query, scored)

    def refusal_reason(self, ranking: Ranking) -> str | None:
        """Why the best candidate cannot be the answer (the threshold step), None when it may."""
        return self._refusal(ranking, self._admissible(ranking))

    def _refusal(self, ranking: Ranking, eligible: list[Scored]) -> str | None:
        """:meth:`refusal_reason`, given the admissible candidates."""
        settings = self.ranker.selection
        if not ranking.eligible:
            return "no candidate left after the mismatch step"
        if not eligible:
            best = ranking.eligible[0]
            short = next(f for f, least in self._least() if best.row[INDEX[f]] < least)
            return f"no candidate covers enough of the question (best: {short} too low)"
        best = eligible[0]
        if best.probability < settings.threshold:
            return f"best probability {best.probability:.3f} < threshold {settings.threshold}"
        if settings.period_dominance > 0:
            # The answer the articles give is for another period when a sentence set aside for
            # its period would far outscore, its period aside, the best one left, and no likely
            # one left gives the asked measure (a stock of "47 tổ chức" for admissions, a plan
            # for a result): scraps of the same report, not this period's answer.
            other, _ = self._other_period(ranking)
            on_measure = (
                s
                for s in eligible
                if s.probability >= settings.threshold and not _off_measure(s.row)
            )
            if best.probability < settings.period_dominance * other and not any(on_measure):
                return (
                    f"a sentence set aside for its period scores {other:.3f}, far above the "
                    "best left, and none left gives the asked measure"
                )
        return None

    def _least(self) -> tuple[tuple[str, float], ...]:
        settings = self.ranker.selection
        return (
            ("cover_context", settings.min_cover),
            ("slot_context", settings.min_slot),
            # It holds the question's names and little else: about them, not what is asked.
            ("content_context", settings.min_content),
        )

    def _admissible(self, ranking: Ranking) -> list[Scored]:
        """The eligible candidates that cover enough of the question to answer it."""
        least = self._least()
        return [s for s in ranking.eligible if all(s.row[INDEX[f]] >= v for f, v in least)]

    def select(self, ranking: Ranking) -> list[Scored]:
        """The sentences to quote, best first; empty when the best is not likely enough."""
        eligible = self._admissible(ranking)
        if self._refusal(ranking, eligible) is not None:
            return []
        settings = self.ranker.selection
        query = ranking.query
        top = eligible[0]
        chosen = [top]
        how = is_descriptive(query)  # how / why / what was done: no figure, date or name asked
        budget = settings.max_quotes_practice if how else settings.max_quotes
        multi = query.asks > 1 or len(query.answer_types) > 1

        def same(s: Scored) -> bool:
            return s.candidate.view.article_id == top.candidate.view.article_id

        def distance(s: Scored) -> int:
            return abs(s.candidate.index - top.candidate.index)

        def overlaps(s: Scored) -> bool:
            c = s.candidate
            return any(
                c.view.article_id == o.candidate.view.article_id
                and c.start < o.candidate.end
                and o.candidate.start < c.end
                for o in chosen
            )

        def fits(s: Scored) -> bool:
            used = sum(len(c.candidate.text) for c in chosen)
            return used + len(s.candidate.text) <= settings.max_chars

        def off_focus(s: Scored) -> bool:
            """The best sentence names what a "what …" question asks about ("khó khăn") and
            ``s`` neither does nor follows it in its paragraph: about something else (the
            solutions), not the difficulties the best sentence announces."""
            if top.row[INDEX["focus"]] == 0 or s.row[INDEX["focus"]] > 0:
                return False
            c, t = s.candidate, top.candidate
            follows = (
                same(s)
                and c.index > t.last
                and c.view.paragraph[c.index] == t.view.paragraph[t.last]
            )
            return not follows

        if how and settings.ratio_list > 0:
            lists = [
                s
                for s in eligible
                if s.candidate.last > s.candidate.index
                and not off_focus(s)
                and s.probability >= settings.ratio_list * top.probability
            ]
            if lists and lists[0] is not top:
                # "What are the cases …": the list is the answer, whole, in place of the
                # sentence that leads to it.
                top = lists[0]
                chosen = [top]
        if how and settings.practice_block > 0:
            return self._block(eligible, settings.practice_block)
        missing = (set(query.answer_types) & CHECKABLE) - kinds_held(top.candidate.text)
        while missing and len(chosen) < budget:
            pool = [
                s
                for s in eligible
                if s not in chosen
                and same(s)
                and not overlaps(s)
                and distance(s) <= settings.adjacent_missing
                and kinds_held(s.candidate.text) & missing
                and s.probability >= settings.ratio_missing * top.probability
            ]
            pool = [s for s in pool if fits(s)]
            if not pool:
                break
            chosen.append(pool[0])
            missing -= kinds_held(pool[0].candidate.text)
        for s in eligible[1:]:
            if len(chosen) >= budget:
                break
            if s in chosen or overlaps(s) or not fits(s) or (how and off_focus(s)):
                continue
            ratio = s.probability / top.probability
            if (
                ratio >= settings.ratio
                or (how and same(s) and distance(s) <= settings.adjacent
                    and ratio >= settings.ratio_adjacent)
                or (multi and same(s) and ratio >= settings.ratio_multi)
            ):  # fmt: skip
                chosen.append(s)
        return chosen

    @staticmethod
    def _block(eligible: Sequence[Scored], size: int) -> list[Scored]:
        """The run of up to ``size`` consecutive sentences of one paragraph with the highest
        summed probability, best sentence first: how-answers span a few sentences."""
        by_position = {(s.candidate.view.article_id, s.candidate.index): s for s in eligible}
        best: tuple[float, list[Scored]] | None = None
        for (article_id, index), first in by_position.items():
            run = [first]
            for step in range(1, size):
                nxt = by_position.get((article_id, index + step))
                if (
                    nxt is None
                    or nxt.candidate.view.paragraph[nxt.candidate.index]
                    != (first.candidate.view.paragraph[first.candidate.index])
                ):
                    break
                if nxt.candidate.start < run[-1].candidate.end:
                    break
                run.append(nxt)
            total = sum(s.probability for s in run)
            if best is None or total > best[0]:
                best = (total, run)
        assert best is not None
        run = best[1]
        top = max(run, key=lambda s: s.probability)
        return [top, *[s for s in run if s is not top]]

    # --- the answer --------------------------------------------------------------------------
    def answer(self, query: Query, evidence: Sequence[Evidence]) -> Answer:
        ranking = self.rank(query, evidence)
        chosen = self.select(ranking)
        if not chosen:
            return self.refusal(query, ranking)
        return self.compose(query, chosen)

    def _other_period(self, ranking: Ranking) -> tuple[float, Scored | None]:
        """The best candidate set aside only for its period, with its probability had its
        period fitted."""
        return max(
            (
                (self.ranker.probability_without(s.row, PERIOD_FEATURES), s)
                for s in ranking.scored
                if s.mismatch == "period"
            ),
            key=lambda item: item[0],
            default=(0.0, None),
        )

    def refusal(self, query: Query, ranking: Ranking | None = None) -> Answer:
        text = REFUSAL_EN if query.language == "en" else REFUSAL_VI
        citations: list[Citation] = []
        threshold = self.ranker.selection.threshold
        probability, best = self._other_period(ranking) if ranking else (0.0, None)
        if best is not None and probability >= threshold:
            # The articles report another period: say the asked one is not reported, show what is.
            years = ", ".join(query.years)
            quote = self._quote(best.candidate, None)
            citations.append(citation_for(1, quote))
            if query.language == "en":
                text = (
                    f"The ingested articles do not report this for {years}. "
                    f"What they report: “{quote.text}” [1]"
                )
            else:
                text = (
                    f"Các bài viết đã nạp không nêu số liệu này cho năm {years}. "
                    f"Bài viết gần nhất nêu: “{quote.text}” [1]"
                )
        return Answer(
            question=query.text,
            text=text,
            refused=True,
            citations=citations,
            language=query.language,
        )

    def _quote(self, c: Candidate, focus: tuple[int, int] | None) -> Quote:
        # A list answering a how-question is its items: quoted whole (up to the list's size); a
        # figure's sentence, or a list holding it, around the figure.
        listed = c.last > c.index
        limit = LIST_MAX_CHARS if listed and focus is None else MAX_QUOTE_CHARS
        start, end = shorten(c.text, focus, limit, lines=listed)
        text = c.text[start:end]
        stripped = len(text) - len(text.lstrip())
        text = text.strip()
        begin = c.start + start + stripped
        return Quote(c.evidence, begin, begin + len(text), text)

    def compose(self, query: Query, chosen: Sequence[Scored]) -> Answer:
        top, rest = chosen[0], list(chosen[1:])
        # Reading order for what backs the best sentence; the best sentence first.
        rest.sort(key=lambda s: (s.candidate.view.article_id != top.candidate.view.article_id,
                                 s.candidate.view.article_id, s.candidate.start))  # fmt: skip
        ordered = [top, *rest]
        # Each figure with the fact the table holds for it, looked up once.
        picks_by_quote = [
            [
                replace(p, fact=self._fact_for(s.candidate, p.start))
                for p in pick_answer(
                    query,
                    s.candidate.text,
                    self.fact_scores(
                        query, s.candidate.view.article_id, s.candidate.start, s.candidate.end
                    ),
                )
            ]
            for s in ordered
        ]
        quotes: list[Quote] = []
        for s, picks in zip(ordered, picks_by_quote, strict=True):
            focus = (picks[0].start, picks[-1].end) if picks else None
            quotes.append(self._quote(s.candidate, focus))
        citations = [citation_for(n, q) for n, q in enumerate(quotes, start=1)]
        lines: list[str] = []
        handicap = self.ranker.selection.direct_handicap
        spec = question_spec(query)
        # The direct line states the answer: never a figure the fact table dates to another
        # period than the one asked, even when its sentence is quoted for context.
        stated = [
            [p for p in picks if p.fact is None or not other_period(p.fact, spec)]
            for picks in picks_by_quote
        ]
        # Nor the figure of the wider place a question names ("TP Cần Thơ" in "huyện Thới Lai
        # (TP Cần Thơ)") when a quote gives the place asked its own; a quote that names the
        # place asked is taken at its word (the table may give its figure the wider place).
        if query.places and any(
            p.fact is not None and place_name(p.fact) == query.places[0]
            for picks in stated
            for p in picks
        ):
            asked, wider = query.places[0], set(query.entities) - {query.places[0]}
            stated = [
                picks
                if f" {asked} " in folded_text(s.candidate.text)
                else [p for p in picks if p.fact is None or place_name(p.fact) not in wider]
                for s, picks in zip(ordered, stated, strict=True)
            ]
        # A quote that answers every part asked ("kết nạp bao nhiêu …, đạt bao nhiêu %"), each
        # with a figure of what is counted, states it before one that answers a part or counts
        # others ("203 công nhân" for "bao nhiêu đảng viên"); then the best figure, the earlier
        # quote first.
        parts = {"count", "share"} & set(query.answer_types)
        direct = max(
            ((n, picks) for n, picks in enumerate(stated, start=1) if picks),
            key=lambda item: (
                len(parts & {p.kind for p in item[1] if p.fits}),
                max(p.score for p in item[1]) - handicap * (item[0] - 1),
            ),
            default=None,
        )
        lead = None
        if direct is not None:
            n, picks = direct
            lead = n
            fact, cited = picks[0].fact, citations[n - 1]
            # The table may have carried the place over from elsewhere in the article (the
            # district of a report about a regiment): it is stated only where the question, the
            # quote or the headline names it.
            named = folded_text(f"{query.text} {query.search_text} {cited.quote} {cited.title}")
            place = fact.place if fact is not None else None
            shown = place is not None and folded_text(name_of(place)) in named
            lines.append(direct_line(picks, n, fact, place=shown))
            if query.language == "en":
                lines.append("Quoted from the articles (in Vietnamese):")
        else:
            lines.append(
                "From the articles (quoted in Vietnamese):"
                if query.language == "en"
                else "Theo các bài viết đã nạp:"
            )
        lines += [f"“{q.text}” [{c.n}]" for q, c in zip(quotes, citations, strict=True)]
        return Answer(
            question=query.text,
            text="\n".join(lines),
            refused=False,
            citations=citations,
            language=query.language,
            lead=lead,
        )

    def fact_scores(
        self, query: Query, article_id: str, start: int, end: int
    ) -> list[tuple[int, float]]:
        """(offset from ``start``, match to the question) of the facts of the figures in an
        article's span: the fact table knows each figure's kind, place and period. In a list
        of units each with its figure ("thành phố Cà Mau kết nạp 156 …; huyện Trần Văn Thời
        142"), the place asked gains and a place the question does not name loses."""
        spec = question_spec(query)
        asked = query.places[0] if query.places else None
        scores: list[tuple[int, float]] = []
        for fact in self._facts_of(article_id):
            if start <= fact.figure_start < end:
                score = score_fact(fact, spec)
                if score is None:
                    continue
                name = place_name(fact)
                if asked is not None and name is not None:
                    if name == asked:
                        score += PLACE_MATCH
                    elif name not in query.entities:
                        score -= PLACE_MATCH
                scores.append((fact.figure_start - start, score))
        return scores

    def _fact_for(self, c: Candidate, offset: int) -> Fact | None:
        """The fact-table entry for a figure at ``offset`` in a candidate's text."""
        return self._fact_at(c.view.article_id, c.start + offset)

    def _fact_at(self, article_id: str, offset: int) -> Fact | None:
        return next((f for f in self._facts_of(article_id) if f.figure_start == offset), None)

    def fact_place(self, article_id: str, offset: int) -> str | None:
        """The place the fact table knows for the figure at ``offset`` in an article."""
        fact = self._fact_at(article_id, offset)
        return None if fact is None else fact.place

    # --- for maintainers ---------------------------------------------------------------------
    def explain(
        self, query: Query, evidence: Sequence[Evidence], top: int = 5
    ) -> dict[str, object]:
        """The best candidates with every feature, its weight's effect and the probability, and
        the steps' outcome: why the answer was chosen or refused."""
        ranking = self.rank(query, evidence)
        chosen = self.select(ranking)
        settings = self.ranker.selection
        return {
            "question": query.text,
            "answer_types": list(query.answer_types),
            "years": list(query.years),
            "places": list(query.entities),
            "threshold": settings.threshold,
            "decision": "answer" if chosen else "refuse",
            "refusal": self.refusal_reason(ranking),
            "chosen": [ranking.scored.index(s) + 1 for s in chosen],
            "candidates": [
                {
                    "rank": i,
                    "probability": round(s.probability, 4),
                    "mismatch": s.mismatch,
                    "passage_rank": s.candidate.rank,
                    "title": s.candidate.view.title,
                    "text": s.candidate.text,
                    "features": {
                        name: {"value": round(value, 4), "effect": round(effect, 4)}
                        for name, value, effect in self.ranker.contributions(s.row)
                    },
                }
                for i, s in enumerate(ranking.scored[:top], start=1)
            ],
        }
