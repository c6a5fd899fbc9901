"""End to end: the real ``tinbot serve`` process talks over HTTP to a Bot API stand-in on
127.0.0.1. A user asks, the answer carries the figure, ``[1]`` and a source button; pressing it
shows the passage; an admin uploads an article that is then answerable; hostile input gets a clear
reply and changes nothing; webhook mode checks Telegram's secret token.

The exchange is written as a Markdown transcript (``telegram-transcript.md`` in the test's temp
dir; with ``UPDATE_TELEGRAM_TRANSCRIPT=1`` also to ``docs/telegram-transcript.md``).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from tests.conftest import REPO
from tests.helpers import (
    MUONG_ANG,
    TUAN_GIAO_QUESTION,
    button,
    buttons,
    free_port,
    has_number,
    update_transcript,
)
from tests.telegram_standin import (
    ADMIN,
    TOKEN,
    USER,
    BotAPI,
    Call,
    StandinServer,
    clean_env,
    samples_data_dir,
)

pytestmark = pytest.mark.slow

STRANGER = 3003
ORIGIN = "https://example.com/muong-ang-ket-nap-dang-vien"
NAMES = {USER: "Lan", ADMIN: "Quản trị", STRANGER: "Khách"}
TINBOT = [sys.executable, "-m", "bot"]


class BotProcess:
    """``tinbot serve`` in a subprocess, its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [*TINBOT, "serve", *args], env=env, cwd=REPO, stdout=self._log, stderr=self._log
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until(self, api: BotAPI, method: str, timeout: float = 120.0) -> Call:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"tinbot serve exited early:\n{self.log()}")
            try:
                return api.wait_for(lambda c: c.method == method, timeout=0.5)
            except AssertionError:
                continue
        raise AssertionError(f"tinbot serve never called {method}:\n{self.log()}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture(scope="module")
def standin() -> Iterator[StandinServer]:
    with StandinServer() as server:
        yield server


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return samples_data_dir(tmp_path_factory.getbasetemp(), tmp_path_factory.mktemp("e2e") / "d")


@pytest.fixture(scope="module")
def served(
    standin: StandinServer, data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BotProcess]:
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TINBOT_TELEGRAM_BASE_URL=standin.base_url,
        TINBOT_DATA_DIR=str(data),
        TINBOT_ADMIN_IDS=f"{ADMIN}, 4004",
    )
    bot = BotProcess([], env, tmp_path_factory.mktemp("e2e-log") / "serve.log")
    bot.wait_until(standin.api, "deleteWebhook")  # polling is about to start
    yield bot
    bot.stop()


def ask(api: BotAPI, text: str, user_id: int = USER, **kwargs: Any) -> Call:
    """Send ``text`` as the user; the bot's reply (its first sendMessage to that chat)."""
    mark = api.mark()
    api.send_text(text, person(api, user_id), **kwargs)
    return api.wait_for_message(user_id, after=mark)


def person(api: BotAPI, user_id: int) -> dict[str, Any]:
    return api.user(user_id, NAMES[user_id])


def stats_articles(api: BotAPI) -> int:
    text = ask(api, "/stats").params["text"]
    match = re.search(r"Số bài viết: (\d+)", text)
    assert match, text
    return int(match.group(1))


# --- the exchange (tests run in file order and share the bot process) -------------------------


def test_bot_starts_and_sets_its_command_menu(standin: StandinServer, served: BotProcess) -> None:
    api = standin.api
    assert [c.method for c in api.calls][:1] == ["getMe"]
    assert {c["command"] for c in api.commands} >= {"ask", "sources", "stats", "help", "ingest"}


def test_start_greets_in_vietnamese(standin: StandinServer, served: BotProcess) -> None:
    text = ask(standin.api, "/start").params["text"]
    assert "Xin chào" in text
    assert "kết nạp được bao nhiêu đảng viên?" in text  # an example drawn from the corpus


def test_answer_carries_figure_citation_and_source_button(
    standin: StandinServer, served: BotProcess
) -> None:
    api = standin.api
    mark = api.mark()
    reply = ask(api, TUAN_GIAO_QUESTION)
    typing = api.wait_for(lambda c: c.method == "sendChatAction", after=mark)
    assert typing.params["action"] == "typing"
    assert typing.at <= reply.at
    text = reply.params["text"]
    assert has_number(text, "470")
    assert "[1]" in text
    assert "[1] Huyện Tuần Giáo, tỉnh Điện Biên: Chú trọng công tác phát triển đảng viên" in text
    source = button(reply, "s:")
    assert source["text"] == "📄 [1]"

    mark = api.mark()
    api.press(reply.result, source["callback_data"], person(api, USER))
    api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    passage = api.wait_for_message(USER, after=mark)
    assert passage.params["text"].startswith("<b>[1] Huyện Tuần Giáo")
    assert re.search(r"<b>[^<]*470 đảng viên[^<]*</b>", passage.params["text"])


def test_follow_up_is_resolved_against_the_previous_question(
    standin: StandinServer, served: BotProcess
) -> None:
    text = ask(standin.api, "ở Lạng Sơn thì sao?").params["text"]
    assert "Hiểu câu hỏi là: Lạng Sơn đã kết nạp được bao nhiêu đảng viên?" in text
    assert has_number(text, "738")


def test_feedback_is_stored_and_exported(
    standin: StandinServer, served: BotProcess, data: Path
) -> None:
    api = standin.api
    reply = ask(api, "Núi Thành kết nạp bao nhiêu đảng viên năm 2022?")
    assert has_number(reply.params["text"], "120")
    mark = api.mark()
    api.press(reply.result, button(reply, "f:")["callback_data"], person(api, USER))
    toast = api.wait_for(lambda c: c.method == "answerCallbackQuery", after=mark)
    assert toast.params["text"] == "Cảm ơn bạn đã góp ý!"
    result = subprocess.run(
        [*TINBOT, "feedback", "export", "--format", "jsonl"],
        env=clean_env(TINBOT_DATA_DIR=str(data)),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["rating"], r["user_id"]) for r in rows] == [("up", USER)]
    assert rows[0]["question"] == "Núi Thành kết nạp bao nhiêu đảng viên năm 2022?"
    assert has_number(rows[0]["answer"], "120")
    assert rows[0]["sources"][0]["origin"].endswith("003_b59c7ee6d4b859d5.txt")


def test_admin_upload_is_ingested_then_answerable(
    standin: StandinServer, served: BotProcess
) -> None:
    api = standin.api
    before = stats_articles(api)
    mark = api.mark()
    # The caption gives the article's address, so answers can link to it.
    api.upload("muong-ang.txt", person(api, ADMIN), MUONG_ANG.encode("utf-8"), caption=ORIGIN)
    report = api.wait_for_message(ADMIN, after=mark, timeout=120)
    assert "Đã thêm" in report.params["text"]
    assert "Huyện Mường Ảng kết nạp đảng viên mới" in report.params["text"]
    assert api.downloads == ["documents/file_1.txt"]
    assert stats_articles(api) == before + 1
    reply = ask(api, "Mường Ảng kết nạp bao nhiêu đảng viên năm 2021?")
    answer = reply.params["text"]
    assert has_number(answer, "95")
    assert f'[1] Huyện Mường Ảng kết nạp đảng viên mới — <a href="{ORIGIN}">example.com</a>' in (
        answer
    )
    assert {"text": "🔗 [1]", "url": ORIGIN} in buttons(reply)


def test_hostile_input_gets_clear_replies_and_changes_nothing(
    standin: StandinServer, served: BotProcess, data: Path
) -> None:
    api = standin.api
    before = stats_articles(api)
    downloads = list(api.downloads)
    mark = api.mark()
    long = ask(api, "đảng viên " * 999 + "kết nạp ạ?").params["text"]
    assert "Câu hỏi dài quá (10.000 ký tự)" in long
    assert "bằng chữ" in ask(api, "🙂🎉🔥👍").params["text"]
    injection = ask(
        api, '<a href="javascript:alert(1)">Tuần Giáo</a> <script>x</script> & bao nhiêu?'
    )
    assert "<script>" not in injection.params["text"]
    # FTS5 syntax and a NUL byte are words to search; bidi overrides do not hide the place.
    fts = ask(api, 'Tuần Giáo" OR kết* NEAR(a b) \x00 bao nhiêu đảng viên?').params["text"]
    assert "huyện Tuần Giáo" in fts and "[1]" in fts
    rtl = ask(api, "\u202eTuần Giáo\u202c kết nạp bao nhiêu đảng viên?").params["text"]
    assert has_number(rtl, "470")
    markdown = ask(api, "*Tuần Giáo* _kết nạp_ [bấm](http://evil.example) `code` bao nhiêu?")
    assert "evil" not in str(markdown.params.get("reply_markup"))
    refusal = ask(api, "/ingest https://example.com/bai.html", user_id=STRANGER).params["text"]
    assert "chỉ quản trị viên" in refusal
    upload_mark = api.mark()
    api.upload("bai.txt", person(api, STRANGER), MUONG_ANG.replace("95", "96").encode())
    assert "chỉ quản trị viên" in api.wait_for_message(STRANGER, after=upload_mark).params["text"]
    huge_mark = api.mark()
    api.upload("huge.pdf", person(api, ADMIN), size=50 * 1024 * 1024, mime_type="application/pdf")
    huge = api.wait_for_message(ADMIN, after=huge_mark).params["text"]
    assert "tệp quá lớn (50,0 MB; giới hạn 20,0 MB)" in huge
    assert "getFile" not in [c.method for c in api.calls[mark:]]
    # Every message the bot sent was accepted: valid HTML, within limits.
    assert [c.error for c in api.calls[mark:] if c.error] == []
    assert stats_articles(api) == before
    assert api.downloads == downloads  # nothing fetched from a stranger or an oversized file


DOC = REPO / "docs" / "telegram.md"
CHART = REPO / "docs" / "stats-chart.png"
TRANSCRIPT_RE = re.compile(
    r"(<!-- transcript: written by tests/test_telegram_e2e.py -->\n)(.*?)(<!-- /transcript -->)",
    re.S,
)


def test_stats_for_a_place_sends_a_chart(standin: StandinServer, served: BotProcess) -> None:
    api = standin.api
    mark = api.mark()
    api.send_text("/stats Tuần Giáo", person(api, USER))
    photo = api.wait_for(lambda c: c.method == "sendPhoto", after=mark, timeout=120)
    # Sent as multipart, a real PNG, the caption valid HTML naming the source.
    assert photo.error is None, photo.error
    assert photo.params["photo"].data.startswith(b"\x89PNG")
    assert photo.params["caption"].startswith("[1] Huyện Tuần Giáo")
    if os.environ.get("UPDATE_TELEGRAM_TRANSCRIPT"):
        CHART.write_bytes(photo.params["photo"].data)


def test_docs_show_a_chart_the_bot_sent() -> None:
    assert CHART.read_bytes().startswith(b"\x89PNG")
    assert f"]({CHART.name})" in DOC.read_text(encoding="utf-8")


def test_inline_query_offers_the_cited_answer(standin: StandinServer, served: BotProcess) -> None:
    api = standin.api
    assert api.bot_user["supports_inline_queries"]  # /setinline done in @BotFather
    mark = api.mark()
    update = api.inline(TUAN_GIAO_QUESTION, person(api, USER), chat_type="supergroup")
    answered = api.wait_for(lambda c: c.method == "answerInlineQuery", after=mark)
    # Validated as Telegram would: a known query, unique ids, titles, HTML within the limit.
    assert answered.error is None, answered.error
    assert answered.params["inline_query_id"] == update["inline_query"]["id"]
    assert answered.params["cache_time"] > 0
    [result, *_] = answered.params["results"]
    assert has_number(result["title"], "470")
    assert result["description"].startswith("[1] Huyện Tuần Giáo, tỉnh Điện Biên")
    message = result["input_message_content"]["message_text"]
    assert has_number(message, "470") and "<b>Nguồn:</b>" in message
    assert api.sent(mark) == []  # inline mode posts nothing itself: the person sends the result


def test_shutdown_is_clean_and_the_transcript_is_written(
    standin: StandinServer, served: BotProcess, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert served.stop() == 0
    log = served.log()
    assert "Traceback" not in log, log
    transcript = standin.api.transcript_markdown()
    out = tmp_path_factory.getbasetemp() / "telegram-transcript.md"
    out.write_text(transcript, encoding="utf-8")
    print(f"transcript written to {out}")
    assert "**👤 Lan:** Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên?" in transcript
    assert "`[ 📄 [1] ]`" in transcript
    if os.environ.get("UPDATE_TELEGRAM_TRANSCRIPT"):
        update_transcript(DOC, TRANSCRIPT_RE, transcript)


def test_docs_show_a_transcript_of_this_exchange() -> None:
    block = TRANSCRIPT_RE.search(DOC.read_text(encoding="utf-8"))
    assert block, "docs/telegram.md lost its transcript markers"
    transcript = block.group(2)
    for line in (
        "**👤 Lan:** Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên?",
        "470 đảng viên",
        "`[ 📄 [1] ]`",
        "**👤 Lan:** *(presses `[ 📄 [1] ]`)*",
        "Hiểu câu hỏi là: Lạng Sơn đã kết nạp được bao nhiêu đảng viên?",
        "**👤 Quản trị:** 📎 `muong-ang.txt`",
        "Đã thêm: Huyện Mường Ảng kết nạp đảng viên mới",
        "tệp quá lớn (50,0 MB; giới hạn 20,0 MB)",
    ):
        assert line in transcript, f"transcript in docs/telegram.md is missing {line!r}"


# --- startup failures and webhook mode ---------------------------------------------------------


def run_serve(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TINBOT, "serve", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=180
    )


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "tinbot: error: TELEGRAM_BOT_TOKEN is not set"),
        ("not-a-token", "tinbot: error: TELEGRAM_BOT_TOKEN is malformed"),
    ],
)
def test_missing_or_malformed_token_is_one_line(
    tmp_path: Path, token: str | None, message: str
) -> None:
    env = clean_env(TINBOT_DATA_DIR=str(tmp_path / "d"))
    if token is not None:
        env["TELEGRAM_BOT_TOKEN"] = token
    result = run_serve(env)
    assert result.returncode == 1
    assert result.stderr.startswith(message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_token_rejected_by_telegram_is_one_line(tmp_path: Path) -> None:
    with StandinServer() as server:
        env = clean_env(
            TELEGRAM_BOT_TOKEN="987654321:" + "B" * 35,  # well formed, unknown to the server
            TINBOT_TELEGRAM_BASE_URL=server.base_url,
            TINBOT_DATA_DIR=str(tmp_path / "d"),
        )
        result = run_serve(env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "tinbot: error: Telegram rejected TELEGRAM_BOT_TOKEN (401 Unauthorized); "
        "check it with @BotFather"
    ]
    assert not (tmp_path / "d").exists()  # refused before the index was opened


def test_unreachable_api_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TINBOT_TELEGRAM_BASE_URL=f"http://127.0.0.1:{port}/bot",
        TINBOT_DATA_DIR=str(tmp_path / "d"),
    )
    result = run_serve(env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"tinbot: error: cannot reach the Telegram Bot API at http://127.0.0.1:{port}/bot"
    )


def test_webhook_mode_checks_the_secret_token(tmp_path: Path) -> None:
    port = free_port()
    hook = f"http://127.0.0.1:{port}/tg-hook"
    with StandinServer() as server:
        api = server.api
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TINBOT_TELEGRAM_BASE_URL=server.base_url,
            TINBOT_DATA_DIR=str(tmp_path / "d"),
        )
        bot = BotProcess(
            ["--webhook-url", hook, "--webhook-listen", "127.0.0.1", "--webhook-port", str(port)],
            env,
            tmp_path / "webhook.log",
        )
        try:
            secret = bot.wait_until(api, "setWebhook").params["secret_token"]
            assert api.webhook["url"] == hook
            assert len(secret) >= 32
            update = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": USER, "type": "private", "first_name": "Lan"},
                    "from": api.user(USER),
                    "text": TUAN_GIAO_QUESTION,
                },
            }
            deadline = time.monotonic() + 60
            while True:  # the webhook server starts listening just after setWebhook
                try:
                    no_secret = httpx.post(hook, json=update, timeout=5)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
            assert no_secret.status_code == 403
            wrong = httpx.post(
                hook,
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": "x" * 43},
                timeout=5,
            )
            assert wrong.status_code == 403
            assert api.sent() == []  # neither forged update reached a handler
            right = httpx.post(
                hook, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": secret}, timeout=5
            )
            assert right.status_code == 200
            reply = api.wait_for_message(USER)
            assert "Chưa có bài viết nào được nạp" in reply.params["text"]  # empty data dir
        finally:
            assert bot.stop() == 0
        assert "Traceback" not in bot.log()
