"""Facts as text: the lines of fact answers, ``tinbot facts`` and ``/stats``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from ingest.facts import Fact
from ingest.numbers import format_percent


def reading_order(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=lambda f: (f.article_id, f.figure_start))


def capitalised(text: str | None) -> str:
    if not text:
        return "(không rõ nơi)"
    return text[:1].upper() + text[1:]


def period_of(fact: Fact) -> str:
    period = fact.period or "không rõ thời gian"
    if fact.per_year and not re.search(r"\b(?:hằng|hàng|mỗi) năm\b", period):
        return f"{period}, mỗi năm"
    return period


def describe(fact: Fact) -> str:
    """ "Huyện Tuần Giáo — đảng viên mới kết nạp: 470 đảng viên (từ năm 2016 đến 31-3-2018)"."""
    figure = fact.figure
    if fact.measure == "ratio" and fact.denominator:
        figure += f" ({format_percent(fact.value / fact.denominator * 100)})"
    return f"{capitalised(fact.place)} — {fact.label}: {figure} ({period_of(fact)})"


# --- `tinbot facts` -------------------------------------------------------------------------


def format_facts(facts: Sequence[Fact], titles: dict[str, str] | None = None) -> str:
    """Facts as text, each sentence quoted once after the facts it gives: for the CLI and
    ``/stats``."""
    lines: list[str] = []
    for i, fact in enumerate(facts):
        lines.append(describe(fact))
        if fact.note:
            lines.append(f"    Lưu ý: {fact.note}.")
        following = facts[i + 1] if i + 1 < len(facts) else None
        if following is None or (following.article_id, following.start) != (
            fact.article_id,
            fact.start,
        ):
            source = f" — {titles[fact.article_id]}" if titles and fact.article_id in titles else ""
            lines.append(f"    “{fact.sentence}”{source}")
    return "\n".join(lines)


def fact_to_json(fact: Fact, origin: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        name: getattr(fact, name)
        for name in (
            "article_id kind segment measure value high denominator bound unit figure target "
            "per_year place period year_from year_to sentence start end note"
        ).split()
    }
    data["origin"] = origin
    return data
