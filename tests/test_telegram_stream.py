"""Generated answers shown as the model writes them: the real python-telegram-bot application
talks HTTP to the Bot API stand-in, the real LangChain OpenAI client talks HTTP to the LLM
stand-in, which streams its reply slowly. Drafts in private chats, throttled edits in groups, and
the final message — checked, with its buttons — only at the end."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application

from bot.service import Tinbot
from bot.settings import Settings
from bot.telegram.app import MSG_ERROR, build_application
from bot.telegram.feedback import FeedbackStore
from bot.telegram.format import MAX_MESSAGE, telegram_length
from bot.telegram.stream import PREVIEW_SUFFIX, preview_text
from bot.types import Answer
from tests.helpers import TUAN_GIAO_QUESTION, CountingEmbedder, buttons, has_number
from tests.llm_standin import LLMStandin, Reply
from tests.telegram_standin import (
    ADMIN,
    TOKEN,
    USER,
    BotAPI,
    Call,
    Faults,
    StandinServer,
    samples_data_dir,
)

pytestmark = pytest.mark.slow

AnyApp = Application[Any, Any, Any, Any, Any, Any]
TUAN_GIAO_SOURCE = "[1] Huyện Tuần Giáo, tỉnh Điện Biên: Chú trọng"


def citing(needle: str, template: str) -> Callable[[dict[str, Any]], str]:
    """A model that answers from whichever numbered passage holds ``needle``."""

    def respond(body: dict[str, Any]) -> str:
        system = body["messages"][0]["content"]
        for block in re.split(r"\n(?=\[\d+\] )", system):
            match = re.match(r"\[(\d+)\] ", block)
            if match and needle in block:
                return template.format(n=match.group(1))
        return "Không tìm thấy thông tin này trong các bài viết đã nạp."

    return respond


GOOD = "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [{n}]."
LONGER = (
    "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [{n}]. Trong đó có 426 đảng viên là "
    "đoàn viên thanh niên, chiếm 90,6%, và 172 đảng viên nữ [{n}]."
)
INVENTED = (
    "Huyện ủy Tuần Giáo đã kết nạp được 520 đảng viên [{n}], sau hơn hai năm thực hiện mục tiêu "
    "Nghị quyết toàn khóa."
)


@pytest.fixture(scope="module")
def llm() -> Iterator[LLMStandin]:
    with LLMStandin() as standin:
        yield standin


@pytest.fixture(scope="module")
def service(llm: LLMStandin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tinbot]:
    data = samples_data_dir(tmp_path_factory.getbasetemp(), tmp_path_factory.mktemp("s") / "d")
    settings = Settings(data_dir=data, llm="openai", llm_base_url=llm.openai_url, llm_timeout=30.0)
    with Tinbot(settings, CountingEmbedder()) as tinbot:
        yield tinbot


class Harness:
    def __init__(self, app: AnyApp, api: BotAPI, feedback: FeedbackStore) -> None:
        self.app = app
        self.api = api
        self.feedback = feedback

    async def say(
        self, text: str, user_id: int = USER, chat: dict[str, Any] | None = None
    ) -> list[Call]:
        """Feed one message through the handlers; the Bot API calls it caused."""
        mark = self.api.mark()
        update = self.api.send_text(text, self.api.user(user_id), chat=chat)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        return self.api.calls[mark:]

    def drafts(self, calls: list[Call]) -> list[Call]:
        return [c for c in calls if c.method == "sendMessageDraft"]


async def serve(service: Tinbot, tmp_path: Path) -> AsyncIterator[Harness]:
    settings = service.settings.with_(
        telegram_token=TOKEN, admin_ids=frozenset({ADMIN}), rate_limit_per_minute=100
    )
    feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
    with StandinServer() as server:
        app = build_application(settings, service, base_url=server.base_url, feedback=feedback)
        await app.initialize()
        try:
            yield Harness(app, server.api, feedback)
        finally:
            await app.shutdown()


@pytest.fixture
async def bot(service: Tinbot, tmp_path: Path) -> AsyncIterator[Harness]:
    async for harness in serve(service, tmp_path):
        yield harness


def gaps(calls: list[Call]) -> list[float]:
    return [b.at - a.at for a, b in zip(calls, calls[1:], strict=False)]


def visible(text: str) -> str:
    return text.removesuffix(PREVIEW_SUFFIX)


# --- private chats: drafts -----------------------------------------------------------------


async def test_drafts_grow_then_the_checked_answer_is_sent_with_buttons(
    bot: Harness, llm: LLMStandin
) -> None:
    llm.reset(default=Reply(citing("470 đảng viên", LONGER), chunk_size=6, chunk_pause=0.15))
    calls = await bot.say(TUAN_GIAO_QUESTION)
    drafts = bot.drafts(calls)
    assert len(drafts) >= 3, [c.method for c in calls]
    assert all(d.error is None for d in drafts)
    assert {d.params["draft_id"] for d in drafts} == {drafts[0].params["draft_id"]} != {0}
    texts = [visible(d.params["text"]) for d in drafts]
    # The text grows as the model writes; previews carry no [n] (the answer renumbers them).
    assert all(b.startswith(a) and len(b) > len(a) for a, b in zip(texts, texts[1:], strict=False))
    assert all("[" not in t for t in texts)
    assert all(g >= 0.5 for g in gaps(drafts)), gaps(drafts)  # at most two drafts a second
    [reply] = [c for c in calls if c.method == "sendMessage"]
    assert reply.error is None
    assert reply.at > drafts[-1].at
    assert [c.method for c in calls if c.method == "editMessageText"] == []
    text = reply.params["text"]
    assert reply.params["parse_mode"] == "HTML"
    assert text.startswith(
        "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [1]. Trong đó có 426 đảng viên"
    )
    assert TUAN_GIAO_SOURCE in text
    assert {b["text"] for b in buttons(reply)} >= {"📄 [1]", "👍", "👎"}
    assert bot.feedback.counts()[0] == 1  # the answer is recorded for its 👍/👎


async def test_an_answer_failing_its_checks_ends_as_the_extractive_answer(
    bot: Harness, llm: LLMStandin
) -> None:
    llm.reset(default=Reply(citing("470 đảng viên", INVENTED), chunk_size=6, chunk_pause=0.15))
    calls = await bot.say(TUAN_GIAO_QUESTION)
    drafts = bot.drafts(calls)
    assert drafts, [c.method for c in calls]
    assert has_number(drafts[-1].params["text"], "520")  # shown while written: unchecked
    [reply] = [c for c in calls if c.method == "sendMessage"]
    text = reply.params["text"]
    assert not has_number(text, "520")
    assert has_number(text, "470")
    assert TUAN_GIAO_SOURCE in text
    assert {b["text"] for b in buttons(reply)} >= {"📄 [1]", "👍"}


async def test_without_drafts_a_private_chat_gets_an_edited_message(
    bot: Harness, llm: LLMStandin
) -> None:
    bot.api.unsupported.add("sendmessagedraft")  # a Bot API server older than 9.3
    llm.reset(default=Reply(citing("470 đảng viên", LONGER), chunk_size=6, chunk_pause=0.1))
    calls = await bot.say(TUAN_GIAO_QUESTION)
    assert [c.error is not None for c in bot.drafts(calls)] == [True]
    sent = [c for c in calls if c.method == "sendMessage"]
    edits = [c for c in calls if c.method == "editMessageText"]
    assert len(sent) == 1 and edits
    assert "parse_mode" not in sent[0].params  # the preview is plain text
    final = edits[-1]
    assert final.error is None
    assert final.params["parse_mode"] == "HTML"
    assert TUAN_GIAO_SOURCE in final.params["text"]
    assert {b["text"] for b in buttons(final)} >= {"📄 [1]", "👍"}


# --- groups: throttled edits ---------------------------------------------------------------


async def test_group_preview_is_edited_at_most_once_a_second_into_the_answer(
    bot: Harness, llm: LLMStandin
) -> None:
    api = bot.api
    # Every third edit meets flood control: the bot must wait as long as Telegram says.
    api.faults = Faults(too_many=3, retry_after=1, methods=frozenset({"editmessagetext"}))
    llm.reset(default=Reply(citing("470 đảng viên", LONGER), chunk_size=5, chunk_pause=0.15))
    group = api.group_chat()
    calls = await bot.say(f"@tinbot_test_bot {TUAN_GIAO_QUESTION}", chat=group)
    assert bot.drafts(calls) == []
    [placeholder] = [c for c in calls if c.method == "sendMessage"]
    assert placeholder.error is None
    assert "parse_mode" not in placeholder.params
    assert placeholder.params["reply_parameters"]["message_id"]  # answers the asker
    assert placeholder.params["text"].endswith(PREVIEW_SUFFIX)
    edits = [c for c in calls if c.method == "editMessageText"]
    limited = [c for c in edits if c.error is not None]
    assert limited and all("Too Many Requests" in str(c.error) for c in limited)
    assert len([c for c in edits if c.error is None]) >= 3
    # At most one edit a second in the chat, the flood-controlled ones and their retries too.
    assert all(g >= 1.0 for g in gaps([placeholder, *edits])), gaps([placeholder, *edits])
    message_id = placeholder.result["message_id"]
    assert {int(c.params["message_id"]) for c in edits} == {message_id}
    final = edits[-1]
    assert final.error is None
    assert final.params["parse_mode"] == "HTML"
    assert final.params["text"].startswith("Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [1].")
    assert TUAN_GIAO_SOURCE in final.params["text"]
    assert {b["text"] for b in buttons(final)} >= {"📄 [1]", "👍", "👎"}
    # Only the last edit carries buttons: nothing can be pressed before the checks passed.
    assert all(not c.params.get("reply_markup") for c in [placeholder, *edits[:-1]])
    assert api.messages[(group["id"], message_id)]["text"].startswith("Huyện ủy Tuần Giáo")


class FailingMidway:
    """The real service, except that the answer fails after some text was shown."""

    def __init__(self, inner: Tinbot) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def answer_stream(self, question: str, on_text: Callable[[str], None], **_: Any) -> Answer:
        for text in ("Huyện ủy Tuần Giáo", "Huyện ủy Tuần Giáo đã kết nạp"):
            on_text(text)
            time.sleep(1.2)
        raise RuntimeError("the index went away")


async def test_a_failing_answer_takes_its_preview_away(service: Tinbot, tmp_path: Path) -> None:
    async for bot in serve(FailingMidway(service), tmp_path):  # type: ignore[arg-type]
        group = bot.api.group_chat()
        calls = await bot.say(f"@tinbot_test_bot {TUAN_GIAO_QUESTION}", chat=group)
        methods = [c.method for c in calls if c.method != "sendChatAction"]
        assert methods[0] == "sendMessage" and "deleteMessage" in methods
        assert methods.index("deleteMessage") < len(methods) - 1
        assert calls[-1].params["text"] == MSG_ERROR
        # Nothing unchecked is left in the chat: the bot's only message there is the apology.
        left = [
            m["text"]
            for (chat_id, _), m in bot.api.messages.items()
            if chat_id == group["id"] and m["from"]["is_bot"]
        ]
        assert left == [MSG_ERROR]


# --- what a preview shows --------------------------------------------------------------------


def test_preview_is_plain_text_without_reasoning_or_markers_within_the_limit() -> None:
    assert preview_text("  ") is None
    assert preview_text("<think>cân nhắc") is None
    assert preview_text("<think>x</think>Kết nạp 470 đảng viên [1][2]. Thêm [3") == (
        "Kết nạp 470 đảng viên. Thêm [3" + PREVIEW_SUFFIX
    )
    long = preview_text("🙂" * 3000)
    assert long is not None
    assert telegram_length(long) <= MAX_MESSAGE
    assert long.endswith("🙂" + PREVIEW_SUFFIX)
