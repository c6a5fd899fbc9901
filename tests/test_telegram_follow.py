"""Following a place or topic: the commands, the notices, and the end-to-end path.

The fast tests drive the real Application through the recording stand-in with a real service on
a data dir of their own, calling the follow job's body directly. The end-to-end test runs the
real ``tinbot serve`` against the HTTP stand-in while ``tinbot ingest`` writes from another
process, restarts the bot, and writes the "Theo dõi" transcript of docs/telegram.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.service import Tinbot
from bot.telegram.app import TelegramBot, build_application
from bot.telegram.feedback import FeedbackStore
from bot.telegram.follow import MAX_FOLLOWS, parse_subject
from index.follows import FollowStore
from tests.conftest import REPO
from tests.helpers import MUONG_ANG, button, buttons, has_number, update_transcript
from tests.telegram_standin import (
    TOKEN,
    USER,
    BotAPI,
    Call,
    RecordingRequest,
    StandinServer,
    clean_env,
    samples_data_dir,
)
from tests.test_telegram_e2e import BotProcess

OTHER = 3003
ORIGIN = "https://example.com/muong-ang-ket-nap-dang-vien"
TUA_CHUA = """Huyện Tủa Chùa kết nạp đảng viên mới

Năm 2021, Đảng bộ huyện Tủa Chùa kết nạp 80 đảng viên mới, đạt 105% chỉ tiêu.
"""
MUONG_ANG_2022 = """Mường Ảng vượt chỉ tiêu phát triển đảng viên năm 2022

Năm 2022, Đảng bộ huyện Mường Ảng kết nạp 101 đảng viên mới, vượt 12% chỉ tiêu tỉnh giao.
"""
TAO_NGUON = """Xã Quài Nưa chú trọng tạo nguồn

Chi bộ các bản chú trọng tạo nguồn phát triển đảng viên từ đoàn viên thanh niên.
"""

AnyApp = Application[Any, Any, Any, Any, Any, Any]


class Harness:
    def __init__(self, app: AnyApp, api: BotAPI) -> None:
        self.app = app
        self.api = api
        handlers = app.bot_data["handlers"]
        assert isinstance(handlers, TelegramBot)
        self.handlers = handlers

    async def say(self, text: str, user_id: int = USER) -> list[Call]:
        mark = self.api.mark()
        update = self.api.send_text(text, self.api.user(user_id))
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return self.api.calls[mark:]

    async def reply(self, text: str, user_id: int = USER) -> str:
        sent = [c for c in await self.say(text, user_id) if c.method == "sendMessage"]
        assert len(sent) == 1, sent
        return str(sent[0].params["text"])

    async def deliver(self, now: datetime | None = None) -> list[Call]:
        """One run of the follow job; the messages it sent (or tried to)."""
        mark = self.api.mark()
        await self.handlers.deliver_follows(self.app.bot, now=now)
        return [c for c in self.api.calls[mark:] if c.method == "sendMessage"]


async def running(service: Tinbot, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = service.settings.with_(telegram_token=TOKEN)
    api = BotAPI()
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    app = build_application(settings, service, feedback=feedback, request=RecordingRequest(api))
    await app.initialize()
    try:
        yield Harness(app, api)
    finally:
        await app.shutdown()


@pytest.fixture
async def tg(bot: Tinbot, tmp_path: Path) -> AsyncIterator[Harness]:
    async for harness in running(bot, tmp_path):
        yield harness


def add(service: Tinbot, text: str, origin: str) -> None:
    report = service.ingest_bytes(text.encode(), filename="a.txt", origin=origin)
    assert report.count("added") + report.count("updated") == 1, report.results


# --- commands ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mường Ảng", ("Mường Ảng", False)),
        ("  “Tuần  Giáo”  hằng ngày ", ("Tuần Giáo", True)),
        ("tạo nguồn, hang ngay", ("tạo nguồn", True)),
        ("Lai Châu (daily)", ("Lai Châu", True)),
        ("", ("", False)),
    ],
)
def test_a_subject_and_its_daily_flag_are_read_from_the_command(
    text: str, expected: tuple[str, bool]
) -> None:
    assert parse_subject(text) == expected


async def test_follow_list_and_unfollow(tg: Harness) -> None:
    assert "Đã theo dõi <b>Mường Ảng</b>" in await tg.reply("/theodoi Mường Ảng")
    # The same place without diacritics is the same follow.
    assert "đã theo dõi <b>muong ang</b> rồi" in await tg.reply("/follow muong ang")
    assert "mỗi ngày lúc 7 giờ" in await tg.reply("/theodoi tạo nguồn hằng ngày")
    listing = await tg.reply("/dangtheodoi")
    assert f"(2/{MAX_FOLLOWS})" in listing
    assert "• Mường Ảng\n• tạo nguồn <i>(bản tin hằng ngày)</i>" in listing
    unknown = await tg.reply("/botheodoi Tuần Giáo")
    assert "Bạn không theo dõi “Tuần Giáo”" in unknown
    assert "• Mường Ảng" in unknown  # with what the person does follow
    assert "Đã bỏ theo dõi <b>Mường Ảng</b>" in await tg.reply("/unfollow MƯỜNG ẢNG")
    assert "• Mường Ảng" not in await tg.reply("/following")
    # Follows belong to a chat: another person's list is their own.
    assert "chưa theo dõi" in await tg.reply("/dangtheodoi", OTHER)


async def test_commands_without_a_subject_explain_themselves(tg: Harness) -> None:
    assert "/theodoi &lt;nơi hoặc chủ đề&gt;" in await tg.reply("/theodoi")
    assert "/botheodoi &lt;nơi hoặc chủ đề&gt;" in await tg.reply("/botheodoi")
    assert "dưới 100 ký tự" in await tg.reply("/theodoi " + "Tuần Giáo " * 20)
    assert "chưa theo dõi" in await tg.reply("/dangtheodoi")


async def test_follows_are_capped_per_chat(tg: Harness) -> None:
    for n in range(MAX_FOLLOWS):
        assert "Đã theo dõi" in await tg.reply(f"/theodoi nơi {n}")
    refused = await tg.reply("/theodoi Mường Ảng")
    assert f"Bạn đã theo dõi {MAX_FOLLOWS} nơi và chủ đề — mức tối đa" in refused
    assert len(tg.handlers.follow_store.of_chat(USER)) == MAX_FOLLOWS
    assert "Mường Ảng" not in await tg.reply("/dangtheodoi")
    # Following one already followed, or switching it to a digest, is not a new follow.
    assert "rồi" in await tg.reply("/theodoi nơi 3")
    assert "Từ nay" in await tg.reply("/theodoi nơi 3 hằng ngày")
    assert "Đã theo dõi" in await tg.reply("/theodoi Mường Ảng", OTHER)


# --- notices -----------------------------------------------------------------------------------


async def test_a_new_article_naming_the_place_is_told_once(
    tg: Harness, bot: Tinbot, tmp_path: Path
) -> None:
    await tg.reply("/theodoi Mường Ảng")
    await tg.reply("/theodoi Mường Ảng", OTHER)
    add(bot, TUA_CHUA, "https://example.com/tua-chua")
    assert await tg.deliver() == []  # another district: nothing
    add(bot, MUONG_ANG, ORIGIN)
    sent = await tg.deliver()
    assert sorted(int(c.params["chat_id"]) for c in sent) == [USER, OTHER]
    notice = next(c for c in sent if int(c.params["chat_id"]) == USER)
    text = notice.params["text"]
    assert text.startswith("🔔 Bài viết mới về <b>Mường Ảng</b>")
    assert "<b>Huyện Mường Ảng kết nạp đảng viên mới</b>" in text
    assert f'<a href="{ORIGIN}">example.com</a>' in text
    assert "• “Năm 2021, Đảng bộ huyện Mường Ảng kết nạp 95 đảng viên mới" in text
    assert "Tủa Chùa" not in text
    assert {"text": "🔗 Mở bài viết", "url": ORIGIN} in buttons(notice)
    assert button(notice, "q:")["text"] == "❓ Hỏi về bài này"
    assert await tg.deliver() == []
    # A restart: a new application and store on the same data dir owe nothing more.
    async for again in running(bot, tmp_path / "again"):
        assert await again.deliver() == []

    # 📄 opens the figure sentence in its passage.
    source = button(notice, "s:")
    mark = tg.api.mark()
    press = tg.api.press(notice.result, source["callback_data"], tg.api.user(USER))
    await tg.app.process_update(Update.de_json(press, tg.app.bot))
    passage = tg.api.sent(mark)[0].params["text"]
    assert re.search(r"<b>Năm 2021, Đảng bộ huyện Mường Ảng kết nạp 95[^<]*</b>", passage)


async def test_ask_about_this_article_searches_only_that_article(tg: Harness, bot: Tinbot) -> None:
    await tg.reply("/theodoi Mường Ảng")
    add(bot, TUA_CHUA, "https://example.com/tua-chua")
    add(bot, MUONG_ANG, ORIGIN)
    (notice,) = await tg.deliver()
    mark = tg.api.mark()
    ask = button(notice, "q:")["callback_data"]
    press = tg.api.press(notice.result, ask, tg.api.user(USER))
    await tg.app.process_update(Update.de_json(press, tg.app.bot))
    assert "Hãy gõ câu hỏi về bài <b>Huyện Mường Ảng" in tg.api.sent(mark)[0].params["text"]
    # Without the scope the question is ambiguous between the two districts' articles.
    answer = await tg.reply("Năm 2021 kết nạp bao nhiêu đảng viên mới?")
    assert has_number(answer, "95")
    assert "Tủa Chùa" not in answer
    # Only the next question: the one after searches everything again.
    assert "Tủa Chùa" in await tg.reply("Tủa Chùa năm 2021 kết nạp bao nhiêu đảng viên mới?")


async def test_only_news_after_the_follow_and_changed_text_is_news(
    tg: Harness, bot: Tinbot
) -> None:
    add(bot, MUONG_ANG, ORIGIN)
    # Times are kept to the second, and an article of the follow's own second counts as news
    # (better told once too often than missed): step into the next second.
    time.sleep(1.1)
    await tg.reply("/theodoi Mường Ảng")
    assert await tg.deliver() == []  # written before the follow
    add(bot, MUONG_ANG.replace("95", "97"), ORIGIN)
    (notice,) = await tg.deliver()
    assert notice.params["text"].startswith("🔄 Bài viết cập nhật về <b>Mường Ảng</b>")
    assert "kết nạp 97 đảng viên mới" in notice.params["text"]
    # Rewriting unchanged articles (a reindex) is no news.
    bot.reindex()
    assert await tg.deliver() == []


async def test_a_topic_is_matched_by_its_phrase_and_quoted(tg: Harness, bot: Tinbot) -> None:
    await tg.reply("/theodoi tạo nguồn")
    add(bot, TUA_CHUA, "https://example.com/tua-chua")
    add(bot, TAO_NGUON, "telegram-upload/quai-nua.txt")
    (notice,) = await tg.deliver()
    text = notice.params["text"]
    assert "<b>Xã Quài Nưa chú trọng tạo nguồn</b>" in text
    assert "• “Chi bộ các bản chú trọng tạo nguồn phát triển đảng viên" in text
    assert "🔗" not in str(buttons(notice))  # an upload has no web address


async def test_a_person_who_blocked_the_bot_is_unsubscribed(tg: Harness, bot: Tinbot) -> None:
    await tg.reply("/theodoi Mường Ảng", OTHER)
    await tg.reply("/theodoi tạo nguồn", OTHER)
    tg.api.blocked.add(OTHER)
    add(bot, MUONG_ANG, ORIGIN)
    (refused,) = await tg.deliver()
    assert refused.error == "Forbidden: bot was blocked by the user"
    assert tg.handlers.follow_store.of_chat(OTHER) == []
    add(bot, MUONG_ANG_2022, "https://example.com/muong-ang-2022")
    assert await tg.deliver() == []  # nobody left to tell


async def test_a_failed_send_is_retried_and_never_repeated(tg: Harness, bot: Tinbot) -> None:
    await tg.reply("/theodoi Mường Ảng")
    tg.api.faults.server_error = 1  # every send fails, having delivered nothing
    add(bot, MUONG_ANG, ORIGIN)
    assert [c.error for c in await tg.deliver()] == ["Internal Server Error"] * 5
    tg.api.faults.server_error = 0
    (notice,) = await tg.deliver()
    assert "Mường Ảng" in notice.params["text"]
    assert await tg.deliver() == []


async def test_a_daily_digest_gathers_the_day_at_its_hour(tg: Harness, bot: Tinbot) -> None:
    await tg.reply("/theodoi Mường Ảng hằng ngày")
    add(bot, MUONG_ANG, ORIGIN)
    add(bot, MUONG_ANG_2022, "https://example.com/muong-ang-2022")
    # 06:30 in Vietnam is 23:30 UTC the day before: not yet the digest hour (7).
    assert await tg.deliver(datetime(2026, 3, 1, 23, 30, tzinfo=UTC)) == []
    (digest,) = await tg.deliver(datetime(2026, 3, 2, 0, 30, tzinfo=UTC))
    text = digest.params["text"]
    assert text.startswith("🗞 <b>Tin theo dõi trong ngày</b> (2 bài)")
    assert "[1] Huyện Mường Ảng kết nạp đảng viên mới" in text
    assert "[2] Mường Ảng vượt chỉ tiêu phát triển đảng viên năm 2022" in text
    assert has_number(text, "101")
    assert [b["text"] for b in buttons(digest)] == ["📄 [1]", "📄 [2]"]
    assert await tg.deliver(datetime(2026, 3, 2, 5, 0, tzinfo=UTC)) == []  # once a day


def test_the_follow_store_forgets_a_blocked_chat_and_keeps_others(tmp_path: Path) -> None:
    from index.store import ArticleStore

    ArticleStore(tmp_path / "db.sqlite3").close()
    store = FollowStore(tmp_path / "db.sqlite3")
    for chat in (1, 2):
        assert store.add(chat, "Tuần Giáo", user_id=chat, digest=False, limit=2) == "added"
    assert store.add(1, "Lai Châu", user_id=1, digest=False, limit=2) == "added"
    assert store.add(1, "Kon Tum", user_id=1, digest=False, limit=2) == "full"
    assert store.remove_chat(1) == 2
    assert [(f.chat_id, f.subject) for f in store.all()] == [(2, "Tuần Giáo")]


# --- end to end --------------------------------------------------------------------------------

NAMES = {USER: "Lan", OTHER: "Khách"}
DOC = REPO / "docs" / "telegram.md"
TRANSCRIPT_RE = re.compile(
    r"(<!-- follow-transcript: written by tests/test_telegram_follow.py -->\n)(.*?)"
    r"(<!-- /follow-transcript -->)",
    re.S,
)


def say(api: BotAPI, text: str, user_id: int = USER) -> Call:
    mark = api.mark()
    api.send_text(text, api.user(user_id, NAMES[user_id]))
    return api.wait_for_message(user_id, after=mark)


def ingest_elsewhere(api: BotAPI, data: Path, *files: Path) -> None:
    """``tinbot ingest FILE…`` in another process, as an admin would run it beside the bot."""
    api.note(f"in a shell: tinbot ingest {' '.join(f.name for f in files)}")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", *map(str, files), "--json"],
        env=clean_env(TINBOT_DATA_DIR=str(data)),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["added"] == len(files)


def notices(api: BotAPI, chat_id: int, after: int = 0) -> list[str]:
    return [
        c.params["text"]
        for c in api.sent(after)
        if int(c.params["chat_id"]) == chat_id and "🔔" in c.params["text"]
    ]


@pytest.mark.slow
def test_follow_news_end_to_end(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    data = samples_data_dir(tmp_path_factory.getbasetemp(), tmp_path / "d")
    (tmp_path / "muong-ang.txt").write_text(f"URL: {ORIGIN}\n\n{MUONG_ANG}", encoding="utf-8")
    (tmp_path / "tua-chua.txt").write_text(TUA_CHUA, encoding="utf-8")
    (tmp_path / "muong-ang-2022.txt").write_text(MUONG_ANG_2022, encoding="utf-8")
    with StandinServer() as server:
        api = server.api
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TINBOT_TELEGRAM_BASE_URL=server.base_url,
            TINBOT_DATA_DIR=str(data),
            TINBOT_FOLLOW_POLL_SECONDS="1",
        )
        served = BotProcess([], env, tmp_path / "serve-1.log")
        try:
            served.wait_until(api, "deleteWebhook")
            assert {"theodoi", "dangtheodoi", "botheodoi"} <= {c["command"] for c in api.commands}
            assert "Đã theo dõi <b>Mường Ảng</b>" in say(api, "/theodoi Mường Ảng").params["text"]
            say(api, "/theodoi Mường Ảng", OTHER)
            assert "• Mường Ảng" in say(api, "/dangtheodoi").params["text"]
            api.blocked.add(OTHER)
            api.note("Khách blocks the bot")

            # Written by another process: an unrelated article, then one naming the place.
            mark = api.mark()
            ingest_elsewhere(api, data, tmp_path / "tua-chua.txt", tmp_path / "muong-ang.txt")
            notice = api.wait_for_message(USER, contains="🔔", timeout=60)
            text = notice.params["text"]
            assert "<b>Huyện Mường Ảng kết nạp đảng viên mới</b>" in text
            assert "• “Năm 2021, Đảng bộ huyện Mường Ảng kết nạp 95 đảng viên mới" in text
            assert {"text": "🔗 Mở bài viết", "url": ORIGIN} in buttons(notice)
            refused = api.wait_for(
                lambda c: c.method == "sendMessage" and int(c.params["chat_id"]) == OTHER,
                after=mark,
            )
            assert refused.error == "Forbidden: bot was blocked by the user"

            mark = api.mark()
            api.press(notice.result, button(notice, "q:")["callback_data"], api.user(USER, "Lan"))
            assert "Hãy gõ câu hỏi" in api.wait_for_message(USER, after=mark).params["text"]
            answer = say(api, "Bao nhiêu đảng viên nữ được kết nạp?").params["text"]
            assert has_number(answer, "40")

            api.blocked.discard(OTHER)
            api.note("Khách unblocks the bot")
            assert "chưa theo dõi" in say(api, "/dangtheodoi", OTHER).params["text"]
            assert len(notices(api, USER)) == 1
            assert not [c for c in api.sent() if "Tủa Chùa" in c.params["text"]]
        finally:
            assert served.stop() == 0
        assert "Traceback" not in served.log(), served.log()

        api.note("tinbot serve restarts")
        restarted = BotProcess([], env, tmp_path / "serve-2.log")
        try:
            mark = api.mark()
            restarted.wait_until(api, "deleteWebhook")
            ingest_elsewhere(api, data, tmp_path / "muong-ang-2022.txt")
            later = api.wait_for_message(USER, after=mark, contains="🔔", timeout=60)
            assert has_number(later.params["text"], "101")
            # The article told before the restart is not told again.
            assert notices(api, USER, mark) == [later.params["text"]]
        finally:
            assert restarted.stop() == 0
        assert "Traceback" not in restarted.log(), restarted.log()

    transcript = api.transcript_markdown()
    (tmp_path / "follow-transcript.md").write_text(transcript, encoding="utf-8")
    if os.environ.get("UPDATE_TELEGRAM_TRANSCRIPT"):
        update_transcript(DOC, TRANSCRIPT_RE, transcript)


def test_docs_show_a_follow_notice() -> None:
    block = TRANSCRIPT_RE.search(DOC.read_text(encoding="utf-8"))
    assert block, "docs/telegram.md lost its follow transcript markers"
    for line in (
        "**👤 Lan:** /theodoi Mường Ảng",
        "> 🔔 Bài viết mới về Mường Ảng",
        "> • “Năm 2021, Đảng bộ huyện Mường Ảng kết nạp 95 đảng viên mới, đạt 110% chỉ tiêu.”",
        "`[ 📄 Xem đoạn trích ]` `[ ❓ Hỏi về bài này ]`",
        "*(tinbot serve restarts)*",
    ):
        assert line in block.group(2), f"follow transcript in docs/telegram.md lacks {line!r}"
