"""Split articles into overlapping passages along Vietnamese sentence boundaries.

Every span is a pair of offsets into ``Article.text``, so a citation can quote exactly what the
article says and the bot can show the context around it.
"""

from __future__ import annotations

import hashlib
import re

from ingest.models import Article, Chunk

# Abbreviations that end in a dot but do not end a sentence ("TP. Kon Tum", "TS. Nguyễn").
ABBREVIATIONS = frozenset(
    {
        "tp",
        "ts",
        "ths",
        "pgs",
        "gs",
        "bs",
        "ks",
        "cn",
        "th.s",
        "tt",
        "q",
        "p",
        "tx",
        "st",
        "mr",
        "mrs",
        "dr",
        "no",
        "vs",
        "v.v",
        "vv",
        "etc",
        "e.g",
        "i.e",
    }
)

# Candidate boundaries: terminal punctuation (with any closing quotes/brackets) followed by
# whitespace, or a line break. Dots inside numbers ("3.790") are never followed by whitespace.
_END_RE = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|\n")
_WORD_BEFORE_RE = re.compile(r"([^\W\d_][\w.]*)$", re.UNICODE)


def _is_abbreviation(text: str, dot: int) -> bool:
    """Whether the punctuation run starting at ``dot`` closes an abbreviation or an initial."""
    if text[dot] != ".":
        return False
    match = _WORD_BEFORE_RE.search(text, max(0, dot - 12), dot)
    if match is None:
        return False
    word = match.group(1)
    if word.lower() in ABBREVIATIONS:
        return True
    # A single capital letter ("Nguyễn V. A") is an initial, not a sentence.
    return len(word) == 1 and word.isupper()


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans ``(start, end)`` of ``text``, stripped of surrounding whitespace.

    Line breaks always end a sentence: scraped articles put captions and headings on their own
    lines without punctuation.
    """
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _END_RE.finditer(text):
        if match.group() != "\n" and _is_abbreviation(text, match.start()):
            continue
        _add_span(text, start, match.end(), spans)
        start = match.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start, end))


def _split_long(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut a sentence longer than ``size`` at whitespace so no passage grows unbounded."""
    pieces: list[tuple[int, int]] = []
    while end - start > size:
        cut = text.rfind(" ", start + size // 2, start + size)
        if cut <= start:
            cut = start + size
        pieces.append((start, cut))
        start = cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        pieces.append((start, end))
    return pieces


def chunk_spans(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """Group sentences into passages of about ``size`` characters; consecutive passages share
    trailing sentences worth up to ``overlap`` characters.

    A paragraph that fits in one passage is not cut across two when the passage holding its
    start is already reasonably full: a list introduced by "đó là:" and its items belong together.
    """
    if size <= 0:
        raise ValueError("chunk size must be positive")
    sentences: list[tuple[int, int]] = []
    for s, e in split_sentences(text):
        sentences.extend(_split_long(text, s, e, size) if e - s > size else [(s, e)])
    n = len(sentences)
    # Where each sentence's paragraph ends (paragraphs are separated by line breaks).
    para_end = [0] * n
    starts_para = [True] * n
    for idx in range(n - 1, -1, -1):
        if idx > 0:
            starts_para[idx] = "\n" in text[sentences[idx - 1][1] : sentences[idx][0]]
        following = idx + 1 < n and not starts_para[idx + 1]
        para_end[idx] = para_end[idx + 1] if following else sentences[idx][1]

    chunks: list[tuple[int, int]] = []
    i = 0
    while i < n:
        begin = sentences[i][0]
        j = i
        while j + 1 < n and sentences[j + 1][1] - begin <= size:
            nxt = j + 1
            if (
                starts_para[nxt]
                and para_end[nxt] - begin > size
                and para_end[nxt] - sentences[nxt][0] <= size
                and sentences[j][1] - begin >= size // 3
            ):
                break
            j += 1
        chunks.append((begin, sentences[j][1]))
        if j + 1 >= n:
            break
        # Step back over trailing sentences that fit in the overlap, but always move forward,
        # and never so far that the paragraph starting next would be cut again.
        k = j + 1
        while k - 1 > i and sentences[j][1] - sentences[k - 1][0] <= overlap:
            k -= 1
        if starts_para[j + 1] and para_end[j + 1] - sentences[k][0] > size:
            k = j + 1
        i = k
    return chunks


def chunk_id_for(article_id: str, position: int, text: str) -> str:
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return f"{article_id}-{position:04d}-{digest}"


def chunk_article(article: Article, *, size: int = 600, overlap: int = 150) -> list[Chunk]:
    return [
        Chunk(
            chunk_id=chunk_id_for(article.article_id, position, article.text[start:end]),
            article_id=article.article_id,
            position=position,
            start=start,
            end=end,
            text=article.text[start:end],
        )
        for position, (start, end) in enumerate(chunk_spans(article.text, size, overlap))
    ]
