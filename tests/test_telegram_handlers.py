"""Bot handlers with a recording request injected into the real python-telegram-bot Application:
no network, the real service on the ingested sample articles, the real feedback store."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from telegram import InputTextMessageContent, Update
from telegram.ext import Application

from bot.errors import ConfigError
from bot.service import Tinbot
from bot.settings import Settings
from bot.telegram.app import (
    MSG_ERROR,
    MSG_NOT_ALLOWED,
    build_application,
    check_token,
    file_base_url,
)
from bot.telegram.base import MSG_NOT_ADMIN, PRESSES_PER_MINUTE
from bot.telegram.callbacks import MSG_PRESSES_TOO_FAST
from bot.telegram.feedback import FeedbackStore
from bot.telegram.format import format_timestamp, render_answer
from bot.telegram.inline import INLINE_CACHE_SECONDS, INLINE_QUERIES_PER_QUESTION, inline_answer
from bot.telegram.ratelimit import SlidingWindowLimiter
from bot.types import Answer, Citation
from tests.helpers import (
    MUONG_ANG,
    TUAN_GIAO_QUESTION,
    CountingEmbedder,
    button,
    buttons,
    has_number,
)
from tests.telegram_standin import (
    ADMIN,
    TOKEN,
    USER,
    BotAPI,
    Call,
    RecordingRequest,
    parse_html,
    samples_data_dir,
    utf16_len,
)

OTHER = 3003

AnyApp = Application[Any, Any, Any, Any, Any, Any]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tinbot]:
    data = samples_data_dir(tmp_path_factory.getbasetemp(), tmp_path_factory.mktemp("h") / "d")
    tinbot = Tinbot(Settings(data_dir=data), CountingEmbedder())
    yield tinbot
    tinbot.close()


def make_settings(service: Tinbot, **changes: Any) -> Settings:
    base = service.settings.with_(
        telegram_token=TOKEN, admin_ids=frozenset({ADMIN}), rate_limit_per_minute=100
    )
    return base.with_(**changes)


class Harness:
    def __init__(self, app: AnyApp, api: BotAPI, feedback: FeedbackStore) -> None:
        self.app = app
        self.api = api
        self.feedback = feedback

    async def process(self, update: dict[str, Any]) -> list[Call]:
        """Feed one update through every handler; returns the Bot API calls it caused."""
        mark = self.api.mark()
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return self.api.calls[mark:]

    async def say(self, text: str, user_id: int = USER, **kwargs: Any) -> list[Call]:
        return await self.process(self.api.send_text(text, self.api.user(user_id), **kwargs))

    def replies(self, calls: list[Call]) -> list[Call]:
        return [c for c in calls if c.method == "sendMessage" and c.error is None]


async def start(settings: Settings, service: Tinbot, tmp_path: Path) -> AsyncIterator[Harness]:
    api = BotAPI()
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    app = build_application(settings, service, feedback=feedback, request=RecordingRequest(api))
    await app.initialize()
    try:
        yield Harness(app, api, feedback)
    finally:
        await app.shutdown()


@pytest.fixture
async def bot(service: Tinbot, tmp_path: Path) -> AsyncIterator[Harness]:
    async for harness in start(make_settings(service), service, tmp_path):
        yield harness


def only_reply(calls: list[Call]) -> Call:
    sent = [c for c in calls if c.method == "sendMessage"]
    assert len(sent) == 1, [c.params.get("text") for c in sent]
    assert sent[0].error is None, sent[0].error
    return sent[0]


def message_of(api: BotAPI, call: Call) -> dict[str, Any]:
    assert isinstance(call.result, dict)
    return call.result


# --- answering ---------------------------------------------------------------------------------


async def test_question_gets_cited_html_answer_with_buttons(bot: Harness) -> None:
    calls = await bot.say(TUAN_GIAO_QUESTION)
    methods = [c.method for c in calls]
    assert "sendChatAction" in methods
    assert methods.index("sendChatAction") < methods.index("sendMessage")
    assert calls[methods.index("sendChatAction")].params["action"] == "typing"
    reply = only_reply(calls)
    text = reply.params["text"]
    assert reply.params["parse_mode"] == "HTML"
    assert has_number(text, "470")
    assert "[1]" in text
    assert "<b>Nguồn:</b>" in text
    assert "[1] Huyện Tuần Giáo, tỉnh Điện Biên: Chú trọng" in text
    assert "13/04/2018" in text
    source = button(reply, "s:")
    assert source["text"] == "📄 [1]"
    assert len(source["callback_data"].encode()) <= 64
    assert {b["text"] for b in buttons(reply)} >= {"👍", "👎"}


async def test_source_button_shows_the_quoted_passage_in_context(bot: Harness) -> None:
    reply = only_reply(await bot.say(TUAN_GIAO_QUESTION))
    data = button(reply, "s:")["callback_data"]
    calls = await bot.process(bot.api.press(message_of(bot.api, reply), data, bot.api.user(USER)))
    assert [c.method for c in calls if c.method == "answerCallbackQuery"]
    passage = only_reply(calls).params["text"]
    assert passage.startswith("<b>[1] Huyện Tuần Giáo")
    # The quote is bold, with context on both sides.
    bold = passage.split("\n\n", 1)[1]
    assert "<b>" in bold
    quoted = bold.split("<b>", 1)[1].split("</b>", 1)[0]
    assert "470 đảng viên" in quoted
    before, after = bold.split("<b>", 1)[0], bold.split("</b>", 1)[1]
    assert len(before) > 50
    assert len(after) > 50


async def test_followups_are_resolved_per_user(bot: Harness) -> None:
    only_reply(await bot.say(TUAN_GIAO_QUESTION))
    reply = only_reply(await bot.say("ở Lạng Sơn thì sao?"))
    text = reply.params["text"]
    assert "Hiểu câu hỏi là: Lạng Sơn đã kết nạp được bao nhiêu đảng viên?" in text
    assert has_number(text, "738")
    assert "Lạng Sơn" in text.split("Nguồn:")[1]
    year = only_reply(await bot.say("con nam 2023 thi sao")).params["text"]
    assert "Hiểu câu hỏi là: Lạng Sơn đã kết nạp được bao nhiêu đảng viên năm 2023?" in year
    # Another user's follow-up is not resolved against this user's question.
    other = only_reply(await bot.say("ở Lạng Sơn thì sao?", user_id=OTHER)).params["text"]
    assert "Hiểu câu hỏi là" not in other


async def test_feedback_buttons_store_votes_with_question_answer_and_sources(
    bot: Harness,
) -> None:
    reply = only_reply(await bot.say(TUAN_GIAO_QUESTION))
    message = message_of(bot.api, reply)
    up = button(reply, "f:")["callback_data"]
    down = up[:-1] + "d"
    calls = await bot.process(bot.api.press(message, up, bot.api.user(USER)))
    toast = [c for c in calls if c.method == "answerCallbackQuery"]
    assert toast[0].params["text"] == "Cảm ơn bạn đã góp ý!"
    await bot.process(bot.api.press(message, down, bot.api.user(OTHER)))
    await bot.process(bot.api.press(message, up, bot.api.user(OTHER)))  # changes its vote
    rows = bot.feedback.rows()
    assert [(r["user_id"], r["rating"]) for r in rows] == [(USER, "up"), (OTHER, "up")]
    assert rows[0]["question"] == TUAN_GIAO_QUESTION
    assert has_number(rows[0]["answer"], "470")
    assert rows[0]["sources"][0]["origin"].endswith("000_f0ce5db119e1970c.txt")
    assert has_number(rows[0]["sources"][0]["quote"], "470")
    exported = [json.loads(line) for line in bot.feedback.export_text("jsonl").splitlines()]
    assert exported == json.loads(json.dumps(rows))
    table = list(csv.DictReader(io.StringIO(bot.feedback.export_text("csv"))))
    assert [(int(r["user_id"]), r["rating"]) for r in table] == [(USER, "up"), (OTHER, "up")]
    assert json.loads(table[0]["sources"]) == rows[0]["sources"]
    assert table[0]["answer"] == rows[0]["answer"]


async def test_group_messages_are_answered_only_when_addressed(bot: Harness) -> None:
    group = bot.api.group_chat()
    user = bot.api.user(USER)
    chatter = await bot.process(bot.api.send_text(TUAN_GIAO_QUESTION, user, chat=group))
    assert bot.replies(chatter) == []
    mentioned = await bot.process(
        bot.api.send_text(f"@tinbot_test_bot {TUAN_GIAO_QUESTION}", user, chat=group)
    )
    reply = only_reply(mentioned)
    assert has_number(reply.params["text"], "470")
    assert reply.params["reply_parameters"]["message_id"]  # quotes the asker in a group
    answer_message = message_of(bot.api, reply)
    replied = await bot.process(
        bot.api.send_text("ở Lạng Sơn thì sao?", user, chat=group, reply_to=answer_message)
    )
    assert has_number(only_reply(replied).params["text"], "738")
    via_ask = await bot.process(
        bot.api.send_text(f"/ask@tinbot_test_bot {TUAN_GIAO_QUESTION}", user, chat=group)
    )
    assert has_number(only_reply(via_ask).params["text"], "470")
    other_bot = await bot.process(
        bot.api.send_text(f"/ask@other_bot {TUAN_GIAO_QUESTION}", user, chat=group)
    )
    assert bot.replies(other_bot) == []


async def test_ask_without_question_explains_usage(bot: Harness) -> None:
    assert "/ask" in only_reply(await bot.say("/ask")).params["text"]


# --- commands ----------------------------------------------------------------------------------


async def test_start_and_help_are_vietnamese_with_corpus_examples(
    bot: Harness, service: Tinbot
) -> None:
    examples = service.example_questions(3)
    for command in ("/start", "/help"):
        text = only_reply(await bot.say(command)).params["text"]
        assert "Xin chào" in text
        assert "Ví dụ" in text
        for example in examples:
            assert example in text


async def test_sources_are_paged_with_buttons(bot: Harness) -> None:
    handlers = bot.app.bot_data["handlers"]
    handlers.sources_per_page = 2
    reply = only_reply(await bot.say("/sources"))
    assert "trang 1/3" in reply.params["text"]
    assert reply.params["text"].count("\n[") == 2
    next_page = button(reply, "p:")
    assert next_page["text"] == "Sau ▶"
    calls = await bot.process(
        bot.api.press(message_of(bot.api, reply), next_page["callback_data"], bot.api.user(USER))
    )
    edit = [c for c in calls if c.method == "editMessageText"]
    assert edit
    assert edit[0].error is None
    assert "trang 2/3" in edit[0].params["text"]
    assert {b["text"] for b in buttons(edit[0])} == {"◀ Trước", "Sau ▶"}


async def test_stats_show_counts_and_last_ingest(bot: Harness, service: Tinbot) -> None:
    stats = service.stats()
    text = only_reply(await bot.say("/stats")).params["text"]
    assert f"Số bài viết: {stats.articles}" in text
    assert f"Số đoạn đã lập chỉ mục: {stats.chunks}" in text
    assert format_timestamp(stats.last_ingest) in text
    assert str(format_timestamp(stats.last_ingest)).endswith(" UTC")


async def test_stats_for_a_place_lists_its_figures_with_sentences(bot: Harness) -> None:
    calls = await bot.say("/stats tuan giao")
    text = only_reply(calls).params["text"]
    assert "Huyện Tuần Giáo" in text and "470" in text and "số liệu khác" in text
    # The figures also come as a chart, its caption naming the sources.
    photos = [c for c in calls if c.method == "sendPhoto"]
    assert len(photos) == 1 and photos[0].error is None
    assert photos[0].params["photo"].data.startswith(b"\x89PNG")
    assert photos[0].params["caption"].startswith("[1] Huyện Tuần Giáo, tỉnh Điện Biên")
    assert "<script>" not in only_reply(await bot.say("/stats <script>")).params["text"]
    none = only_reply(await bot.say("/stats Hà Nội")).params["text"]
    assert none.startswith("Không có số liệu nào khớp")


# --- admins ------------------------------------------------------------------------------------


async def test_non_admin_cannot_ingest(bot: Harness, service: Tinbot) -> None:
    before = service.stats()
    reply = only_reply(await bot.say("/ingest https://example.com/bai-viet.html"))
    assert reply.params["text"] == f"{MSG_NOT_ADMIN} (Mã người dùng của bạn: <code>{USER}</code>.)"
    upload = bot.api.upload("muong-ang.txt", bot.api.user(USER), MUONG_ANG.encode())
    reply = only_reply(await bot.process(upload))
    assert reply.params["text"].startswith(MSG_NOT_ADMIN)
    assert bot.api.downloads == []
    assert service.stats() == before


async def test_admin_upload_is_ingested_then_answerable(bot: Harness, service: Tinbot) -> None:
    before = service.stats().articles
    admin = bot.api.user(ADMIN, "Quản trị")
    calls = await bot.process(bot.api.upload("muong-ang.txt", admin, MUONG_ANG.encode()))
    assert [c.method for c in calls].count("getFile") == 1
    text = only_reply(calls).params["text"]
    assert "Đã thêm" in text
    assert "Huyện Mường Ảng kết nạp đảng viên mới" in text
    assert service.stats().articles == before + 1
    answer = only_reply(await bot.say("Mường Ảng kết nạp bao nhiêu đảng viên năm 2021?"))
    assert has_number(answer.params["text"], "95")
    assert "Huyện Mường Ảng" in answer.params["text"].split("Nguồn:")[1]
    again = await bot.process(bot.api.upload("muong-ang.txt", admin, MUONG_ANG.encode()))
    assert "Không đổi" in only_reply(again).params["text"]
    assert service.stats().articles == before + 1


async def test_admin_ingest_command_reports_failures(bot: Harness, service: Tinbot) -> None:
    before = service.stats()
    admin_say = await bot.say("/ingest http://127.0.0.1:9/private.html", user_id=ADMIN)
    text = only_reply(admin_say).params["text"]
    assert "Không nạp được" in text
    assert service.stats() == before
    usage = only_reply(await bot.say("/ingest not-a-url", user_id=ADMIN)).params["text"]
    assert "/ingest https://" in usage


async def test_oversize_upload_is_refused_before_download(bot: Harness, service: Tinbot) -> None:
    before = service.stats()
    admin = bot.api.user(ADMIN)
    calls = await bot.process(bot.api.upload("big.pdf", admin, size=50 * 1024 * 1024))
    text = only_reply(calls).params["text"]
    assert "quá lớn" in text
    assert "50,0 MB" in text
    assert "getFile" not in [c.method for c in calls]
    assert bot.api.downloads == []
    assert service.stats() == before


async def test_unsupported_upload_is_refused(bot: Harness, service: Tinbot) -> None:
    admin = bot.api.user(ADMIN)
    calls = await bot.process(bot.api.upload("bao-cao<script>.docx", admin, b"PK\x03\x04"))
    text = only_reply(calls).params["text"]
    assert ".txt, .md, .html, .pdf" in text
    assert "bao-cao&lt;script&gt;.docx" in text
    assert "getFile" not in [c.method for c in calls]


# --- hostile and odd input ---------------------------------------------------------------------


async def test_hostile_messages_get_clear_replies_and_change_nothing(
    bot: Harness, service: Tinbot
) -> None:
    before = service.stats()
    long = only_reply(await bot.say("đảng viên " * 999 + "kết nạp ạ?")).params["text"]
    assert "dài quá" in long
    assert "(10.000 ký tự)" in long
    emoji = only_reply(await bot.say("🙂🎉🔥")).params["text"]
    assert "bằng chữ" in emoji
    injection = "<b>Tuần Giáo</b> <script>alert(1)</script> &amp; kết nạp bao nhiêu đảng viên?"
    reply = only_reply(await bot.say(injection))  # the stand-in validates Telegram HTML
    assert "<script>" not in reply.params["text"]
    markdown = only_reply(await bot.say("*Tuần Giáo* _kết nạp_ [x](http://evil) bao nhiêu?"))
    assert markdown.params["parse_mode"] == "HTML"
    only_reply(await bot.say(TUAN_GIAO_QUESTION))
    followup = only_reply(await bot.say("ở *Lạng Sơn* & <u>Hà Nội</u> thì sao?"))
    # The echoed question is escaped: "&" is shown as text, the tags were dropped as markup.
    assert "Hiểu câu hỏi là: Lạng Sơn &amp; Hà Nội đã kết nạp" in followup.params["text"]
    assert "Lạng Sơn & Hà Nội đã kết nạp" in followup.result["text"]
    name = only_reply(await bot.say("/ingest <b>x</b>", user_id=ADMIN)).params["text"]
    assert "/ingest https://" in name
    assert service.stats() == before
    # Refused messages are not recorded as answers.
    assert bot.feedback.counts()[0] == 4


async def test_bogus_callback_data_is_answered_politely(bot: Harness) -> None:
    reply = only_reply(await bot.say(TUAN_GIAO_QUESTION))
    message = message_of(bot.api, reply)
    for data in ("s:../../etc/passwd:0:10", "f:1:x", "zzz", "s:a0000000000000000:5:1"):
        calls = await bot.process(bot.api.press(message, data, bot.api.user(USER)))
        answered = [c for c in calls if c.method == "answerCallbackQuery"]
        assert answered[0].params["text"] == "Nút này không còn dùng được."
    missing = await bot.process(
        bot.api.press(message, "s:a0000000000000000:1:5", bot.api.user(USER))
    )
    answered = [c for c in missing if c.method == "answerCallbackQuery"]
    assert "Không tìm thấy đoạn trích" in answered[0].params["text"]


async def test_rate_limit_is_per_user_and_friendly(service: Tinbot, tmp_path: Path) -> None:
    async for bot in start(make_settings(service, rate_limit_per_minute=2), service, tmp_path):
        for _ in range(2):
            assert has_number(only_reply(await bot.say(TUAN_GIAO_QUESTION)).params["text"], "470")
        limited = only_reply(await bot.say(TUAN_GIAO_QUESTION)).params["text"]
        assert "thử lại sau" in limited
        assert "2 câu mỗi phút" in limited
        assert has_number(
            only_reply(await bot.say(TUAN_GIAO_QUESTION, user_id=OTHER)).params["text"], "470"
        )


async def test_allow_list_refuses_other_chats(service: Tinbot, tmp_path: Path) -> None:
    settings = make_settings(service, allowed_chat_ids=frozenset({USER}))
    async for bot in start(settings, service, tmp_path):
        refused = only_reply(await bot.say(TUAN_GIAO_QUESTION, user_id=OTHER)).params["text"]
        assert refused == f"{MSG_NOT_ALLOWED} (chat id {OTHER})"
        group = bot.api.group_chat()
        silent = await bot.process(
            bot.api.send_text(f"/ask {TUAN_GIAO_QUESTION}", bot.api.user(USER), chat=group)
        )
        assert bot.replies(silent) == []
        assert has_number(
            only_reply(await bot.say(TUAN_GIAO_QUESTION, user_id=USER)).params["text"], "470"
        )


# --- failures and long answers -----------------------------------------------------------------


class ServiceWrapper:
    """The real service with one method replaced (a failure, a slow or a huge answer)."""

    def __init__(self, inner: Tinbot) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class BrokenService(ServiceWrapper):
    def answer(self, question: str, *, history: list[tuple[str, str]] | None = None) -> Answer:
        raise RuntimeError("disk I/O error at /srv/secret/tinbot.sqlite3")


async def test_errors_are_logged_and_reported_without_internals(
    service: Tinbot, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    broken = BrokenService(service)
    async for bot in start(make_settings(service), broken, tmp_path):  # type: ignore[arg-type]
        calls = await bot.say(TUAN_GIAO_QUESTION)
        text = only_reply(calls).params["text"]
        assert text == MSG_ERROR
        assert "secret" not in text
    assert "disk I/O error" in caplog.text


class LongAnswerService(ServiceWrapper):
    def answer(self, question: str, *, history: list[tuple[str, str]] | None = None) -> Answer:
        real = self.inner.answer(TUAN_GIAO_QUESTION)
        paragraph = "Đoạn <dài> & nhiều chữ: " + "đảng viên kết nạp " * 40
        text = "\n\n".join(f"{paragraph} [{1 + i % len(real.citations)}]" for i in range(12))
        return replace(real, text=text)


async def test_long_answers_are_split_into_valid_messages(service: Tinbot, tmp_path: Path) -> None:
    long_service = LongAnswerService(service)
    async for bot in start(make_settings(service), long_service, tmp_path):  # type: ignore[arg-type]
        calls = await bot.say(TUAN_GIAO_QUESTION)
        sent = [c for c in calls if c.method == "sendMessage"]
        assert len(sent) >= 2
        assert all(c.error is None for c in sent)  # each part is valid HTML within the limit
        assert [bool(c.params.get("reply_markup")) for c in sent] == [False] * (len(sent) - 1) + [
            True
        ]
        joined = "".join(c.result["text"] for c in sent)
        assert joined.count("Đoạn <dài> & nhiều chữ") == 12


class SlowService(ServiceWrapper):
    def __init__(self, inner: Tinbot) -> None:
        super().__init__(inner)
        self.release = threading.Event()

    def answer(self, question: str, *, history: list[tuple[str, str]] | None = None) -> Answer:
        if "chậm" in question:
            # Blocks a worker thread; if it ran on the event loop, the other chat would wait.
            self.release.wait(timeout=20)
        return self.inner.answer(question, history=history)


async def test_a_slow_question_does_not_stall_other_chats(service: Tinbot, tmp_path: Path) -> None:
    slow = SlowService(service)
    async for bot in start(make_settings(service), slow, tmp_path):  # type: ignore[arg-type]
        slow_update = bot.api.send_text(f"{TUAN_GIAO_QUESTION} (chậm)", bot.api.user(USER))
        fast_update = bot.api.send_text(TUAN_GIAO_QUESTION, bot.api.user(OTHER))
        slow_task = asyncio.create_task(
            bot.app.process_update(Update.de_json(slow_update, bot.app.bot))
        )
        await asyncio.sleep(0)
        await bot.app.process_update(Update.de_json(fast_update, bot.app.bot))
        answered_first = [int(c.params["chat_id"]) for c in bot.api.sent()]
        slow.release.set()
        await slow_task
        assert answered_first == [OTHER]
        assert [int(c.params["chat_id"]) for c in bot.api.sent()] == [OTHER, USER]


def test_feedback_refuses_unknown_answers_and_bad_ratings(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "f.sqlite3")
    answer = Answer(
        question="q",
        text="a [1]",
        refused=False,
        citations=[Citation(1, "a1", "T", None, "x.txt", "quote", 0, 5)],
    )
    answer_id = store.record_answer(chat_id=1, user_id=2, question="q?", answer=answer)
    other_id = store.record_answer(chat_id=1, user_id=2, question="q?", answer=answer)
    # Ids cannot be guessed from one another (a forged button would hit another's answer).
    assert abs(other_id - answer_id) > 1
    assert store.vote(answer_id + 1, 2, 1, chat_id=1) is False
    with pytest.raises(ValueError, match="rating"):
        store.vote(answer_id, 2, 0, chat_id=1)
    # A vote from another chat, e.g. a forged button, is not counted.
    assert store.vote(answer_id, 3, 1, chat_id=99) is False
    assert store.vote(answer_id, 2, -1, chat_id=1) is True
    assert store.counts() == (2, 0, 1)


# --- pieces without a bot ----------------------------------------------------------------------


class FakeClock:
    """Time under the test's control: a sliding window cannot be tested by sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_sliding_window_limiter() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(3, window=60.0, clock=clock)
    assert [limiter.hit("u") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit("u") == pytest.approx(60.0)
    assert limiter.hit("v") == 0.0  # per key
    clock.now += 30
    assert limiter.hit("u") == pytest.approx(30.0)
    assert limiter.remaining("u") == 0
    clock.now += 30.5  # the first three slide out of the window
    assert limiter.remaining("u") == 3
    assert limiter.hit("u") == 0.0
    unlimited = SlidingWindowLimiter(0, clock=clock)
    assert all(unlimited.hit("u") == 0.0 for _ in range(1000))


def test_limiter_memory_is_bounded() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, window=10.0, clock=clock, max_keys=100)
    for user in range(100):
        limiter.hit(user)
    clock.now += 11
    limiter.hit("new")
    assert len(limiter._events) == 1


@pytest.mark.parametrize("token", [None, "", "  ", "abc", "123456:short", "12345678:" + "ä" * 35])
def test_missing_or_malformed_token_is_a_config_error(token: str | None) -> None:
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN") as info:
        check_token(token)
    assert "\n" not in str(info.value)


def test_file_url_follows_the_api_url() -> None:
    assert file_base_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_base_url("https://tg.example/custom/") == "https://tg.example/custom/file/bot"
    assert check_token(f" {TOKEN} ") == TOKEN


async def test_one_persons_burst_waits_for_itself_not_for_others(
    service: Tinbot, tmp_path: Path
) -> None:
    slow = SlowService(service)
    async for bot in start(make_settings(service), slow, tmp_path):  # type: ignore[arg-type]
        burst = [
            asyncio.create_task(
                bot.app.process_update(
                    Update.de_json(
                        bot.api.send_text(f"{TUAN_GIAO_QUESTION} (chậm)", bot.api.user(USER)),
                        bot.app.bot,
                    )
                )
            )
            for _ in range(5)
        ]
        await asyncio.sleep(0.2)
        # One question answering, two queued behind it: the rest are told to wait their turn.
        told = [c.params["text"] for c in bot.api.sent() if int(c.params["chat_id"]) == USER]
        assert len(told) == 2 and all("đợi có câu trả lời" in t for t in told)
        # Meanwhile another person is answered at once.
        await bot.say(TUAN_GIAO_QUESTION, user_id=OTHER)
        assert [int(c.params["chat_id"]) for c in bot.api.sent()][-1] == OTHER
        slow.release.set()
        await asyncio.gather(*burst)
        answers = [c for c in bot.api.sent() if int(c.params["chat_id"]) == USER]
        assert sum(has_number(c.params["text"], "470") for c in answers) == 3


async def test_forged_buttons_cost_one_message_and_count_no_vote(bot: Harness) -> None:
    reply = only_reply(await bot.say(TUAN_GIAO_QUESTION))
    message = message_of(bot.api, reply)
    source = button(reply, "s:")["callback_data"]
    article_id = source.split(":")[1]
    # A whole 400 KB article asked for in one press: one message, not a hundred.
    calls = await bot.process(
        bot.api.press(message, f"s:{article_id}:0:400000", bot.api.user(USER))
    )
    assert len([c for c in calls if c.method == "sendMessage"]) <= 1
    # A vote forged in another chat for this answer is refused and not counted.
    vote = button(reply, "f:")["callback_data"]
    stranger_chat = {**message, "chat": bot.api.private_chat(bot.api.user(OTHER))}
    calls = await bot.process(bot.api.press(stranger_chat, vote, bot.api.user(OTHER)))
    toast = [c for c in calls if c.method == "answerCallbackQuery"][0]
    assert toast.params["text"] == "Nút này không còn dùng được."
    assert bot.feedback.counts()[1:] == (0, 0)


async def test_button_presses_are_rate_limited_per_person(bot: Harness) -> None:
    reply = only_reply(await bot.say(TUAN_GIAO_QUESTION))
    message = message_of(bot.api, reply)
    source = button(reply, "s:")["callback_data"]
    toasts = []
    for _ in range(PRESSES_PER_MINUTE + 3):
        calls = await bot.process(bot.api.press(message, source, bot.api.user(USER)))
        toasts += [c.params.get("text") for c in calls if c.method == "answerCallbackQuery"]
    assert toasts.count(MSG_PRESSES_TOO_FAST) == 3
    calls = await bot.process(bot.api.press(message, source, bot.api.user(OTHER)))
    assert MSG_PRESSES_TOO_FAST not in [c.params.get("text") for c in calls]


# --- inline mode -------------------------------------------------------------------------------


class CountingService(ServiceWrapper):
    """The real service, counting the questions it answers."""

    def __init__(self, inner: Tinbot) -> None:
        super().__init__(inner)
        self.questions: list[str] = []

    def answer(self, question: str, **kwargs: Any) -> Answer:
        self.questions.append(question)
        return self.inner.answer(question, **kwargs)


def inline_answer_of(calls: list[Call]) -> Call:
    [answered] = [c for c in calls if c.method == "answerInlineQuery"]
    assert answered.error is None, answered.error
    return answered


async def test_inline_query_offers_the_cited_answer_once_per_question(
    service: Tinbot, tmp_path: Path
) -> None:
    counting = CountingService(service)
    async for bot in start(make_settings(service), counting, tmp_path):  # type: ignore[arg-type]
        lan, other = bot.api.user(USER), bot.api.user(OTHER, "Minh")
        update = bot.api.inline(TUAN_GIAO_QUESTION, lan)
        answered = inline_answer_of(await bot.process(update))
        assert answered.params["inline_query_id"] == update["inline_query"]["id"]
        assert answered.params["cache_time"] == INLINE_CACHE_SECONDS
        [result] = answered.params["results"]
        assert result["type"] == "article"
        # Title: the figure line without its marker; description: the source it cites.
        assert has_number(result["title"], "470") and "[1]" not in result["title"]
        assert result["description"].startswith("[1] Huyện Tuần Giáo, tỉnh Điện Biên")
        assert "13/04/2018" in result["description"]
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML"
        assert content["message_text"] == render_answer(service.answer(TUAN_GIAO_QUESTION))
        assert "reply_markup" not in result  # a sample file: no web page to open
        assert counting.questions == [TUAN_GIAO_QUESTION]
        # The same question again, from anyone, spaced or cased differently: from the cache.
        again = bot.api.inline(f"  {TUAN_GIAO_QUESTION.upper()} ", other)
        assert inline_answer_of(await bot.process(again)).params["results"] == [result]
        assert counting.questions == [TUAN_GIAO_QUESTION]
        # Keystrokes: a query overtaken by a newer one from the same person is not answered.
        first = bot.api.inline("Huyện ủy Tuần Giáo đã kết", lan)
        second = bot.api.inline("Huyện ủy Tuần Giáo đã kết nạp bao nhiêu?", lan)
        mark = bot.api.mark()
        await asyncio.gather(
            *(bot.app.process_update(Update.de_json(u, bot.app.bot)) for u in (first, second))
        )
        answered = inline_answer_of(bot.api.calls[mark:])
        assert answered.params["inline_query_id"] == second["inline_query"]["id"]
        assert counting.questions[1:] == ["Huyện ủy Tuần Giáo đã kết nạp bao nhiêu?"]
        # The first keystrokes and questions the articles do not answer: no results, a hint.
        short = inline_answer_of(await bot.process(bot.api.inline("Tu", lan)))
        assert short.params["results"] == []
        assert short.params["button"]["start_parameter"] == "inline"
        unknown = inline_answer_of(
            await bot.process(bot.api.inline("Giá vàng hôm nay là bao nhiêu?", lan))
        )
        assert unknown.params["results"] == []
        assert "Không tìm thấy" in unknown.params["button"]["text"]
        assert len(counting.questions) == 3


async def test_inline_results_link_their_source(bot: Harness, service: Tinbot) -> None:
    admin = bot.api.user(ADMIN, "Quản trị")
    # An article of its own (the service is shared): the upload's caption gives its address.
    origin = "https://example.com/nam-po-ket-nap-dang-vien"
    text = MUONG_ANG.replace("Mường Ảng", "Nậm Pồ")
    upload = bot.api.upload("nam-po.txt", admin, text.encode(), caption=origin)
    assert "Đã thêm" in only_reply(await bot.process(upload)).params["text"]
    question = "Nậm Pồ kết nạp bao nhiêu đảng viên năm 2021?"
    calls = await bot.process(bot.api.inline(question, bot.api.user(USER)))
    [result, *_] = inline_answer_of(calls).params["results"]
    assert has_number(result["title"], "95")
    assert result["reply_markup"]["inline_keyboard"] == [
        [{"text": "🔗 [1] Mở bài viết", "url": origin}]
    ]
    assert f'<a href="{origin}">example.com</a>' in result["input_message_content"]["message_text"]


async def test_inline_queries_are_limited_per_person_and_by_the_allow_list(
    service: Tinbot, tmp_path: Path
) -> None:
    settings = make_settings(
        service, rate_limit_per_minute=1, allowed_chat_ids=frozenset({USER, OTHER})
    )
    async for bot in start(settings, service, tmp_path):
        lan = bot.api.user(USER)
        questions = [f"Huyện ủy Tuần Giáo kết nạp bao nhiêu đảng viên năm {y}?" for y in range(6)]
        answers = [inline_answer_of(await bot.process(bot.api.inline(q, lan))) for q in questions]
        assert all(a.params["results"] for a in answers[:INLINE_QUERIES_PER_QUESTION])
        limited = answers[-1].params
        assert limited["results"] == [] and limited["is_personal"] is True
        assert limited["cache_time"] == 0  # not cached by Telegram for everyone
        # Another person has a budget of their own; a person outside the allow-list gets nothing.
        other = bot.api.user(OTHER)
        assert inline_answer_of(await bot.process(bot.api.inline(questions[-1], other))).params[
            "results"
        ]
        stranger = bot.api.user(4004)
        refused = inline_answer_of(await bot.process(bot.api.inline(questions[0], stranger)))
        assert refused.params["results"] == [] and refused.params["is_personal"] is True


async def test_a_comparison_answer_comes_with_a_chart(bot: Harness) -> None:
    calls = await bot.say("Tuần Giáo và Núi Thành, nơi nào kết nạp nhiều đảng viên hơn?")
    answer = only_reply(calls).params["text"]
    assert has_number(answer, "470") and has_number(answer, "120")
    photos = [c for c in calls if c.method == "sendPhoto"]
    assert len(photos) == 1 and photos[0].error is None
    assert photos[0].params["photo"].data.startswith(b"\x89PNG")
    assert "Huyện Tuần Giáo" in photos[0].params["caption"]
    # A single figure is said by its sentence; no chart.
    calls = await bot.say(TUAN_GIAO_QUESTION)
    assert not [c for c in calls if c.method == "sendPhoto"]


def test_inline_results_fit_telegram_however_long_the_answer() -> None:
    citation = Citation(1, "a1", "Bài <một>", "2018-04-13", "https://example.com/a", "q", 0, 1)
    lead = "470 đảng viên — huyện Tuần Giáo [1]"
    quotes = "\n".join(f"“Câu trích dài số {i}: {'đảng viên ' * 30}” [1]" for i in range(40))
    answer = Answer("q?", f"{lead}\n{quotes}", refused=False, citations=[citation])
    [result] = inline_answer("q?", answer).results
    assert result.title == "470 đảng viên — huyện Tuần Giáo"
    assert result.description == "[1] Bài <một> — 13/04/2018"
    message = result.input_message_content
    assert isinstance(message, InputTextMessageContent)
    # Too long for one message: the lead line and the sources, still valid Telegram HTML.
    assert parse_html(message.message_text).startswith(lead)
    assert "Bài &lt;một&gt;" in message.message_text
    assert utf16_len(parse_html(message.message_text)) <= 4096
    only_quotes = replace(answer, text="“Chỉ một câu trích.” [1]\n“Câu nữa.” [1]")
    assert [r.title for r in inline_answer("q?", only_quotes).results] == ["“Chỉ một câu trích.”"]
