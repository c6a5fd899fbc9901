"""A long-running process (the bot) and a `tinbot ingest` run in another process share one data
dir with embedded Chroma: the bot must answer from what the other process wrote, and its own
next write must not bring back what that process deleted."""

from __future__ import annotations

from pathlib import Path

from bot.service import Tinbot
from bot.settings import Settings
from tests.helpers import CountingEmbedder, ingest_process, write_sample_versions

NOTE = "Ghi chú biên tập: bản cập nhật số {n} về chi bộ bản Hua Nà."


def _dense_ids(service: Tinbot, text: str) -> list[str]:
    vector = service.embedder.embed_query(text)
    return [h.chunk_id for h in service.vectors.query(vector, 20)]


def test_bot_process_sees_and_keeps_another_process_writes(tmp_path: Path) -> None:
    folder, data = tmp_path / "corpus", tmp_path / "data"
    folder.mkdir()
    write_sample_versions(folder, 0, NOTE)
    bot = Tinbot(Settings(data_dir=data), CountingEmbedder())
    try:
        assert bot.ingest([str(folder)]).ok
        question = "Ghi chú biên tập về chi bộ bản Hua Nà nói gì?"
        bot.answer(question)
        for version in (1, 2):
            # Another process replaces every article's last passage while the bot runs.
            write_sample_versions(folder, version, NOTE)
            assert ingest_process(folder, data).wait(timeout=600) == 0
            bot.answer(question)
            live = bot.store.all_chunk_ids()
            found = _dense_ids(bot, NOTE.format(n=version))
            assert found and set(found) <= live, "dense search answers from a stale copy"
            chunks = bot.store.chunks_by_ids(live)
            newest = {c for c, chunk in chunks.items() if f"số {version} " in chunk.text}
            assert newest & set(found[:5]), "the other process's new passages are not searchable"

        # The bot's own write after the other process's must leave one consistent index.
        write_sample_versions(folder, 3, NOTE)
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
