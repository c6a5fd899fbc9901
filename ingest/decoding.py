"""Bytes to text: UTF-8 (with a few stray bytes tolerated and reported), UTF-16/32 with or
without a byte-order mark, legacy Vietnamese cp1258, or a declared charset; binary data refused
rather than indexed as mojibake."""

from __future__ import annotations

import logging
import re

from ingest.errors import IngestError, UnsupportedSourceError
from ingest.vietnamese import nfc

logger = logging.getLogger(__name__)

# A text whose share of these is above the threshold is not text.
_BINARY_SHARE = 0.02
# Bytes of cp1258 that are Vietnamese tone marks or letters; a legacy file shows many of them.
_CP1258_MARKS = frozenset(b"\xcc\xec\xd2\xde\xf2\xc3\xe3\xd0\xf0\xd5\xf5\xdd\xfd")
# UTF-8 text with a few stray bytes from another encoding (a pasted cp1252 quote) is still
# UTF-8: at most this share of its bytes invalid, and at least this many valid non-ASCII
# characters per invalid byte (legacy cp1258 text has hardly any valid UTF-8 sequence).
_STRAY_BYTES_SHARE = 0.01
_VALID_PER_STRAY = 10
# A text file with this share of NUL bytes or less is text with a few stray NULs, not binary.
_STRAY_NUL_SHARE = 0.01
# BOM-less UTF-16: at least this share of one byte column is NUL (the high bytes of ASCII
# letters), at most the other share in the other column.
_UTF16_NUL_SHARE = 0.2
_UTF16_OTHER_NUL_SHARE = 0.01
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def decode(data: bytes, origin: str = "input", *, charset: str | None = None) -> str:
    """Bytes → NFC text (see ``decode_with_warnings``)."""
    return decode_with_warnings(data, origin, charset=charset)[0]


def decode_with_warnings(
    data: bytes, origin: str = "input", *, charset: str | None = None
) -> tuple[str, tuple[str, ...]]:
    """Bytes → NFC text: UTF-8, UTF-16/32 with or without BOM, legacy Vietnamese cp1258, or the
    declared ``charset``; binary data is refused instead of being indexed as mojibake. What was
    repaired on the way (stray invalid bytes, stray NULs) comes back as warnings."""
    warnings: list[str] = []
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
        text = _utf16_without_bom(data)
    if text is None:
        if b"\x00" in data:
            nuls = data.count(0)
            data = data.replace(b"\x00", b"")
            # Most binary files hold NULs; text with a stray one is still text if the rest
            # is plain UTF-8.
            if nuls > len(data) * _STRAY_NUL_SHARE or _mostly_utf8(data) is None:
                raise UnsupportedSourceError(f"{origin}: binary data, not text")
            warnings.append(f"{nuls} NUL byte{'s' if nuls > 1 else ''} removed")
        text, replaced = _decode_without_bom(data, charset)
        if replaced:
            plural = "s" if replaced > 1 else ""
            warnings.append(f"{replaced} invalid UTF-8 byte{plural} replaced with U+FFFD")
    if _looks_binary(text):
        raise UnsupportedSourceError(f"{origin}: binary data, not text")
    return nfc(text), tuple(warnings)


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text written without a byte-order mark (some Windows tools do): one byte of every
    pair is NUL for ASCII letters, digits and spaces, which every article has plenty of."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    for codec, zeros, other in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if (
            zeros.count(0) >= len(zeros) * _UTF16_NUL_SHARE
            and other.count(0) <= len(other) * _UTF16_OTHER_NUL_SHARE
        ):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            if not _looks_binary(text):
                return text
    return None


def _mostly_utf8(data: bytes) -> tuple[str, int] | None:
    """``data`` as UTF-8 with its invalid bytes replaced, and how many there were; None when
    so many are invalid that the text is in another encoding."""
    text = data.decode("utf-8", errors="surrogateescape")
    invalid = len(_ESCAPED_BYTE.findall(text))
    if not invalid:
        return text, 0
    if invalid > len(data) * _STRAY_BYTES_SHARE:
        return None
    valid = sum(1 for ch in text if "\x80" <= ch < "\udc80" or ch > "\udcff")
    if valid < invalid * _VALID_PER_STRAY:
        return None
    return _ESCAPED_BYTE.sub("\ufffd", text), invalid


def _decode_without_bom(data: bytes, charset: str | None) -> tuple[str, int]:
    """The text and how many invalid bytes were replaced in it."""
    mostly = _mostly_utf8(data)
    if mostly is not None:
        return mostly
    return _decode_legacy(data, charset), 0


def _decode_legacy(data: bytes, charset: str | None) -> str:
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
