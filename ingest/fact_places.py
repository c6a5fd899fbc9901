"""Where a figure is: the places a text names, and a generic one resolved to the article's.

"Huyện ủy Tuần Giáo", "Đảng bộ phường Đông Phong" are named places; "toàn huyện", "Đảng bộ thành
phố", "Huyện ủy" without a name are generic and stand for the article's place of that level (see
``ingest.facts`` for how a figure picks one).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from ingest.lexicon import NATIONAL, NATIONAL_SCOPES, NOT_PLACE_NAMES, ORGAN_WORDS
from ingest.models import Article

_LEVEL_WORDS: list[tuple[str, str]] = [
    # (pattern, level); longest first so "Khối các cơ quan tỉnh Lạng Sơn" is not "tỉnh Lạng Sơn".
    (r"Khối các cơ quan(?: và doanh nghiệp)? tỉnh", "Khối các cơ quan tỉnh"),
    (r"Khối doanh nghiệp tỉnh", "Khối doanh nghiệp tỉnh"),
    (r"[Tt]hành phố|TP\.?|[Tt]hành [uủ]y", "thành phố"),
    (r"[Tt]hị xã|[Tt]hị [uủ]y", "thị xã"),
    (r"[Tt]hị trấn", "thị trấn"),
    (r"[Hh]uyện [uủ]y|[Hh]uyện", "huyện"),
    (r"[Qq]uận [uủ]y|[Qq]uận", "quận"),
    (r"[Tt]ỉnh [uủ]y|[Tt]ỉnh", "tỉnh"),
    (r"[Pp]hường", "phường"),
    (r"[Xx]ã", "xã"),
]
_LEVEL_RE = re.compile(
    "|".join(f"(?P<l{i}>\\b(?:{pattern}))" for i, (pattern, _) in enumerate(_LEVEL_WORDS))
)
# A syllable of a name, those of minority languages with an apostrophe included: "Đắk P’lao".
_SYLLABLE_RE = re.compile(r"\s+([^\W\d_]+(?:['’][^\W\d_]+)*)")
# Generic mentions: "toàn huyện", "Đảng bộ thành phố", "Huyện ủy" (without a name after).
_GENERIC_RE = re.compile(
    r"\b[Tt]oàn (?P<a>huyện|thành phố|tỉnh|phường|xã|quận|thị xã|Đảng bộ)\b"
    r"|\b(?:Đảng bộ|Đảng ủy|Đảng uỷ|Ban Thường vụ|Thường trực) (?P<b>huyện|thành phố|tỉnh|phường|"
    r"xã|quận|thị xã|Khối)\b"
    r"|\b(?P<c>Huyện|Thành|Tỉnh|Quận|Thị) [uủ]y\b(?! viên)"
    # "của cả nước", "đông nhất cả nước" compare with the country; they do not count it.
    rf"|(?<!của )(?<!nhất )\b(?P<d>(?i:{'|'.join(NATIONAL_SCOPES)}))\b"
)
_GENERIC_LEVEL = {
    "huyện": "huyện",
    "thành phố": "thành phố",
    "thành": "thành phố",
    "tỉnh": "tỉnh",
    "phường": "phường",
    "xã": "xã",
    "quận": "quận",
    "thị xã": "thị xã",
    "thị": "thị xã",
    "khối": "Khối các cơ quan tỉnh",
    "đảng bộ": "",
    "đảng ủy": "",
    "đảng uỷ": "",
    **{scope: NATIONAL for scope in NATIONAL_SCOPES},
}


@dataclass(frozen=True)
class Mention:
    start: int
    end: int
    level: str  # "" for a bare "Đảng bộ"
    name: str | None  # None: generic, resolved against the article's places


def mentions(text: str) -> list[Mention]:
    """Every place ``text`` names, named or generic, in reading order."""
    found = _named_mentions(text)
    for match in _GENERIC_RE.finditer(text):
        if any(m.start <= match.start() < m.end for m in found):
            continue
        word = next(v for v in match.groupdict().values() if v is not None)
        level = _GENERIC_LEVEL[word.lower()]
        found.append(Mention(match.start(), match.end(), level, None))
    return sorted(found, key=lambda m: m.start)


def _named_mentions(text: str) -> list[Mention]:
    found: list[Mention] = []
    for match in _LEVEL_RE.finditer(text):
        level = next(
            _LEVEL_WORDS[int(k[1:])][1] for k, v in match.groupdict().items() if v is not None
        )
        names: list[str] = []
        pos = match.end()
        # Up to four capitalised syllables on the same line: "huyện Tuần Giáo".
        while len(names) < 4:
            syllable = _SYLLABLE_RE.match(text, pos)
            if syllable is None or "\n" in text[pos : syllable.start(1)]:
                break
            word = syllable.group(1)
            if not word[:1].isupper() or (not names and _not_a_name(text, word, syllable.end())):
                break
            names.append(word)
            pos = syllable.end()
        if names:
            found.append(Mention(match.start(), pos, level, " ".join(names)))
    return found


def _not_a_name(text: str, word: str, end: int) -> bool:
    """Whether a capitalised word after a level word starts something else than the place's name:
    "tỉnh Đảng …", "huyện Đại hội …" but not "huyện Đại Lộc" or "TP. Nha Trang". Compared with
    accents, since folded "Nhà" (nước) is "Nha" (Trang)."""
    lowered = word.lower()
    if lowered in NOT_PLACE_NAMES:
        return True
    if lowered not in ORGAN_WORDS:
        return False
    following = _SYLLABLE_RE.match(text, end)
    return following is None or not following.group(1)[:1].isupper()


class Places:
    """The places an article names, to resolve generic mentions ("toàn huyện")."""

    def __init__(self, article: Article) -> None:
        found = mentions(article.text)
        self.counts = Counter((m.level, m.name) for m in found if m.name)
        title_named = [m for m in mentions(article.title) if m.name]
        self.title = [(m.level, m.name) for m in title_named]
        self.main: tuple[str, str] | None = None
        if self.title:
            self.main = (self.title[0][0], str(self.title[0][1]))
        elif self.counts:
            # The article's own place: the one named most, its level's unnamed mentions counted
            # with it. A province's report names each district once and itself as "Tỉnh ủy",
            # "toàn tỉnh"; a district's names its province once and itself as "Huyện ủy".
            generic = Counter(m.level for m in found if m.name is None and m.level)
            level, name = max(self.counts, key=lambda key: self.counts[key] + generic[key[0]])
            self.main = (level, str(name))

    def resolve(self, mention: Mention) -> tuple[str, str] | None:
        if mention.name is not None:
            return mention.level, mention.name
        if mention.level == NATIONAL:
            return NATIONAL, ""
        if not mention.level:
            return self.main
        for level, name in self.title:
            if level == mention.level and name:
                return level, name
        same = [(key, n) for key, n in self.counts.most_common() if key[0] == mention.level]
        if same:
            level, name = same[0][0]
            return level, str(name)
        if self.main and self.main[0] == mention.level:
            return self.main
        return None


def place_text(place: tuple[str, str]) -> str:
    return f"{place[0]} {place[1]}".strip()
