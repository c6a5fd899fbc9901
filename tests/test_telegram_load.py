"""Under Telegram's misbehaviour every question is answered exactly once: the real
``tinbot serve`` against the Bot API stand-in answering 429 on every 5th delivery, 500 on every
7th and dropping the connection after accepting every 6th (the bot cannot know that one
arrived, so it must not send it again). The full-size run (200 people x 5 questions) is
``python -m bench.load``; this is its CI-sized sibling."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.telegram_standin import (
    TOKEN,
    BotAPI,
    Faults,
    StandinServer,
    clean_env,
    samples_data_dir,
)
from tests.test_telegram_e2e import BotProcess

pytestmark = pytest.mark.slow

QUESTIONS = (
    "Tuần Giáo kết nạp bao nhiêu đảng viên từ 2016 đến 31-3-2018?",
    "dang bo thanh pho kon tum co bao nhieu dang vien la nguoi co dao",
    "Huyện Núi Thành kết nạp bao nhiêu đảng viên năm 2022?",
)
PEOPLE = 12


@pytest.fixture
def faulty(tmp_path: Path) -> Iterator[tuple[StandinServer, BotProcess, dict[str, str]]]:
    api = BotAPI()
    with StandinServer(api) as server:
        data = samples_data_dir(tmp_path.parent, tmp_path / "data")
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TINBOT_TELEGRAM_BASE_URL=server.base_url,
            TINBOT_DATA_DIR=str(data),
        )
        bot = BotProcess([], env, tmp_path / "serve.log")
        try:
            bot.wait_until(api, "deleteWebhook")
            yield server, bot, env
        finally:
            bot.stop()


def answers_by_chat(api: BotAPI, after: int) -> Counter[int]:
    """Messages Telegram accepted per chat (a dropped connection's message counts: it arrived)."""
    return Counter(
        int(c.params["chat_id"])
        for c in api.calls[after:]
        if c.method == "sendMessage" and c.error is None
    )


def test_every_question_is_answered_exactly_once_under_429_500_and_drops(
    faulty: tuple[StandinServer, BotProcess, dict[str, str]],
) -> None:
    server, bot, _ = faulty
    api = server.api
    api.faults = Faults(too_many=5, retry_after=1, server_error=7, drop_after_accept=6)
    mark = api.mark()
    people = [api.user(5000 + i, f"Người {i}") for i in range(PEOPLE)]
    for question in QUESTIONS:
        for user in people:
            api.send_text(question, user)
    expected = len(QUESTIONS)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        counts = answers_by_chat(api, mark)
        if all(counts[u["id"]] >= expected for u in people):
            break
        time.sleep(0.5)
    time.sleep(3)  # late retries would show up as duplicates now
    counts = answers_by_chat(api, mark)
    faults = Counter(c.error for c in api.calls[mark:] if c.error)
    assert faults["Too Many Requests: retry after 1"] > 0 and faults["Internal Server Error"] > 0
    assert {u["id"]: counts[u["id"]] for u in people} == {u["id"]: expected for u in people}, (
        bot.log()[-3000:]
    )
    texts = [c.params["text"] for c in api.calls[mark:] if c.method == "sendMessage"]
    assert not [t for t in texts if "đã có lỗi xảy ra" in t]  # no apology on top of an answer
    assert "Traceback" not in bot.log()


def test_questions_in_flight_at_sigterm_are_answered_once(
    faulty: tuple[StandinServer, BotProcess, dict[str, str]], tmp_path: Path
) -> None:
    server, bot, env = faulty
    api = server.api
    api.faults = Faults(delay=0.3)  # slow deliveries keep questions in flight
    mark = api.mark()
    people = [api.user(6000 + i, f"Người {i}") for i in range(PEOPLE)]
    for user in people:
        api.send_text(QUESTIONS[0], user)
    api.wait_for(lambda c: c.method == "sendMessage", after=mark, timeout=120)
    assert bot.stop() == 0, bot.log()[-3000:]
    answered_before = sum(answers_by_chat(api, mark).values())
    # A new process fetches whatever the old one had not confirmed.
    again = BotProcess([], env, tmp_path / "serve-again.log")
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if all(answers_by_chat(api, mark)[u["id"]] >= 1 for u in people):
                break
            time.sleep(0.5)
        time.sleep(3)
        counts = answers_by_chat(api, mark)
    finally:
        again.stop()
    assert {u["id"]: counts[u["id"]] for u in people} == {u["id"]: 1 for u in people}, (
        answered_before,
        again.log()[-2000:],
    )


def test_a_slow_bot_api_gets_one_answer_and_no_apology(
    faulty: tuple[StandinServer, BotProcess, dict[str, str]],
) -> None:
    server, bot, _ = faulty
    api = server.api
    api.faults = Faults(delay=6.0)  # past python-telegram-bot's default 5 s read timeout
    mark = api.mark()
    people = [api.user(7000 + i, f"Người {i}") for i in range(2)]
    for user in people:
        api.send_text(QUESTIONS[0], user)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and sum(answers_by_chat(api, mark).values()) < 2:
        time.sleep(0.5)
    time.sleep(8)  # an apology would follow the answer within one more slow delivery
    texts = [
        c.params["text"] for c in api.calls[mark:] if c.method == "sendMessage" and c.error is None
    ]
    assert len(texts) == 2, texts
    assert not [t for t in texts if "đã có lỗi xảy ra" in t]
