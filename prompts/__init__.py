"""Prompt templates, kept as data files next to this module.

A prompt is a LangChain f-string template (``{name}`` placeholders, literal braces doubled);
``load_prompt("system")`` finds ``system.md`` or ``system.txt``.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

SUFFIXES = (".md", ".txt")


def prompt_names() -> list[str]:
    """Names of every prompt file shipped in this package."""
    files = resources.files(__name__).iterdir()
    return sorted(f.name.rsplit(".", 1)[0] for f in files if f.name.endswith(SUFFIXES))


@cache
def load_prompt(name: str) -> str:
    folder = resources.files(__name__)
    for suffix in SUFFIXES:
        path = folder / f"{name}{suffix}"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    raise FileNotFoundError(f"no prompt named {name!r} in {folder}")
