"""Shared fixtures. An autouse fixture keeps a developer's real token, data dir and LLM settings
out of every test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "samples" / "corpus"


@pytest.fixture(autouse=True)
def clean_environ(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TINBOT_") or name in ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TINBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture
def sample_paths() -> list[Path]:
    return sorted(SAMPLES.glob("*.txt"))
