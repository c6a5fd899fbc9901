"""Re-ingestion over time: updates, aliases, near-duplicates, removal, pruning, feeds, backups.

Every scenario checks exact passage counts in the store, the lexical index and Chroma, and that
answers cite only live text.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.service import Tinbot
from bot.settings import Settings
from bot.watch import Watcher
from tests.helpers import MUONG_ANG, CountingEmbedder, has_number

STORY = """Huyện Mường Ảng kết nạp đảng viên mới

Năm 2021, Đảng bộ huyện Mường Ảng kết nạp 95 đảng viên mới, đạt 110% chỉ tiêu được giao.

Trong đó có 40 đảng viên nữ, chiếm 42,1%. Các chi bộ chú trọng tạo nguồn từ đoàn viên thanh niên,
phân công đảng viên theo dõi, giúp đỡ quần chúng ưu tú trong suốt quá trình bồi dưỡng.

Huyện ủy giao chỉ tiêu cho từng chi bộ và kiểm tra tiến độ hằng quý, nhờ vậy nhiều thôn bản
không còn chi bộ trắng đảng viên.
"""
OTHER = """Thị xã Mường Lay chú trọng tạo nguồn

Năm 2022, Đảng bộ thị xã Mường Lay kết nạp 31 đảng viên, trong đó 12 đảng viên là người dân tộc
thiểu số. Các chi bộ tổ chức lớp bồi dưỡng nhận thức về Đảng cho quần chúng ưu tú.
"""


def counts(service: Tinbot) -> dict[str, int]:
    found = service.verify()
    assert found["passages"] == found["lexical"] == found["vectors"], found
    assert found["orphan_vectors"] == found["missing_vectors"] == 0, found
    assert found["duplicate_passages"] == 0, found
    return found


def live_quotes_only(service: Tinbot, question: str) -> str:
    answer = service.answer(question)
    for citation in answer.citations:
        article = service.store.get(citation.article_id)
        assert article is not None, "cited a removed article"
        assert article.text[citation.start : citation.end] == citation.quote
    return answer.text


def test_update_replaces_passages_in_both_indexes(bot: Tinbot, tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text(STORY, encoding="utf-8")
    bot.ingest([str(path)])
    first = counts(bot)
    path.write_text(STORY.replace("95 đảng viên", "97 đảng viên"), encoding="utf-8")
    [result] = bot.ingest([str(path)]).results
    assert result.status == "updated"
    after = counts(bot)
    assert (after["articles"], after["passages"]) == (1, first["passages"])
    text = live_quotes_only(bot, "Mường Ảng kết nạp bao nhiêu đảng viên năm 2021?")
    assert "97" in text and "95 đảng viên" not in text
    assert bot.lexical.search("95") == []


def test_alias_is_recorded_not_indexed_and_can_be_removed(bot: Tinbot, tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(STORY, encoding="utf-8")
    b.write_text(STORY, encoding="utf-8")
    bot.ingest([str(a)])
    before = counts(bot)
    [result] = bot.ingest([str(b)]).results
    assert result.status == "unchanged" and "alias" in (result.reason or "")
    assert counts(bot) == before
    article = bot.store.by_origin(str(a.resolve()))
    assert article is not None
    assert bot.store.aliases_of(article.article_id) == [str(b.resolve())]
    # The alias changes: it becomes an article of its own, no longer an alias.
    b.write_text(OTHER, encoding="utf-8")
    assert bot.ingest([str(b)]).results[0].status == "added"
    assert bot.store.aliases_of(article.article_id) == []
    assert counts(bot)["articles"] == 2


@pytest.mark.parametrize(
    ("policy", "status", "articles", "note"),
    [
        ("keep-both", "added", 2, "kept both"),
        ("keep-newest", "added", 1, "replaces it"),
        ("skip", "skipped", 1, "near-duplicate"),
    ],
)
def test_near_duplicates_follow_the_policy(
    tmp_path: Path,
    embedder: CountingEmbedder,
    policy: str,
    status: str,
    articles: int,
    note: str,
) -> None:
    service = Tinbot(Settings(data_dir=tmp_path / "data", near_duplicates=policy), embedder)
    try:
        original, syndicated = tmp_path / "original.txt", tmp_path / "syndicated.txt"
        original.write_text(STORY, encoding="utf-8")
        # The same story on another site: a new headline line and one word changed.
        syndicated.write_text(
            "Báo Điện Biên Phủ đưa tin\n\n" + STORY.replace("nhờ vậy", "do đó"), encoding="utf-8"
        )
        service.ingest([str(original)])
        [result] = service.ingest([str(syndicated)]).results
        assert result.status == status
        assert note in (result.reason or "") and "similar" in (result.reason or "")
        found = counts(service)
        assert found["articles"] == articles
        origins = {a.origin for a in service.articles()}
        if policy == "keep-newest":
            assert origins == {str(syndicated.resolve())}
        if policy == "skip":
            assert origins == {str(original.resolve())}
        # An unrelated story is not a near-duplicate.
        other = tmp_path / "other.txt"
        other.write_text(OTHER, encoding="utf-8")
        [unrelated] = service.ingest([str(other)]).results
        assert unrelated.status == "added" and unrelated.reason is None
    finally:
        service.close()


def test_removed_article_cannot_be_retrieved_or_cited(bot: Tinbot, tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text(STORY, encoding="utf-8")
    b.write_text(OTHER, encoding="utf-8")
    bot.ingest([str(tmp_path)])
    article = bot.store.by_origin(str(a.resolve()))
    assert article is not None
    assert bot.remove(article.article_id) is not None
    found = counts(bot)
    assert found["articles"] == 1
    assert all(
        h.chunk.article_id != article.article_id for h in bot.retriever.search("Mường Ảng 95")
    )
    answer = bot.answer("Mường Ảng kết nạp bao nhiêu đảng viên năm 2021?")
    assert answer.refused, answer.text
    assert bot.remove(article.article_id) is None


def test_prune_removes_articles_whose_files_are_gone(bot: Tinbot, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(STORY, encoding="utf-8")
    (folder / "b.txt").write_text(OTHER, encoding="utf-8")
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text(STORY.replace("Mường Ảng", "Tủa Chùa"), encoding="utf-8")
    bot.ingest([str(folder), str(elsewhere)])
    (folder / "a.txt").unlink()
    report = bot.ingest([str(folder)], prune=True)
    assert report.count("removed") == 1 and report.count("unchanged") == 1
    found = counts(bot)
    assert found["articles"] == 2  # b.txt and the file outside the pruned folder
    assert {Path(a.origin).name for a in bot.articles()} == {"b.txt", "elsewhere.txt"}


def test_repair_restores_missing_and_deletes_orphan_vectors(bot: Tinbot, tmp_path: Path) -> None:
    path = tmp_path / "story.txt"
    path.write_text(STORY, encoding="utf-8")
    bot.ingest([str(path)])
    some = sorted(bot.vectors.ids())[:1]
    bot.vectors.delete(set(some))
    bot.vectors.upsert(
        ["ghost-0000-deadbeef"], [[0.1] * bot.embedder.dim], [{"article_id": "ghost"}]
    )
    broken = bot.verify()
    assert broken["missing_vectors"] == 1 and broken["orphan_vectors"] == 1
    repaired = bot.repair()
    assert repaired == {"orphans_deleted": 1, "articles_rewritten": 1}
    counts(bot)


def test_backup_is_a_working_data_dir(
    bot: Tinbot, tmp_path: Path, embedder: CountingEmbedder
) -> None:
    path = tmp_path / "story.txt"
    path.write_text(STORY, encoding="utf-8")
    bot.ingest([str(path)])
    dest = bot.backup(tmp_path / "backup")
    restored = Tinbot(Settings(data_dir=dest), embedder)
    try:
        assert counts(restored) == counts(bot)
        assert has_number(
            restored.answer("Mường Ảng kết nạp bao nhiêu đảng viên năm 2021?").text, "95"
        )
    finally:
        restored.close()


# --- feeds -------------------------------------------------------------------------------------
class FeedSite:
    """An RSS feed and its article pages on 127.0.0.1; entries can be added between polls."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        self.entries: list[tuple[str, str]] = []  # (guid, path)
        self.broken = False
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:
                if self.path == "/feed.xml" and not site.broken:
                    body, kind = site.rss().encode(), "application/rss+xml"
                elif self.path in site.pages:
                    page = site.pages[self.path]
                    body, kind = page.encode(), "text/plain; charset=utf-8"
                else:
                    self.send_error(500 if self.path == "/feed.xml" else 404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def add(self, guid: str, path: str, text: str) -> None:
        self.pages[path] = text
        self.entries.append((guid, path))

    def rss(self) -> str:
        items = "".join(
            f"<item><title>{guid}</title><guid>{guid}</guid><link>{self.base}{path}</link>"
            "<pubDate>Mon, 06 Sep 2021 10:00:00 +0700</pubDate></item>"
            for guid, path in self.entries
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Tin xây dựng Đảng</title>{items}</channel></rss>"
        )

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site() -> Iterator[FeedSite]:
    server = FeedSite()
    yield server
    server.close()


def test_feed_entries_are_ingested_once_and_failures_back_off(
    tmp_path: Path, embedder: CountingEmbedder, site: FeedSite
) -> None:
    service = Tinbot(Settings(data_dir=tmp_path / "data", allow_private_urls=True), embedder)
    try:
        feed = f"{site.base}/feed.xml"
        watcher = Watcher(service, feeds=[feed], interval=60)
        site.add("story-1", "/story-1", STORY)
        site.add("story-1", "/story-1", STORY)  # the same entry listed twice
        first = watcher.poll_once()
        assert [r.status for r in first.results] == ["added"]
        article = service.store.by_origin(f"{site.base}/story-1")
        assert article is not None and article.date == "2021-09-06"

        # Not due yet: nothing fetched; forced: the known entry is not ingested again.
        assert watcher.poll_once().skipped_feeds == [feed]
        site.add("story-2", "/story-2", OTHER)
        second = watcher.poll_once(force=True)
        assert [r.status for r in second.results] == ["added"]
        assert counts(service)["articles"] == 2

        # A failing feed is recorded and retried later, with growing delays.
        site.broken = True
        failed = watcher.poll_once(force=True)
        assert feed in failed.feed_errors and "HTTP 500" in failed.feed_errors[feed]
        status = watcher.feed_status()[0]
        assert status["failures"] == 1 and status["entries"] == 2
        assert watcher.poll_once().skipped_feeds == [feed]
        watcher.poll_once(force=True)
        assert watcher.feed_status()[0]["failures"] == 2
        site.broken = False
        assert not watcher.poll_once(force=True).feed_errors
        assert watcher.feed_status()[0]["failures"] == 0
        assert counts(service)["articles"] == 2
    finally:
        service.close()


def test_watched_folder_is_mirrored(tmp_path: Path, embedder: CountingEmbedder) -> None:
    service = Tinbot(Settings(data_dir=tmp_path / "data"), embedder)
    try:
        folder = tmp_path / "inbox"
        folder.mkdir()
        watcher = Watcher(service, folders=[str(folder)], interval=60)
        (folder / "a.txt").write_text(STORY, encoding="utf-8")
        assert watcher.poll_once().count("added") == 1
        (folder / "a.txt").unlink()
        (folder / "b.txt").write_text(OTHER, encoding="utf-8")
        report = watcher.poll_once()
        assert (report.count("added"), report.count("removed")) == (1, 1)
        assert counts(service)["articles"] == 1
    finally:
        service.close()


def test_a_second_writer_waits_then_is_refused_clearly_while_readers_go_on(
    bot: Tinbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess
    import sys

    import bot.datadir as service_module
    from bot.errors import StoreLockedError

    path = tmp_path / "story.txt"
    path.write_text(STORY, encoding="utf-8")
    bot.ingest([str(path)])
    lock = bot.settings.data_dir / "write.lock"
    # Another process holds the write lock, as a running `tinbot ingest` would.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"f = open({str(lock)!r}, 'a+'); fcntl.flock(f, fcntl.LOCK_EX)\n"
            "f.seek(0); f.truncate(); f.write(f'pid {os.getpid()}'); f.flush()\n"
            "print('locked', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(service_module, "LOCK_WAIT_SECONDS", 0.5)
        other = tmp_path / "other.txt"
        other.write_text(OTHER, encoding="utf-8")
        with pytest.raises(StoreLockedError, match=f"pid {holder.pid}"):
            bot.ingest([str(other)])
        # Readers are not blocked by the writer.
        assert has_number(bot.answer("Mường Ảng kết nạp bao nhiêu đảng viên năm 2021?").text, "95")
    finally:
        holder.kill()
        holder.wait()
    assert bot.ingest([str(other)]).count("added") == 1
    assert counts(bot)["articles"] == 2


def test_an_unexpected_error_in_one_source_fails_that_source_only(
    tmp_path: Path, embedder: CountingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in a loader (not a refusal it knows how to word) is reported against its file
    and the rest of the folder is ingested; no traceback ends the batch."""
    import ingest.pipeline

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(MUONG_ANG, encoding="utf-8")
    (folder / "b.txt").write_text(MUONG_ANG.replace("Mường Ảng", "Tủa Chùa"), encoding="utf-8")
    real_load = ingest.pipeline.load

    def buggy(origin: str, limits: object) -> object:
        if origin.endswith("a.txt"):
            raise KeyError("a loader bug")
        return real_load(origin, limits)  # type: ignore[arg-type]

    monkeypatch.setattr(ingest.pipeline, "load", buggy)
    with Tinbot(Settings(data_dir=tmp_path / "data"), embedder) as service:
        report = service.ingest([str(folder)])
        failed = [r for r in report.results if r.status == "failed"]
        assert [Path(r.origin).name for r in failed] == ["a.txt"]
        assert "KeyError" in (failed[0].reason or "")
        assert report.count("added") == 1


def test_an_unchanged_page_gains_metadata_a_newer_loader_reads(bot: Tinbot, tmp_path: Path) -> None:
    paragraphs = "".join(f"<p>{line}</p>" for line in STORY.splitlines()[2:] if line)
    page = tmp_path / "story.html"
    page.write_text(
        "<html><head><title>Mường Ảng kết nạp đảng viên | Báo Điện Biên Phủ</title></head>"
        f"<body><article><h1>Mường Ảng kết nạp đảng viên</h1>{paragraphs}</article></body></html>",
        encoding="utf-8",
    )
    bot.ingest([str(page)])
    article = bot.store.by_origin(str(page.resolve()))
    assert article is not None and article.extra["publisher"] == "Báo Điện Biên Phủ"
    [listed] = bot.articles()
    assert (listed.publisher, listed.link) == ("Báo Điện Biên Phủ", None)
    # An index written before the publisher was kept: the same text arrives again.
    bot.store.update_extra(article.article_id, {"content_type": "text/html"})
    before = counts(bot)
    [result] = bot.ingest([str(page)]).results
    assert result.status == "unchanged"
    again = bot.store.get(article.article_id)
    assert again is not None and again.extra["publisher"] == "Báo Điện Biên Phủ"
    assert counts(bot) == before
