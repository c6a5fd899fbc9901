"""A long-running process (the bot) and a `tinbot ingest` run in another process share one data
dir with embedded Chroma: the bot must answer from what the other process wrote, and its own
next write must not bring back what that process deleted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.service import Tinbot
from bot.settings import Settings
from tests.conftest import REPO, SAMPLES
from tests.helpers import CountingEmbedder

NOTE = "Ghi chú biên tập: bản cập nhật số {n} về chi bộ bản Hua Nà."


def _write_version(folder: Path, version: int) -> None:
    for path in sorted(SAMPLES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(
            f"{text.rstrip()}\n\n{NOTE.format(n=version)}\n", encoding="utf-8"
        )


def _ingest_elsewhere(folder: Path, data: Path) -> None:
    env = {**os.environ, "TINBOT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(folder), "--no-progress"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        timeout=600,
    )


def _dense_ids(service: Tinbot, text: str) -> list[str]:
    vector = service.embedder.embed_query(text)
    return [h.chunk_id for h in service.vectors.query(vector, 20)]


def test_bot_process_sees_and_keeps_another_process_writes(tmp_path: Path) -> None:
    folder, data = tmp_path / "corpus", tmp_path / "data"
    folder.mkdir()
    _write_version(folder, 0)
    bot = Tinbot(Settings(data_dir=data), CountingEmbedder())
    try:
        assert bot.ingest([str(folder)]).ok
        question = "Ghi chú biên tập về chi bộ bản Hua Nà nói gì?"
        bot.answer(question)
        for version in (1, 2):
            # Another process replaces every article's last passage while the bot runs.
            _write_version(folder, version)
            _ingest_elsewhere(folder, data)
            bot.answer(question)
            live = bot.store.all_chunk_ids()
            found = _dense_ids(bot, NOTE.format(n=version))
            assert found and set(found) <= live, "dense search answers from a stale copy"
            chunks = bot.store.chunks_by_ids(live)
            newest = {c for c, chunk in chunks.items() if f"số {version} " in chunk.text}
            assert newest & set(found[:5]), "the other process's new passages are not searchable"

        # The bot's own write after the other process's must leave one consistent index.
        _write_version(folder, 3)
        assert bot.ingest([str(folder)]).ok
        counts = bot.verify()
        assert counts["passages"] == counts["lexical"] == counts["vectors"], counts
        assert counts["orphan_vectors"] == counts["missing_vectors"] == 0, counts
    finally:
        bot.close()

    reopened = Tinbot(Settings(data_dir=data), CountingEmbedder())
    try:
        counts = reopened.verify()
        assert counts["passages"] == counts["vectors"] and counts["orphan_vectors"] == 0, counts
    finally:
        reopened.close()
