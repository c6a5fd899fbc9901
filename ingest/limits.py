"""What a source may be: the file types tinbot reads and the limits every load runs under."""

from __future__ import annotations

from dataclasses import dataclass

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


@dataclass(frozen=True)
class LoadLimits:
    max_bytes: int = 20 * 1024 * 1024
    allow_private_urls: bool = False
    timeout: float = 20.0
    max_redirects: int = 5
    max_pdf_pages: int = 300


def human_size(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"
