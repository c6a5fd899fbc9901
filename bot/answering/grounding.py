"""Grounding checks of a generated answer against the numbered passages the model was shown.

- markers that name no given passage are removed, the rest renumbered in order of first use;
- an answer left without a valid citation, or with a figure that none of the passages its
  sentence cites contains, is rejected;
- each citation quotes the sentence(s) of its passage that best match what the answer took.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.answering.question import analyse
from bot.types import REFUSAL_EN, REFUSAL_VI, Answer, Citation, Evidence
from ingest.chunking import split_sentences
from ingest.vietnamese import fold, with_bigrams, words

MAX_QUOTE_CHARS = 400

MARKER_RE = re.compile(r"(\s*)\[\s*(\d+(?:\s*(?:[,;]|[-–])\s*\d+)*)\s*\]")
_LEADING_MARKERS_RE = re.compile(r"^(?:\s*\[\d+\])+")
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_ENUMERATOR_RE = re.compile(r"^(\s*)\d{1,2}[.)](?=\s)", re.MULTILINE)
_STOP_THEN_MARKERS_RE = re.compile(r"([.!?…])((?:\s*\[\d+\])+)(?=\s|$)")
_ENUMERATOR_ONLY_RE = re.compile(r"\d{1,2}[.)]")
_THINK_RE = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL)


class Rejected(Exception):
    """A generated answer failed a grounding check; the message says which."""


@dataclass(frozen=True)
class Grounded:
    answer: Answer
    removed: tuple[int, ...]  # markers dropped because they named no given passage


def ground(
    question: str, raw: str, evidence: Sequence[Evidence], *, answerer: str = "llm"
) -> Grounded:
    """Check and repair a generated answer; raise :class:`Rejected` when it cannot stand."""
    language = analyse(question).language
    text = _THINK_RE.sub("", raw).strip()
    if not text:
        raise Rejected("empty reply")
    by_n = {ev.n: ev for ev in evidence}
    order: dict[int, int] = {}  # passage n -> citation number, in order of first use
    removed: list[int] = []

    def renumber(match: re.Match[str]) -> str:
        kept: list[int] = []
        for n in _marker_numbers(match.group(2)):
            if n not in by_n:
                removed.append(n)
                continue
            order.setdefault(n, len(order) + 1)
            if order[n] not in kept:
                kept.append(order[n])
        return match.group(1) + "".join(f"[{m}]" for m in kept) if kept else ""

    text = MARKER_RE.sub(renumber, text).strip()
    # "… viên. [1]" reads as citing the next sentence; put the marker before the stop.
    text = _STOP_THEN_MARKERS_RE.sub(
        lambda m: " " + "".join(re.findall(r"\[\d+\]", m.group(2))) + m.group(1), text
    )
    refusal = REFUSAL_EN if language == "en" else REFUSAL_VI
    # The refusal sentence alone (a stray marker on it does not make it an answer), or with
    # uncited words around it; with citations around it, it is a partial answer.
    if _is_refusal(text) and (not order or len(_plain(text)) <= len(refusal) + 40):
        return Grounded(
            Answer(question, refusal, refused=True, language=language, answerer=answerer),
            tuple(removed),
        )
    if not order:
        raise Rejected("no citation of a given passage")
    cited = {m: by_n[n] for n, m in order.items()}
    sentences = answer_sentences(text, cited)
    for sentence, sources in sentences:
        haystack = figure_values(" ".join(source_text(ev) for ev in sources))
        for figure in stated_figures(sentence):
            if not number_values(figure) & haystack:
                raise Rejected(f"figure {figure} is not in the passages it cites")
    citations = [
        _citation(m, ev, [s for s, sources in sentences if ev in sources])
        for m, ev in sorted(cited.items())
    ]
    notes = (
        [f"removed citation markers naming no passage: {', '.join(f'[{n}]' for n in removed)}"]
        if removed
        else []
    )
    answer = Answer(
        question=question,
        text=text,
        refused=False,
        citations=citations,
        language=language,
        answerer=answerer,
        notes=notes,
    )
    return Grounded(answer, tuple(removed))


def _marker_numbers(inside: str) -> list[int]:
    numbers: list[int] = []
    for part in re.split(r"\s*[,;]\s*", inside.strip()):
        if re.fullmatch(r"\d+\s*[-–]\s*\d+", part):
            low, high = (int(x) for x in re.split(r"\s*[-–]\s*", part))
            # "[1-3]" means passages 1 to 3; a wide range is not a citation anyone meant.
            numbers.extend(range(low, high + 1) if 0 <= high - low <= 10 else (low, high))
        elif part:
            numbers.append(int(part))
    return numbers


def _plain(text: str) -> str:
    return re.sub(r"\s*\[\d+\]", "", text).strip()


def _is_refusal(text: str) -> bool:
    folded = fold(text)
    return "khong tim thay thong tin" in folded or "not found in the ingested" in folded


def answer_sentences(text: str, cited: dict[int, Evidence]) -> list[tuple[str, list[Evidence]]]:
    """Each sentence of an answer with the passages it rests on: those its own markers name,
    else those the next marked sentence of its paragraph names ("A. B [1]."), else every cited
    passage. A marker placed after the full stop ("… viên. [1]") belongs to the sentence before.
    """
    spans: list[list[int]] = []
    for start, end in split_sentences(text):
        lead = _LEADING_MARKERS_RE.match(text, start)
        if lead and lead.end() > start and spans and "\n" not in text[spans[-1][1] : start]:
            spans[-1][1] = lead.end()
            start = lead.end()
            while start < end and text[start].isspace():
                start += 1
        # A list enumerator ("1.") splits off as a sentence of its own; it states nothing.
        if start < end and not _ENUMERATOR_ONLY_RE.fullmatch(text, start, end):
            spans.append([start, end])
    pieces = [text[s:e] for s, e in spans]
    own = [[cited[int(n)] for n in re.findall(r"\[(\d+)\]", p) if int(n) in cited] for p in pieces]
    everything = list(dict.fromkeys(cited.values()))
    result: list[tuple[str, list[Evidence]]] = []
    for i, piece in enumerate(pieces):
        sources = own[i]
        j = i
        while (
            not sources and j + 1 < len(pieces) and "\n" not in text[spans[j][1] : spans[j + 1][0]]
        ):
            j += 1
            sources = own[j]
        result.append((piece, list(dict.fromkeys(sources)) or everything))
    return result


def source_text(ev: Evidence) -> str:
    # The model was shown each passage's title and date too.
    return f"{ev.title} {ev.date or ''} {ev.text}"


def stated_figures(sentence: str) -> list[str]:
    """Numbers a sentence states, without its citation markers and list enumerators."""
    plain = _ENUMERATOR_RE.sub(r"\1", re.sub(r"\[\d+\]", " ", sentence))
    return [m.group() for m in _NUMBER_RE.finditer(plain)]


def number_values(token: str) -> set[float]:
    """What a written number may mean: Vietnamese writes 3.790 and 90,6; English 3,790 and
    90.6. Either reading counts, so a figure matches however the model formatted it."""
    values: set[float] = set()
    if token.isdigit():
        return {float(token)}
    for thousands, decimal in ((".", ","), (",", ".")):
        head, _, tail = token.partition(decimal)
        groups = head.split(thousands)
        if len(groups) > 1 and not all(len(g) == 3 for g in groups[1:]):
            continue
        if decimal in tail or thousands in tail:
            continue
        try:
            values.add(round(float("".join(groups) + ("." + tail if tail else "")), 6))
        except ValueError:
            continue
    return values


def figure_values(text: str) -> set[float]:
    values: set[float] = set()
    for match in _NUMBER_RE.finditer(text):
        values |= number_values(match.group())
    return values


def _citation(m: int, ev: Evidence, sentences: list[str]) -> Citation:
    """The passage's sentence(s) that best match what the answer took from it."""
    spans = [(s, e) for s, e in split_sentences(ev.text) if e - s >= 15] or [(0, len(ev.text))]
    profiles = [_match_profile(ev.text[s:e]) for s, e in spans]
    chosen: dict[tuple[int, int], float] = {}
    for sentence in sentences or [""]:
        terms, values = _match_profile(sentence)
        scores = [_similarity(terms, values, p_terms, p_values) for p_terms, p_values in profiles]
        best = max(range(len(spans)), key=lambda i: (scores[i], -i))
        chosen[spans[best]] = max(chosen.get(spans[best], 0.0), scores[best])
    start = min(s for s, _ in chosen)
    end = max(e for _, e in chosen)
    if end - start > MAX_QUOTE_CHARS:
        start, end = max(chosen, key=lambda span: (chosen[span], -span[0]))
    return ev.citation(m, ev.start + start, ev.start + end)


def _match_profile(text: str) -> tuple[set[str], set[float]]:
    """Folded syllables and syllable pairs (pairs reward the same phrase, not just the same
    words), and figure values."""
    plain = re.sub(r"\[\d+\]", " ", text)
    return set(with_bigrams([fold(w) for w in words(plain)])), figure_values(plain)


def _similarity(
    terms: set[str], values: set[float], other_terms: set[str], other_values: set[float]
) -> float:
    # Dice rather than raw overlap, so a long sentence does not win by sheer length; a shared
    # figure weighs like several words.
    shared = len(terms & other_terms) + 3 * len(values & other_values)
    size = len(terms) + len(other_terms) + 3 * (len(values) + len(other_values))
    return 2 * shared / size if size else 0.0
