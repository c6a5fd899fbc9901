"""Shared fixtures. An autouse fixture keeps a developer's real token, data dir and LLM settings
out of every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from bot.service import Tinbot
    from tests.helpers import CountingEmbedder

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


@pytest.fixture(scope="module")
def embedder() -> CountingEmbedder:
    """The real bundled model, loaded once per test module, counting what it embeds."""
    from tests.helpers import CountingEmbedder

    return CountingEmbedder()


@pytest.fixture
def bot(tmp_path: Path, embedder: CountingEmbedder) -> Iterator[Tinbot]:
    """A service on an empty data dir of its own."""
    from bot.service import Tinbot
    from bot.settings import Settings

    with Tinbot(Settings(data_dir=tmp_path / "data"), embedder) as service:
        yield service


@pytest.fixture(scope="module")
def samples_bot(
    tmp_path_factory: pytest.TempPathFactory, embedder: CountingEmbedder
) -> Iterator[Tinbot]:
    """A service with the five sample articles ingested, shared by a module's tests."""
    from bot.service import Tinbot
    from bot.settings import Settings

    with Tinbot(Settings(data_dir=tmp_path_factory.mktemp("samples-data")), embedder) as service:
        report = service.ingest([str(SAMPLES)])
        assert report.count("added") == 5, report.results
        yield service
