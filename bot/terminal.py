"""Text from input (file names, titles, origins, article text) made safe to print on a terminal.

A file name or title may carry ESC/BEL and other control characters that a terminal obeys
(escape-sequence injection), bidi overrides that reorder what the reader sees, or bytes that are
not UTF-8 (surrogate escapes from the file system), which cannot be printed at all. They are
shown as backslash escapes instead: visible, and telling which character it was.
"""

from __future__ import annotations

import json
import re
from typing import Any

# DEL, C1 controls (the one-character CSI \x9b among them), the bidi marks, embeddings,
# overrides and isolates, and surrogates (undecodable bytes arrive as surrogate escapes).
_UNSAFE_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE_RE = re.compile(f"[\x00-\x1f{_UNSAFE_BEYOND_C0}]")
# The same but line breaks and tabs, for multi-line text such as an answer.
_UNSAFE_IN_TEXT_RE = re.compile(f"[\x00-\x08\x0b-\x1f{_UNSAFE_BEYOND_C0}]")
# json.dumps escapes C0 itself.
_UNSAFE_IN_JSON_RE = re.compile(f"[{_UNSAFE_BEYOND_C0}]")


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, as os.fsdecode carried it
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def safe_line(text: str) -> str:
    """``text`` on one line with every control character escaped (names, titles, errors)."""
    return _UNSAFE_RE.sub(_escape, text)


def safe_text(text: str) -> str:
    """Like ``safe_line``, but keeping line breaks and tabs (answers, quotes, lists)."""
    return _UNSAFE_IN_TEXT_RE.sub(_escape, text)


def safe_json(data: Any) -> str:
    """JSON for a terminal: the same value, with what ``json.dumps`` leaves raw even though a
    terminal would act on it (C1 controls, bidi controls, lone surrogates) as ``\\uXXXX``."""
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return _UNSAFE_IN_JSON_RE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
