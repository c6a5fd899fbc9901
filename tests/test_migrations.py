"""The data dir schema is versioned: a data dir written by release 0.1 (a tiny fixture: one
sample article, its passages, lexical rows and facts, no version set) opens, is migrated, and
answers; a data dir from a newer release is refused with a readable error."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.service import Tinbot
from bot.settings import Settings
from index.follows import FollowStore
from index.migrations import LATEST, migrate, version
from tests.helpers import CountingEmbedder, has_number

FIXTURE = Path(__file__).parent / "fixtures" / "release-0.1" / "tinbot.sqlite3"


def test_a_data_dir_from_release_0_1_is_migrated_and_answers(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(FIXTURE, data / "tinbot.sqlite3")
    with sqlite3.connect(data / "tinbot.sqlite3") as conn:
        assert version(conn) == 0
        passages = conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
    bot = Tinbot(Settings(data_dir=data), CountingEmbedder())
    try:
        assert version(bot.store.conn) == LATEST
        # Migration 2 counted the fixture's terms from its FTS index.
        assert bot.lexical.count() == passages
        assert bot.lexical.term_stat_errors() == 0
        # Migration 3 took the stored articles as already scanned: they are no follower's news.
        assert FollowStore(data / "tinbot.sqlite3").unscanned()[0] == []
        scanned = bot.store.conn.execute("SELECT COUNT(*) FROM follow_scanned").fetchone()[0]
        assert scanned == bot.stats().articles > 0
        # The fixture carries no Chroma directory: its vectors are rebuilt from the store.
        assert bot.verify()["missing_vectors"] == passages
        bot.repair()
        assert bot.verify()["missing_vectors"] == 0
        answer = bot.answer("Thành phố Lai Châu kết nạp được bao nhiêu đảng viên mới?")
        assert not answer.refused
        assert has_number(answer.text, "425")
    finally:
        bot.close()


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    assert migrate(conn) == LATEST
    tables = conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall()
    assert migrate(conn) == LATEST
    assert conn.execute("SELECT name FROM sqlite_master ORDER BY name").fetchall() == tables


def test_a_data_dir_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "db.sqlite3")
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    with pytest.raises(ConfigError, match="newer tinbot"):
        migrate(conn)
