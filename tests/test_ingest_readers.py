"""A folder of many files is read in worker processes beside the writer: the same articles and
figures as reading in a thread, and nothing lost if a worker dies half-way."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

import bot.ingesting
from bot.service import Tinbot
from bot.settings import Settings
from ingest.worker import ReaderProcess
from tests.helpers import MUONG_ANG, CountingEmbedder

PLACES = ["Mường Ảng", "Tủa Chùa", "Tuần Giáo", "Điện Biên Đông", "Mường Chà", "Nậm Pồ"]


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, place in enumerate(PLACES):
        text = MUONG_ANG.replace("Mường Ảng", place).replace("95", str(60 + i))
        (folder / f"{i}.txt").write_text(text, encoding="utf-8")
    (folder / "empty.txt").write_text("   \n", encoding="utf-8")
    return folder


def _summary(service: Tinbot) -> dict[str, tuple[str, int]]:
    return {
        Path(a.origin).name: (a.title, len(service.facts.of_article(a.article_id)))
        for a in service.articles()
    }


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[ReaderProcess]:
    """Worker processes from two sources on, each one recorded."""
    made: list[ReaderProcess] = []
    real_init = ReaderProcess.__init__

    def init(self: ReaderProcess, *args: Any) -> None:
        real_init(self, *args)
        made.append(self)

    monkeypatch.setattr(ReaderProcess, "__init__", init)
    monkeypatch.setattr(bot.ingesting, "PROCESS_MIN_SOURCES", 2)
    return made


def test_worker_processes_read_what_a_thread_reads(
    tmp_path: Path, embedder: CountingEmbedder, spawned: list[ReaderProcess]
) -> None:
    folder = _folder(tmp_path)
    with Tinbot(Settings(data_dir=tmp_path / "processes"), embedder) as service:
        report = service.ingest([str(folder)])
        assert spawned, "the folder was not read in worker processes"
        assert report.count("added") == len(PLACES)
        [failed] = [r for r in report.results if r.status == "failed"]
        assert Path(failed.origin).name == "empty.txt" and "empty" in (failed.reason or "")
        in_processes = _summary(service)
        # Unchanged texts are recognised in the workers too (they get the stored hashes).
        again = service.ingest([str(folder)])
        assert again.count("unchanged") == len(PLACES)

    with Tinbot(Settings(data_dir=tmp_path / "thread", ingest_workers=0), embedder) as service:
        made = len(spawned)
        service.ingest([str(folder)])
        assert len(spawned) == made
        in_thread = _summary(service)
    assert in_processes == in_thread
    assert all(facts > 0 for _, facts in in_processes.values())


@pytest.mark.parametrize("failure", ["killed half-way", "cannot start"])
def test_a_worker_that_fails_loses_nothing(
    tmp_path: Path,
    embedder: CountingEmbedder,
    spawned: list[ReaderProcess],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    submitted = []
    if failure == "killed half-way":
        real_submit = ReaderProcess.submit

        def submit(self: ReaderProcess, *args: Any) -> Any:
            submitted.append(args)
            if len(submitted) == 3:  # killed (out of memory, say) with sources still queued
                self._child.kill()
                self._child.wait()
            return real_submit(self, *args)

        monkeypatch.setattr(ReaderProcess, "submit", submit)
        said = "reader process stopped"
    else:
        monkeypatch.setattr("sys.executable", str(tmp_path / "no-such-python"))
        said = "no reader process"
    folder = _folder(tmp_path)
    with (
        caplog.at_level(logging.WARNING, logger="bot.ingesting"),
        Tinbot(Settings(data_dir=tmp_path / "data"), embedder) as service,
    ):
        report = service.ingest([str(folder)])
        assert report.count("added") == len(PLACES)
        assert report.count("failed") == 1
        assert len(service.articles()) == len(PLACES)
        assert service.verify()["missing_vectors"] == 0
    assert said in caplog.text
    assert failure != "killed half-way" or len(submitted) >= 3
