"""The real ``tinbot`` command, as other tools drive it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, SAMPLES
from tests.helpers import has_number

TINBOT = [sys.executable, "-m", "bot"]


def run(*args: str, data: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TINBOT_DATA_DIR": str(data)}
    result = subprocess.run(
        [*TINBOT, *args], capture_output=True, text=True, env=env, cwd=REPO, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"tinbot {args} failed: {result.stderr}")
    return result


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli-data")
    result = run("ingest", str(SAMPLES), "--json", data=data)
    report = json.loads(result.stdout)
    assert report["added"] == 5
    assert report["failed"] == 0
    return data


def test_help_lists_every_command() -> None:
    result = subprocess.run([*TINBOT, "--help"], capture_output=True, text=True, cwd=REPO)
    for command in ("ingest", "ask", "sources", "eval", "demo"):
        assert command in result.stdout


def test_ask_json_has_the_contract_shape(data: Path) -> None:
    result = run("ask", "Tuần Giáo kết nạp bao nhiêu đảng viên?", "--json", data=data)
    answer = json.loads(result.stdout)
    assert set(answer) == {"answer", "refused", "citations"}
    assert answer["refused"] is False
    assert has_number(answer["answer"], "470")
    citation = answer["citations"][0]
    # The contract's keys, plus the article's web address when it has one.
    keys = {"n", "article_id", "title", "date", "origin", "link", "publisher", "quote"}
    assert set(citation) == keys
    assert citation["n"] == 1
    assert citation["origin"].endswith("000_f0ce5db119e1970c.txt")
    assert has_number(citation["quote"], "470")


def test_ask_plain_text_lists_sources(data: Path) -> None:
    result = run(
        "ask", "dang bo thanh pho kon tum co bao nhieu dang vien la nguoi co dao", data=data
    )
    assert has_number(result.stdout, "215")
    assert "Nguồn:" in result.stdout
    assert "[1]" in result.stdout


def test_reingest_reports_unchanged(data: Path) -> None:
    report = json.loads(run("ingest", str(SAMPLES), "--json", data=data).stdout)
    assert report["unchanged"] == 5
    assert report["added"] == 0


def test_sources_json(data: Path) -> None:
    articles = json.loads(run("sources", "--json", data=data).stdout)
    assert len(articles) == 5
    assert {"article_id", "title", "date", "origin", "chunks"} <= set(articles[0])
    dates = {a["origin"].rsplit("/", 1)[-1]: a["date"] for a in articles}
    assert dates["000_f0ce5db119e1970c.txt"] == "2018-04-13"


def test_eval_meets_the_quality_bar_on_the_dev_set(data: Path) -> None:
    result = run("eval", str(REPO / "eval" / "dev.jsonl"), "--json", data=data)
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["answer_accuracy"] >= 0.9
    assert metrics["citation_accuracy"] >= 0.95
    assert metrics["unanswerable_refused"] == metrics["unanswerable"] == 2
    assert metrics["answerable_refused"] == 0
    assert metrics["ans@5"] == 1.0


def test_bad_input_is_one_line_and_nonzero_exit(data: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = run("ingest", str(empty), data=data, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "empty.txt" in result.stderr


def test_ask_before_ingest_says_what_to_do(tmp_path: Path) -> None:
    result = run("ask", "bao nhiêu?", data=tmp_path / "fresh", check=False)
    assert result.returncode == 1
    assert "tinbot ingest" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_one_clear_line(tmp_path: Path) -> None:
    env = {**os.environ, "TINBOT_DATA_DIR": str(tmp_path), "TINBOT_TOP_K": "lots"}
    result = subprocess.run([*TINBOT, "sources"], capture_output=True, text=True, env=env, cwd=REPO)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "TINBOT_TOP_K" in result.stderr


def test_ask_filters_by_date_and_article(data: Path) -> None:
    question = "Tuần Giáo kết nạp bao nhiêu đảng viên?"
    before = json.loads(run("ask", question, "--until", "2018-12-31", "--json", data=data).stdout)
    assert has_number(before["answer"], "470")
    # Only articles from 2019 on: Tuần Giáo's (2018) is out of scope, so no answer.
    after = json.loads(run("ask", question, "--since", "2019-01-01", "--json", data=data).stdout)
    assert after["refused"] is True
    sources = json.loads(run("sources", "--json", data=data).stdout)
    lang_son = next(a for a in sources if a["origin"].endswith("001_b3634b2c3e59b832.txt"))
    only = json.loads(
        run("ask", question, "--article", lang_son["article_id"], "--json", data=data).stdout
    )
    assert all(c["article_id"] == lang_son["article_id"] for c in only["citations"])
    bad = run("ask", question, "--since", "1/1/2019", data=data, check=False)
    assert bad.returncode == 1 and "YYYY-MM-DD" in bad.stderr
    missing = run("ask", question, "--article", "nope", data=data, check=False)
    assert missing.returncode == 1 and "no such article" in missing.stderr


def test_check_and_backup(data: Path, tmp_path: Path) -> None:
    report = json.loads(run("check", "--json", data=data).stdout)
    assert report["consistent"] is True and report["counts"]["articles"] == 5
    run("backup", str(tmp_path / "copy"), data=data)
    restored = json.loads(run("check", "--json", data=tmp_path / "copy").stdout)
    assert restored["counts"] == report["counts"]


def test_plain_text_sources_give_the_web_address_and_publisher_when_known() -> None:
    from bot.commands import format_answer
    from bot.types import Answer, Citation

    scraped = Citation(
        1, "a1", "Khai giảng lớp", "2025-03-05", "/data/nb_11.html", "q", 0, 1,
        link="https://baophutho.vn/khai-giang.html", publisher="Báo Phú Thọ điện tử",
    )  # fmt: skip
    local = Citation(2, "a2", "Tuần Giáo", None, "/data/000.txt", "q", 0, 1)
    text = format_answer(Answer("q", "… [1] [2]", False, [scraped, local]))
    assert text.splitlines()[-2:] == [
        "[1] Khai giảng lớp — Báo Phú Thọ điện tử — 2025-03-05 — https://baophutho.vn/khai-giang.html",
        "[2] Tuần Giáo — /data/000.txt",
    ]
