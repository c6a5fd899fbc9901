"""Read sources — files, folders, URLs — into decoded text, refusing what is unsafe or unreadable.

Every refusal is an ``IngestError`` whose message names the source and the reason; nothing here
touches the stores, so a refused source leaves the index as it was.
"""

from __future__ import annotations

import io
import ipaddress
import json
import logging
import socket
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ingest.errors import (
    BlockedURLError,
    EmptySourceError,
    IngestError,
    SourceTooLargeError,
    UnsupportedSourceError,
)
from ingest.models import RawDocument
from ingest.vietnamese import nfc

if TYPE_CHECKING:
    import httpx

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

_CONTENT_TYPES = {
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "application/pdf": ".pdf",
}
# A text whose share of these is above the threshold is not text.
_BINARY_SHARE = 0.02
# Bytes of cp1258 that are Vietnamese tone marks or letters; a legacy file shows many of them.
_CP1258_MARKS = frozenset(b"\xcc\xec\xd2\xde\xf2\xc3\xe3\xd0\xf0\xd5\xf5\xdd\xfd")


@dataclass(frozen=True)
class LoadLimits:
    max_bytes: int = 20 * 1024 * 1024
    allow_private_urls: bool = False
    timeout: float = 20.0
    max_redirects: int = 5
    max_pdf_pages: int = 300


def is_url(source: str) -> bool:
    return urlsplit(source).scheme.lower() in {"http", "https"}


def _human(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


# --- expanding sources ----------------------------------------------------------------------
def expand_source(source: str) -> list[str]:
    """The origins a source stands for: a URL, a file, or the supported files under a folder."""
    if is_url(source):
        return [source]
    scheme = urlsplit(source).scheme
    if "://" in source and scheme:
        raise UnsupportedSourceError(f"{source}: URL scheme {scheme!r} not supported (http/https)")
    path = Path(source).expanduser()
    if path.is_dir():
        return [str(p) for p in _walk(path.resolve())]
    if path.is_file():
        return [str(path.resolve())]
    raise IngestError(f"{source}: no such file or folder")


def _walk(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield path


# --- loading ---------------------------------------------------------------------------------
def load(origin: str, limits: LoadLimits | None = None) -> RawDocument:
    limits = limits or LoadLimits()
    if is_url(origin):
        return fetch_url(origin, limits)
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
            f"{origin}: too large ({_human(size)}; the limit is {_human(limits.max_bytes)})"
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
            f"{origin}: too large ({_human(len(data))}; the limit is {_human(limits.max_bytes)})"
        )
    if not data.strip():
        raise EmptySourceError(f"{origin}: empty file")
    if suffix in PDF_SUFFIXES:
        return _load_pdf(data, origin, limits)
    text = decode(data, origin, charset=charset)
    if suffix in HTML_SUFFIXES:
        return load_html(text, origin)
    if not text.strip():
        raise EmptySourceError(f"{origin}: empty file")
    return RawDocument(origin=origin, text=text, content_type="text/plain")


def decode(data: bytes, origin: str = "input", *, charset: str | None = None) -> str:
    """Bytes → NFC text: UTF-8, UTF-16/32 with BOM, legacy Vietnamese cp1258, or the declared
    ``charset``; binary data is refused instead of being indexed as mojibake."""
    text: str | None = None
    for bom, codec in (
        (b"\xef\xbb\xbf", "utf-8-sig"),
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise IngestError(f"{origin}: broken {codec} text ({exc.reason})") from exc
            break
    if text is None:
        if b"\x00" in data:
            raise UnsupportedSourceError(f"{origin}: binary data, not text")
        text = _decode_without_bom(data, charset)
    if _looks_binary(text):
        raise UnsupportedSourceError(f"{origin}: binary data, not text")
    return nfc(text)


def _decode_without_bom(data: bytes, charset: str | None) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            logger.info("declared charset %r does not decode; guessing", charset)
    high = [b for b in data if b >= 0x80]
    if high and sum(b in _CP1258_MARKS for b in high) / len(high) > 0.2:
        # Legacy Vietnamese Windows text; tones come as combining marks, NFC composes them.
        return data.decode("cp1258", errors="replace")
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    if best is not None:
        return str(best)
    return data.decode("cp1258", errors="replace")


def _looks_binary(text: str) -> bool:
    if not text:
        return False
    sample = text[:20000]
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f\v") or ch in "\ufffd\x7f")
    return bad / len(sample) > _BINARY_SHARE


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
    title = doc.get("title") or None
    if title:
        # Site suffixes in <title> ("… - Báo Lai Châu") are kept: they name the publisher.
        text = text if text.lstrip().startswith(title) else f"{title}\n\n{text}"
    return RawDocument(
        origin=origin,
        text=nfc(text),
        title=nfc(title) if title else None,
        date=doc.get("date") or None,
        author=doc.get("author") or None,
        content_type="text/html",
    )


def _load_pdf(data: bytes, origin: str, limits: LoadLimits) -> RawDocument:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

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
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"{origin}: unreadable PDF ({exc})") from exc
    text = nfc("\n\n".join(texts))
    if not text.strip():
        raise EmptySourceError(f"{origin}: empty — the PDF has no extractable text (scanned?)")
    meta = reader.metadata
    title = str(meta.title) if meta is not None and meta.title else None
    return RawDocument(origin=origin, text=text, title=title, content_type="application/pdf")


# --- URLs ------------------------------------------------------------------------------------
def check_host(url: str, limits: LoadLimits) -> None:
    """Refuse URLs whose host resolves to a private, loopback, link-local or otherwise
    non-public address (every DNS answer is checked), unless private URLs are allowed."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        raise UnsupportedSourceError(f"{url}: URL scheme {parts.scheme!r} not supported")
    host = parts.hostname
    if not host:
        raise BlockedURLError(f"{url}: no host in URL")
    if parts.username or parts.password:
        raise BlockedURLError(f"{url}: URLs with credentials are refused")
    if limits.allow_private_urls:
        return
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise IngestError(f"{url}: cannot resolve host {host!r}") from exc
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise BlockedURLError(
                f"{url}: refused — {host} resolves to a private or local address ({address}); "
                "set TINBOT_ALLOW_PRIVATE_URLS=1 to allow it"
            )


def fetch_url(url: str, limits: LoadLimits) -> RawDocument:
    """Download an article page, PDF or text file under every limit, and decode it."""
    body, mime, charset = fetch_bytes(url, limits, accept=_CONTENT_TYPES)
    suffix = _CONTENT_TYPES.get(mime) or Path(urlsplit(url).path).suffix.lower()
    return load_bytes(
        body, filename="download" + suffix, origin=url, limits=limits, charset=charset
    )


def fetch_bytes(
    url: str, limits: LoadLimits, *, accept: Mapping[str, str] | Collection[str]
) -> tuple[bytes, str, str | None]:
    """GET ``url`` with redirects followed by hand, so each hop's host is checked, and the body
    streamed under the size cap (counted after decompression). Returns body, MIME type and
    declared charset; a MIME type outside ``accept`` is refused (an empty or generic one is
    allowed when the URL's file suffix is supported)."""
    import httpx

    current = url
    headers = {"User-Agent": "tinbot/0.1 (+article ingest)", "Accept-Encoding": "gzip, deflate"}
    timeout = httpx.Timeout(limits.timeout)
    with httpx.Client(timeout=timeout, follow_redirects=False, headers=headers) as client:
        for _hop in range(limits.max_redirects + 1):
            check_host(current, limits)
            try:
                with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise IngestError(f"{url}: redirect without a location")
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        raise IngestError(f"{url}: HTTP {response.status_code}")
                    mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if mime not in accept:
                        path_suffix = Path(urlsplit(url).path).suffix.lower()
                        generic = mime in {"", "application/octet-stream", "text/plain"}
                        if not (generic and path_suffix in SUPPORTED_SUFFIXES | {".xml", ".rss"}):
                            raise UnsupportedSourceError(
                                f"{url}: content type {mime or '(none)'!r} not supported"
                            )
                    return _read_body(url, response, limits), mime, response.charset_encoding
            except httpx.TimeoutException as exc:
                raise IngestError(f"{url}: timed out after {limits.timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise IngestError(f"{url}: download failed ({type(exc).__name__})") from exc
    raise IngestError(f"{url}: too many redirects (more than {limits.max_redirects})")


def _read_body(url: str, response: httpx.Response, limits: LoadLimits) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise SourceTooLargeError(
            f"{url}: too large ({_human(int(declared))}; the limit is {_human(limits.max_bytes)})"
        )
    body = bytearray()
    for piece in response.iter_bytes():
        body.extend(piece)
        if len(body) > limits.max_bytes:
            raise SourceTooLargeError(
                f"{url}: too large (over {_human(limits.max_bytes)} after decompression)"
            )
    return bytes(body)
