"""Load and fault harness for the Telegram bot: the real ``tinbot serve`` against the Bot API
stand-in on 127.0.0.1, which can answer a share of deliveries with 429 / 500, answer slowly, or
drop the connection after accepting a message.

N simulated people each ask M questions, one after another (a person waits for the answer
before asking again, as people do). The report counts questions answered exactly once, lost and
answered twice, the time from a question to its answer (p50/p95/p99), and the bot process's
memory and open file descriptors before and after; ``--soak-minutes`` then keeps a steady rate
and samples memory and descriptors over time.

    python -m bench.load --people 200 --questions 5 --too-many 5 --server-error 7

Everything is bounded: people, questions and minutes are capped, and only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from tests.telegram_standin import (
    TOKEN,
    BotAPI,
    Call,
    Faults,
    StandinServer,
    clean_env,
    samples_data_dir,
)

REPO = Path(__file__).resolve().parents[1]
MAX_PEOPLE = 1000
MAX_QUESTIONS = 20
MAX_SOAK_MINUTES = 60
ANSWER_TIMEOUT = 300.0
QUESTIONS = (
    "Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên từ năm 2016 đến 31-3-2018?",
    "dang bo thanh pho kon tum co bao nhieu dang vien la nguoi co dao",
    "Huyện Núi Thành kết nạp bao nhiêu đảng viên mới trong năm 2022?",
    "Khối các cơ quan tỉnh Lạng Sơn kết nạp được bao nhiêu đảng viên?",
    "Thành phố Lai Châu kết nạp bao nhiêu đảng viên nữ?",
    "How many new party members did Tuan Giao admit?",
    "Ở Núi Thành có bao nhiêu đảng viên?",
)


@dataclass
class Process:
    rss_mb: float
    open_fds: int
    threads: int


@dataclass
class Report:
    people: int
    questions_each: int
    faults: dict[str, Any]
    asked: int = 0
    answered_once: int = 0
    lost: int = 0
    duplicated: int = 0
    latency_ms: dict[str, float] = field(default_factory=dict)
    fault_answers: dict[str, int] = field(default_factory=dict)
    before: Process | None = None
    after: Process | None = None
    soak: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0


def _process(pid: int) -> Process:
    proc = psutil.Process(pid)
    return Process(
        rss_mb=round(proc.memory_info().rss / 2**20, 1),
        open_fds=proc.num_fds(),
        threads=proc.num_threads(),
    )


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index] * 1000, 1)


def _answer_to(chat_id: int, since: float) -> Callable[[Call], bool]:
    def matches(call: Call) -> bool:
        return (
            call.method == "sendMessage"
            and call.error is None
            and int(call.params["chat_id"]) == chat_id
            and call.at >= since
        )

    return matches


class Harness:
    def __init__(self, api: BotAPI) -> None:
        self.api = api
        self.latencies: list[float] = []
        self.asked: dict[int, int] = {}
        self._lock = threading.Lock()

    def answers(self, chat_id: int) -> list[float]:
        """When each accepted message to ``chat_id`` was delivered (monotonic)."""
        return [
            c.at
            for c in list(self.api.calls)
            if c.method == "sendMessage" and c.error is None and int(c.params["chat_id"]) == chat_id
        ]

    def person(self, user_id: int, questions: Sequence[str]) -> None:
        user = self.api.user(user_id, f"Người {user_id}")
        for question in questions:
            with self._lock:
                self.asked[user_id] = self.asked.get(user_id, 0) + 1
            sent = time.monotonic()
            self.api.send_text(question, user)
            try:
                call = self.api.wait_for(_answer_to(user_id, sent), timeout=ANSWER_TIMEOUT)
            except AssertionError:
                return  # lost: counted at the end
            with self._lock:
                self.latencies.append(call.at - sent)


def run(args: argparse.Namespace) -> Report:
    faults = Faults(
        too_many=args.too_many,
        retry_after=args.retry_after,
        server_error=args.server_error,
        drop_after_accept=args.drop_after_accept,
        delay=args.delay,
    )
    report = Report(
        people=args.people,
        questions_each=args.questions,
        faults={k: v for k, v in asdict(faults).items() if k != "methods"},
    )
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="tinbot-load-") as tmp:
        base = Path(tmp)
        data = samples_data_dir(base, base / "data")
        api = BotAPI()
        with StandinServer(api) as server:
            env = clean_env(
                TELEGRAM_BOT_TOKEN=TOKEN,
                TINBOT_TELEGRAM_BASE_URL=server.base_url,
                TINBOT_DATA_DIR=str(data),
                TINBOT_RATE_LIMIT="0",
            )
            log = open(base / "serve.log", "wb")  # noqa: SIM115 - closed below
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"], env=env, cwd=REPO, stdout=log, stderr=log
            )
            try:
                api.wait_for(lambda c: c.method == "deleteWebhook", timeout=180)
                time.sleep(1.0)
                report.before = _process(bot.pid)
                api.faults = faults
                harness = Harness(api)
                mark = api.mark()
                started = time.monotonic()
                people = [
                    threading.Thread(
                        target=harness.person,
                        args=(10_000 + i, [rng.choice(QUESTIONS) for _ in range(args.questions)]),
                        daemon=True,
                    )
                    for i in range(args.people)
                ]
                for thread in people:
                    thread.start()
                    time.sleep(args.arrival)
                for thread in people:
                    thread.join(ANSWER_TIMEOUT * args.questions)
                time.sleep(3.0)  # late duplicates would arrive now
                report.seconds = round(time.monotonic() - started, 1)
                for user_id, asked in harness.asked.items():
                    got = len(harness.answers(user_id))
                    report.asked += asked
                    report.answered_once += min(got, asked)
                    report.lost += max(asked - got, 0)
                    report.duplicated += max(got - asked, 0)
                report.latency_ms = {
                    "p50": _percentile(harness.latencies, 0.50),
                    "p95": _percentile(harness.latencies, 0.95),
                    "p99": _percentile(harness.latencies, 0.99),
                    "mean": round(statistics.fmean(harness.latencies) * 1000, 1)
                    if harness.latencies
                    else 0.0,
                }
                errors: dict[str, int] = {}
                for call in api.calls[mark:]:
                    if call.error:
                        errors[call.error] = errors.get(call.error, 0) + 1
                report.fault_answers = errors
                report.after = _process(bot.pid)
                if args.soak_minutes:
                    report.soak = _soak(api, bot.pid, args, rng)
            finally:
                bot.send_signal(signal.SIGTERM)
                try:
                    bot.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    bot.kill()
                log.close()
    return report


def _soak(
    api: BotAPI, pid: int, args: argparse.Namespace, rng: random.Random
) -> list[dict[str, float]]:
    """A steady question rate for ``soak_minutes``; memory and descriptors every 30 s."""
    samples: list[dict[str, float]] = []
    end = time.monotonic() + args.soak_minutes * 60
    next_sample = time.monotonic()
    n = 0
    while time.monotonic() < end:
        user = api.user(20_000 + n % 50, "Soak")
        api.send_text(rng.choice(QUESTIONS), user)
        n += 1
        if time.monotonic() >= next_sample:
            proc = _process(pid)
            samples.append(
                {
                    "minute": round(args.soak_minutes - (end - time.monotonic()) / 60, 1),
                    "rss_mb": proc.rss_mb,
                    "open_fds": proc.open_fds,
                    "asked": n,
                }
            )
            next_sample += 30
        time.sleep(1.0 / args.soak_rate)
    return samples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load",
        description="Many people asking tinbot at once while the Bot API misbehaves.",
    )
    parser.add_argument("--people", type=int, default=50, help="simulated people (max 1000)")
    parser.add_argument("--questions", type=int, default=4, help="questions each (max 20)")
    parser.add_argument("--arrival", type=float, default=0.02, help="seconds between arrivals")
    parser.add_argument("--too-many", type=int, default=5, help="429 on every n-th delivery")
    parser.add_argument("--retry-after", type=int, default=1, help="retry_after of those 429s")
    parser.add_argument("--server-error", type=int, default=7, help="500 on every n-th")
    parser.add_argument(
        "--drop-after-accept",
        type=int,
        default=0,
        help="accept every n-th delivery, then drop the connection before answering",
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per delivery")
    parser.add_argument("--soak-minutes", type=float, default=0.0, help="then a steady soak")
    parser.add_argument("--soak-rate", type=float, default=2.0, help="questions/s in the soak")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the report here too")
    args = parser.parse_args(argv)
    if not 1 <= args.people <= MAX_PEOPLE or not 1 <= args.questions <= MAX_QUESTIONS:
        parser.error(f"--people 1..{MAX_PEOPLE}, --questions 1..{MAX_QUESTIONS}")
    if not 0 <= args.soak_minutes <= MAX_SOAK_MINUTES:
        parser.error(f"--soak-minutes 0..{MAX_SOAK_MINUTES}")
    report = run(args)
    text = json.dumps(asdict(report), ensure_ascii=False, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if report.lost == report.duplicated == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
