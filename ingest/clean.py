"""Remove the noise that scraping leaves in news articles, keeping the article's own words.

What is removed (all seen in the sample corpus): lines that are only a dot or punctuation,
image-caption counters ("1"), the tails news sites append after the article ("Tin liên quan",
"Các tin khác", "Phản hồi (2)", "Mới nhất", reader comments), a trailing run of other articles'
headlines, invisible characters and runs of blank lines. Sentences are never rewritten, so
citations quote the article verbatim.
"""

from __future__ import annotations

import re

from ingest.vietnamese import fold, nfc

# Section headings after which a news page holds other articles, comments or its widgets (a
# poll, the weather), not this one. Compared word for word: "Tin, bài liên quan:" is "Tin bài
# liên quan".
TAIL_MARKERS = frozenset(
    " ".join(fold(m).split())
    for m in (
        "Tin liên quan",
        "Tin bài liên quan",
        "Bài liên quan",
        "Các tin khác",
        "Tin khác",
        "Tin cùng chuyên mục",
        "Bài viết liên quan",
        "Các bài viết khác",
        "Phản hồi",
        "Ý kiến bạn đọc",
        "Bình luận",
        "Viết bình luận",
        "Viết bình luận mới",
        "Gửi bình luận",
        "Gửi ý kiến",
        "Ý kiến của bạn",
        "Thăm dò ý kiến",
        "Mới nhất",
        "Xem nhiều nhất",
        "Đọc nhiều nhất",
        "Tin mới",
        "Tin xem nhiều",
    )
)
# The share and print buttons a page repeats above or below the article ("Chia sẻ Facebook |
# In bài"): a line made only of these is page furniture wherever it stands.
SHARE_WORDS = frozenset(
    fold(w)
    for w in (
        "Chia sẻ", "Facebook", "Zalo", "Twitter", "Email", "In bài", "In", "Bản in", "Gửi bài",
        "Lưu", "Lưu bài", "Copy link", "Sao chép liên kết", "Thích", "Like", "Share", "Tweet",
        "Print", "Gửi email",
    )
)  # fmt: skip
_SHARE_RE = re.compile(rf"\b(?:{'|'.join(sorted(SHARE_WORDS, key=len, reverse=True))})\b")
SHARE_LINE_MAX_CHARS = 80
# A tail marker only counts once this much article text came before it, so a heading that
# happens to read "Phản hồi" at the top of a page does not swallow the article.
MIN_TEXT_BEFORE_TAIL = 200
# A trailing run of at least this many short, unpunctuated lines is a list of other headlines.
HEADLINE_RUN = 3
HEADLINE_MAX_CHARS = 160

_INVISIBLE = str.maketrans(
    {
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": None,
        "\u200c": None,
        "\u200d": None,
        "\u2060": None,
        "\ufeff": None,
        "\u00ad": None,
        "\t": " ",
        "\r": None,
        "\x0b": "\n",
        "\x0c": "\n",
        "\u2028": "\n",
        "\u2029": "\n",
    }
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_NOISE_LINE_RE = re.compile(r"^(?:[\W_]+|\d{1,3})$", re.UNICODE)
_MARKER_COUNT_RE = re.compile(r"\s*[\(\[]\s*\d+\s*[\)\]]\s*$")
_SPACES_RE = re.compile(r"[ ]{2,}")
# Markdown markup (headings, bold, a line in italics): the words stay, the marks go.
_MD_HEADING_RE = re.compile(r"^#{1,6}\s+")
_MD_BOLD_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_MD_ITALIC_LINE_RE = re.compile(r"^([*_])(?=\S)(.+)(?<=\S)\1$")
_SENTENCE_END = (".", "!", "?", "…", ":", ";", '"', "”", "’", ")")
_TABLE_ROW_RE = re.compile(r"^\|(.*\|.*)\|$")


def _is_tail_marker(line: str) -> bool:
    bare = _MARKER_COUNT_RE.sub("", line)
    return " ".join(re.findall(r"\w+", fold(bare))) in TAIL_MARKERS


def _is_share_line(line: str) -> bool:
    if len(line) > SHARE_LINE_MAX_CHARS:
        return False
    return not re.search(r"\w", _SHARE_RE.sub(" ", fold(line)))


def _is_headline(line: str) -> bool:
    return len(line) <= HEADLINE_MAX_CHARS and not line.endswith(_SENTENCE_END)


def clean_lines(text: str) -> list[str]:
    """Cleaned non-empty lines; ``""`` entries mark paragraph breaks."""
    text = _CONTROL_RE.sub("", nfc(text).translate(_INVISIBLE))
    lines: list[str] = []
    seen_chars = 0
    for raw in text.split("\n"):
        line = _unmark(_SPACES_RE.sub(" ", raw.strip()))
        if not line:
            if lines and lines[-1] != "":
                lines.append("")
            continue
        if _is_tail_marker(line) and seen_chars >= MIN_TEXT_BEFORE_TAIL:
            break
        if _NOISE_LINE_RE.match(line) or _is_share_line(line):
            continue
        lines.append(line)
        seen_chars += len(line)
    while lines and lines[-1] == "":
        lines.pop()
    return _drop_trailing_headlines(_tables_as_sentences(lines))


def _cells(line: str) -> list[str] | None:
    """The cells of a table row written "| a | b |" (HTML tables are extracted so, Markdown
    writes them so); None for any other line."""
    match = _TABLE_ROW_RE.match(line)
    return [c.strip() for c in match[1].split("|")] if match else None


def _tables_as_sentences(lines: list[str]) -> list[str]:
    """Each row of a table as one sentence that names its columns: "| 2022 | 347 |" under
    "| Năm | Số đảng viên kết nạp |" says nothing alone, "Năm 2022 — Số đảng viên kết nạp: 347."
    can be found, ranked, quoted and read for its figure like any sentence."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        header = _cells(lines[i])
        rows: list[list[str]] = []
        j = i + 1
        while header is not None and j < len(lines) and (cells := _cells(lines[j])) is not None:
            if not _is_rule(cells):
                rows.append(cells)
            j += 1
        if header is None or not rows:
            out.append(lines[i])
            i += 1
            continue
        names = [h.rstrip(" :") for h in header]
        # A table is a paragraph of its own: the text after it is not one of its rows.
        if out and out[-1] != "":
            out.append("")
        for cells in rows:
            first = cells[0]
            # "Năm" + "2022", "Xã" + "Sơn Vĩ"; a longer heading ("Chỉ tiêu") only labels.
            lead = (
                f"{names[0]} {first}"
                if names[0] and (first[:1].isdigit() or len(names[0].split()) == 1)
                else first
            )
            pairs = zip(names[1:], cells[1:], strict=False)  # a short row leaves columns empty
            parts = [f"{n}: {c}" if n else c for n, c in pairs if c]
            out.append(f"{lead} — {'; '.join(parts)}." if parts else f"{lead}.")
        if j < len(lines) and lines[j] != "":
            out.append("")
        i = j
    return out


def _is_rule(cells: list[str]) -> bool:
    return all(set(c) <= set("-: ") for c in cells)


def _unmark(line: str) -> str:
    line = _MD_BOLD_RE.sub(r"\2", _MD_HEADING_RE.sub("", line))
    return _MD_ITALIC_LINE_RE.sub(r"\2", line).strip()


def _drop_trailing_headlines(lines: list[str]) -> list[str]:
    content = [i for i, line in enumerate(lines) if line]
    run = 0
    for i in reversed(content):
        if not _is_headline(lines[i]):
            break
        run += 1
    # Keep at least one line that ends a sentence before the run, so a short note that happens
    # to be unpunctuated is never emptied.
    if run >= HEADLINE_RUN and run < len(content):
        cut = content[len(content) - run]
        lines = lines[:cut]
        while lines and lines[-1] == "":
            lines.pop()
    return lines


def clean_text(text: str) -> str:
    """The article text as it will be stored, indexed and quoted."""
    return "\n".join(clean_lines(text)).replace("\n\n\n", "\n\n").strip()
