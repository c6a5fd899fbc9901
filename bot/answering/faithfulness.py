"""Faithfulness, the evaluation metric of an answer: are its sentences backed by what they cite?

``tinbot eval`` reports it for generated answers; it uses the grounding module's reading of
sentences, citations and figures, so the metric and the checks agree on what a sentence states.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.answering.grounding import (
    answer_sentences,
    figure_values,
    number_values,
    source_text,
    stated_figures,
)
from bot.types import Answer, Evidence
from index.lexical import STOPWORDS
from ingest.vietnamese import fold, words

FAITHFUL_TERM_SHARE = 0.6  # share of a sentence's key terms its cited passages must contain


def faithfulness(answer: Answer, evidence: Sequence[Evidence]) -> float:
    """Share of the answer's sentences whose figures all, and whose key terms mostly
    (``FAITHFUL_TERM_SHARE``), occur in the passages the sentence cites.

    Works for extractive and generated answers alike: a citation is traced back to the
    evidence passage holding its quote. Intro lines ("Theo các bài viết đã nạp:") and sentences
    without content are not judged; an answer with nothing to judge scores 1.0. English answers
    are judged on figures only, their words being translations of the passages'.
    """
    if answer.refused or not answer.citations:
        return 1.0
    cited: dict[int, Evidence] = {}
    for citation in answer.citations:
        holder = next(
            (
                ev
                for ev in evidence
                if ev.article_id == citation.article_id
                and ev.start < citation.end
                and citation.start < ev.end
            ),
            None,
        )
        # The quote itself is evidence too: extractive quotes may run past the passage.
        text = f"{holder.text if holder else ''} {citation.quote}"
        cited[citation.n] = Evidence(
            n=citation.n,
            chunk_id=holder.chunk_id if holder else "",
            article_id=citation.article_id,
            title=citation.title,
            date=citation.date,
            origin=citation.origin,
            text=text,
            start=citation.start,
            end=citation.end,
        )
    judged = faithful = 0
    for sentence, sources in answer_sentences(answer.text, cited):
        figures = stated_figures(sentence)
        terms = _key_terms(sentence)
        if not re.search(r"\[\d+\]", sentence) and sentence.rstrip().endswith(":") and not figures:
            continue
        if not figures and len(terms) < 2:
            continue
        source = " ".join(source_text(ev) for ev in sources)
        values = figure_values(source)
        ok = all(number_values(f) & values for f in figures)
        if ok and answer.language != "en" and terms:
            ok = len(terms & _key_terms(source)) / len(terms) >= FAITHFUL_TERM_SHARE
        judged += 1
        faithful += ok
    return faithful / judged if judged else 1.0


def _key_terms(text: str) -> set[str]:
    return {
        f
        for f in (fold(w) for w in words(re.sub(r"\[\d+\]", " ", text)))
        if len(f) > 1 and not f.isdigit() and f not in STOPWORDS
    }
