"""tinbot with its vectors in a real Chroma server (``chroma run`` on 127.0.0.1, started here):
ingest → ask → update → remove, with the SQLite store, the lexical index and the server's
collection agreeing after every step."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.processes import ChromaServer, free_port
from bot.errors import ConfigError, TinbotError
from bot.service import Tinbot
from bot.settings import Settings
from bot.types import Answer
from tests.conftest import SAMPLES
from tests.helpers import MUONG_ANG, CountingEmbedder, has_number

pytestmark = pytest.mark.slow

QUESTION = "Năm 2021 Đảng bộ huyện Mường Ảng kết nạp bao nhiêu đảng viên mới?"
# Two of the sample articles keep the model's embedding work (and the test) short.
SAMPLE_FILES = [SAMPLES / "000_f0ce5db119e1970c.txt", SAMPLES / "002_9d856003cf5341a9.txt"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    chroma = ChromaServer(tmp_path_factory.mktemp("chroma-server") / "db")
    yield chroma
    chroma.stop()


def _server_collection(server: ChromaServer) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.HttpClient(
        host="127.0.0.1", port=server.port, settings=ChromaSettings(anonymized_telemetry=False)
    )
    return client.get_collection("tinbot")


def _assert_consistent(bot: Tinbot, server: ChromaServer) -> int:
    """Passages agree across the SQLite store, the lexical index and the server's collection."""
    chunks = bot.stats().chunks
    assert bot.lexical.index_rows() == chunks
    assert bot.vectors.count() == chunks
    assert _server_collection(server).count() == chunks
    assert bot.vectors.ids() == bot.store.all_chunk_ids()
    return chunks


def _assert_cites_live_text(bot: Tinbot, answer: Answer) -> None:
    for citation in answer.citations:
        article = bot.store.get(citation.article_id)
        assert article is not None, f"cites a removed article: {citation.origin}"
        assert article.text[citation.start : citation.end] == citation.quote


def test_ingest_ask_update_remove_through_a_chroma_server(
    server: ChromaServer, embedder: CountingEmbedder, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    bot = Tinbot(Settings(data_dir=data, chroma_url=server.url), embedder)
    try:
        report = bot.ingest([str(p) for p in SAMPLE_FILES])
        assert report.count("added") == 2, report.results
        samples = _assert_consistent(bot, server)
        assert samples > 10
        # The vectors live in the server, not in a local persist directory.
        assert not (data / "chroma").exists()

        answer = bot.answer("Huyện ủy Tuần Giáo kết nạp được bao nhiêu đảng viên?")
        assert not answer.refused
        assert has_number(answer.text, "470")
        assert Path(answer.citations[0].origin).name.startswith("000_")
        _assert_cites_live_text(bot, answer)

        article = tmp_path / "muong-ang.txt"
        article.write_text(MUONG_ANG, encoding="utf-8")
        assert bot.ingest([str(article)]).count("added") == 1
        assert _assert_consistent(bot, server) > samples
        answer = bot.answer(QUESTION)
        assert "95 đảng viên" in answer.text
        _assert_cites_live_text(bot, answer)

        article.write_text(MUONG_ANG.replace("95 đảng viên", "123 đảng viên"), encoding="utf-8")
        before = embedder.documents_embedded
        assert bot.ingest([str(article)]).count("updated") == 1
        assert embedder.documents_embedded > before
        _assert_consistent(bot, server)
        answer = bot.answer(QUESTION)
        assert "123 đảng viên" in answer.text
        assert "95 đảng viên" not in answer.text
        _assert_cites_live_text(bot, answer)
        stored = bot.store.by_origin(str(article.resolve()))
        assert stored is not None
        live = {c.chunk_id for c in bot.store.chunks_of(stored.article_id)}
        assert bot.vectors.ids_for_article(stored.article_id) == live

        removed = bot.remove(str(article.resolve()))
        assert removed is not None
        assert _assert_consistent(bot, server) == samples
        assert bot.vectors.ids_for_article(removed.article_id) == set()
        answer = bot.answer(QUESTION)
        assert all(c.article_id != removed.article_id for c in answer.citations)
        _assert_cites_live_text(bot, answer)
    finally:
        bot.close()


def test_reopening_finds_the_index_in_the_server(
    server: ChromaServer, embedder: CountingEmbedder, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path / "data", chroma_url=server.url, collection="reopen")
    first = Tinbot(settings, embedder)
    try:
        article = tmp_path / "muong-ang.txt"
        article.write_text(MUONG_ANG, encoding="utf-8")
        assert first.ingest([str(article)]).count("added") == 1
    finally:
        first.close()
    again = Tinbot(settings, embedder)
    try:
        before = embedder.documents_embedded
        assert again.ingest([str(article)]).count("unchanged") == 1
        assert embedder.documents_embedded == before
        assert again.vectors.count() == again.stats().chunks > 0
        assert "95 đảng viên" in again.answer(QUESTION).text
    finally:
        again.close()


def test_an_unreachable_server_is_a_configuration_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConfigError, match="127.0.0.1"):
        Tinbot(Settings(data_dir=tmp_path / "data", chroma_url=url), CountingEmbedder())


def test_a_chroma_outage_degrades_to_lexical_search_and_recovers(
    embedder: CountingEmbedder, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = ChromaServer(tmp_path / "outage-db")
    data = tmp_path / "data"
    bot = Tinbot(Settings(data_dir=data, chroma_url=server.url), embedder)
    try:
        assert bot.ingest([str(p) for p in SAMPLE_FILES]).count("added") == 2
        chunks = _assert_consistent(bot, server)
        server.stop()
        caplog.clear()
        for _ in range(3):
            answer = bot.answer("Huyện ủy Tuần Giáo kết nạp được bao nhiêu đảng viên?")
            assert has_number(answer.text, "470")
        said = [r.getMessage() for r in caplog.records if "lexical index" in r.getMessage()]
        assert len(said) == 1 and server.url in said[0]  # once per outage, not per question
        # An ingest during the outage fails with a clear reason and writes nothing.
        article = tmp_path / "muong-ang.txt"
        article.write_text(MUONG_ANG, encoding="utf-8")
        with pytest.raises(TinbotError, match="does not answer"):
            bot.ingest([str(article)])
        assert bot.stats().chunks == chunks
        # The same server back on its port: dense search resumes by itself, the next writer
        # finishes what the failed one left, and the stores agree.
        server = ChromaServer(server.path, port=server.port)
        answer = bot.answer(QUESTION)
        assert any("resumed" in r.getMessage() for r in caplog.records)
        assert bot.ingest([str(article)]).count("added") == 1
        assert "95 đảng viên" in bot.answer(QUESTION).text
        _assert_consistent(bot, server)
        found = bot.verify()
        assert found["orphan_vectors"] == found["missing_vectors"] == 0, found
    finally:
        bot.close()
        server.stop()
