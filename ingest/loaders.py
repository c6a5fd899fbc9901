"""Read sources — files, folders, URLs — into decoded text, refusing what is unsafe or unreadable.

Every refusal is an ``IngestError`` whose message names the source and the reason; nothing here
touches the stores, so a refused source leaves the index as it was.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from dataclasses import dataclass, field, replace
from html import unescape
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ingest.decoding import decode, decode_with_warnings
from ingest.errors import (
    EmptySourceError,
    IngestError,
    SourceTooLargeError,
    UnsupportedSourceError,
)
from ingest.fetch import check_host, fetch_bytes
from ingest.limits import (
    HTML_SUFFIXES,
    PDF_SUFFIXES,
    SUPPORTED_SUFFIXES,
    TEXT_SUFFIXES,
    LoadLimits,
    human_size,
)
from ingest.models import RawDocument
from ingest.vietnamese import nfc

if TYPE_CHECKING:
    pass

logger = logging.getLogger(__name__)

# Re-exported: callers read sources through this module.
__all__ = [
    "SUPPORTED_SUFFIXES",
    "TEXT_SUFFIXES",
    "Expansion",
    "LoadLimits",
    "check_host",
    "decode",
    "decode_with_warnings",
    "expand_source",
    "fetch_bytes",
    "fetch_url",
    "is_url",
    "load",
    "load_bytes",
    "load_html",
]

_CONTENT_TYPES = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
}


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in {"http", "https"}


# --- expanding sources ----------------------------------------------------------------------
@dataclass(frozen=True)
class Expansion:
    """What a source stands for: the origins to load, and the entries of a folder that were
    refused on the way (each error names its entry), so one bad entry never ends the walk."""

    origins: list[str]
    refused: list[tuple[str, IngestError]] = field(default_factory=list)


def expand_source(source: str) -> Expansion:
    """A URL, a file, or the supported files under a folder."""
    if is_url(source):
        return Expansion([source])
    scheme = urlsplit(source).scheme
    if "://" in source and scheme:
        raise UnsupportedSourceError(f"{source}: URL scheme {scheme!r} not supported (http/https)")
    path = Path(source).expanduser()
    if path.is_dir():
        return _walk(path.resolve())
    if path.is_file():
        return Expansion([str(path.resolve())])
    raise IngestError(f"{source}: no such file or folder")


def _walk(folder: Path) -> Expansion:
    """The supported, non-hidden files under ``folder``. Symlinks are not followed out of it:
    a link inside the folder to ``/etc/passwd`` must not ingest what the same path given
    directly would refuse; links to folders are never descended (no loops)."""
    found: set[str] = set()
    refused: list[tuple[str, IngestError]] = []
    for top, dirs, files in os.walk(folder):
        base = Path(top)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in list(dirs):
            if (base / name).is_symlink():
                dirs.remove(name)
                # A link to a folder inside is walked through its real path already.
                target, why = _link_target(base / name, folder)
                if target is None:
                    refused.append((str(base / name), IngestError(f"{base / name}: {why}")))
        for name in files:
            path = base / name
            if name.startswith(".") or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                continue
            if not path.is_symlink():
                found.add(str(path))
                continue
            target, why = _link_target(path, folder)
            if target is None:
                refused.append((str(path), IngestError(f"{path}: {why}")))
            elif target.is_file():
                found.add(str(target))
    return Expansion(sorted(found), refused)


def _link_target(link: Path, folder: Path) -> tuple[Path | None, str]:
    """Where ``link`` leads if that is inside ``folder``, else None and why it is not followed."""
    try:
        target = link.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a symlink loop so
        return None, "symlink loop; not followed"
    except OSError as exc:
        return None, f"broken symlink ({exc.strerror}); not followed"
    if not target.is_relative_to(folder):
        return None, f"symlink to {target}, outside {folder}; not followed"
    return target, ""


# --- loading ---------------------------------------------------------------------------------
def load(origin: str, limits: LoadLimits | None = None) -> RawDocument:
    limits = limits or LoadLimits()
    if is_url(origin):
        return fetch_url(origin, limits)
    try:
        origin.encode("utf-8")
    except UnicodeEncodeError:
        # Bytes the file system gave that are not UTF-8 (arrived as surrogate escapes): such a
        # name cannot be stored, shown or cited as the article's origin.
        raise IngestError(f"{origin}: the file name is not valid UTF-8; rename the file") from None
    path = Path(origin)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedSourceError(
            f"{origin}: file type {suffix or '(none)'!r} not supported "
            f"(use {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"{origin}: cannot read ({exc.strerror})") from exc
    if size > limits.max_bytes:
        raise SourceTooLargeError(
            f"{origin}: too large ({human_size(size)}; the limit is {human_size(limits.max_bytes)})"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"{origin}: cannot read ({exc.strerror})") from exc
    return load_bytes(data, filename=path.name, origin=origin, limits=limits)


def load_bytes(
    data: bytes,
    *,
    filename: str,
    origin: str,
    limits: LoadLimits | None = None,
    charset: str | None = None,
) -> RawDocument:
    """Decode an uploaded or downloaded file; its type comes from ``filename``'s suffix."""
    limits = limits or LoadLimits()
    suffix = Path(filename).suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedSourceError(
            f"{origin}: file type {suffix or '(none)'!r} not supported "
            f"(use {', '.join(sorted(SUPPORTED_SUFFIXES))})"
        )
    if len(data) > limits.max_bytes:
        raise SourceTooLargeError(
            f"{origin}: too large ({human_size(len(data))}; "
            f"the limit is {human_size(limits.max_bytes)})"
        )
    if not data.strip():
        raise EmptySourceError(f"{origin}: empty file")
    if suffix in PDF_SUFFIXES:
        return _load_pdf(data, origin, limits)
    text, warnings = decode_with_warnings(data, origin, charset=charset)
    if suffix in HTML_SUFFIXES:
        return replace(load_html(text, origin), warnings=warnings)
    if not text.strip():
        raise EmptySourceError(f"{origin}: empty file")
    return RawDocument(origin=origin, text=text, content_type="text/plain", warnings=warnings)


def load_html(html: str, origin: str) -> RawDocument:
    """Main article text and metadata through trafilatura; scripts, styles, menus and comments
    are dropped by the extractor, never executed or indexed."""
    import trafilatura

    try:
        extracted = trafilatura.extract(
            html,
            output_format="json",
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            favor_recall=True,
            url=origin if is_url(origin) else None,
        )
    except Exception as exc:  # the extractor raises many kinds on malformed markup
        raise IngestError(f"{origin}: could not parse HTML ({type(exc).__name__})") from exc
    if not extracted:
        raise EmptySourceError(f"{origin}: empty — no article text found in the HTML")
    doc = json.loads(extracted)
    text = doc.get("text") or doc.get("raw_text") or ""
    if not text.strip():
        raise EmptySourceError(f"{origin}: empty — no article text found in the HTML")
    text = _paragraphs(text)
    title = doc.get("title") or None
    if title:
        text = text if text.lstrip().startswith(title) else f"{title}\n\n{text}"
    publisher = publisher_of(html, title)
    return RawDocument(
        origin=origin,
        text=nfc(text),
        title=nfc(title) if title else None,
        date=doc.get("date") or None,
        author=doc.get("author") or None,
        publisher=nfc(publisher) if publisher else None,
        content_type="text/html",
    )


# Lines that continue the block above them: a list's items and a table's rows.
_CONTINUATION_RE = re.compile(r"\s*(?:[-*+•]\s|\|)")


def _paragraphs(text: str) -> str:
    """The extractor writes one line per block (paragraph, heading, list item, table row);
    the pipeline reads a blank line as a paragraph break, as in text files. Items and rows stay
    with the block above them, so that a list is one paragraph with its introduction."""
    out: list[str] = []
    for line in text.split("\n"):
        if out and line.strip() and not _CONTINUATION_RE.match(line):
            out.append("")
        out.append(line)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out))


MAX_HEAD_CHARS = 200_000  # where a page's <title> and <meta> tags are looked for
# Tags are matched within a bounded length that stops at the next "<": a page of 30,000 "<meta "
# without a ">" took seconds with open-ended patterns (each start scanned to the end).
_SITE_NAME_RE = re.compile(r"<meta\s[^<>]{0,300}?og:site_name[^<>]{0,300}>", re.IGNORECASE)
_CONTENT_RE = re.compile(r"\bcontent\s*=\s*[\"']([^\"'<>]{2,120})[\"']", re.IGNORECASE)
_TITLE_RE = re.compile(r"<title[^<>]{0,200}>([^<]{1,500})</title>", re.IGNORECASE)
_SUFFIX_RE = re.compile(r"^\s*(?:\||-|–|—|::|»)\s*(.{2,120}?)\s*$")


def _squeezed(markup_text: str) -> str:
    """Entities decoded, runs of whitespace made one space."""
    return " ".join(unescape(markup_text).split())


def publisher_of(html: str, title: str | None) -> str | None:
    """The site's name: ``og:site_name``, else what ``<title>`` adds after the article's title
    ("… | Báo Phú Thọ điện tử"); the extractor drops that suffix from the title it returns. Only
    the page's head is read."""
    head = html[:MAX_HEAD_CHARS]
    site = _SITE_NAME_RE.search(head)
    content = _CONTENT_RE.search(site.group()) if site else None
    if content:
        return _squeezed(content.group(1)) or None
    whole = _TITLE_RE.search(head)
    if not whole or not title:
        return None
    page_title = _squeezed(whole.group(1))
    if not page_title.startswith(title):
        # The extractor took the headline from the page's <h1>: a pipe still ends the
        # <title> with the site's name, which a headline hardly ever holds.
        _, pipe, site_name = page_title.rpartition(" | ")
        return (site_name.strip() or None) if pipe else None
    suffix = _SUFFIX_RE.match(page_title[len(title) :])
    return suffix.group(1) if suffix else None


def _load_pdf(data: bytes, origin: str, limits: LoadLimits) -> RawDocument:
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnsupportedSourceError(f"{origin}: encrypted PDF not supported")
        pages = len(reader.pages)
        if pages > limits.max_pdf_pages:
            raise SourceTooLargeError(
                f"{origin}: too large ({pages} pages; the limit is {limits.max_pdf_pages})"
            )
        texts = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title = str(meta.title) if meta is not None and meta.title else None
    except IngestError:
        raise
    except LimitReachedError as exc:
        # pypdf's guards against decompression bombs and runaway content streams.
        raise SourceTooLargeError(
            f"{origin}: refused — the PDF exceeds a safety limit ({exc})"
        ) from exc
    except Exception as exc:  # pypdf raises many kinds on malformed or hostile files
        raise IngestError(f"{origin}: unreadable PDF ({type(exc).__name__}: {exc})") from exc
    text = nfc("\n\n".join(texts))
    if not text.strip():
        raise EmptySourceError(f"{origin}: empty — the PDF has no extractable text (scanned?)")
    return RawDocument(origin=origin, text=text, title=title, content_type="application/pdf")


def fetch_url(url: str, limits: LoadLimits) -> RawDocument:
    """Download an article page, PDF or text file under every limit, and decode it."""
    body, mime, charset = fetch_bytes(url, limits, accept=_CONTENT_TYPES)
    suffix = _CONTENT_TYPES.get(mime) or Path(urlsplit(url).path).suffix.lower()
    return load_bytes(
        body, filename="download" + suffix, origin=url, limits=limits, charset=charset
    )
