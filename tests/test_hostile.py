"""Hostile input through the real ``tinbot`` command: each bad file gets one clear line, no
traceback, and nothing else is lost — the good files beside it are ingested, the stores agree."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from chromadb.api.models.Collection import Collection
from chromadb.errors import InternalError

from bot.cli import main
from bot.errors import IngestError, SourceTooLargeError
from bot.service import Tinbot
from bot.terminal import safe_line
from index.store import ArticleStore
from index.vectors import VectorStore
from ingest.loaders import LoadLimits, decode, decode_with_warnings, expand_source, load, load_bytes
from tests.conftest import REPO, SAMPLES
from tests.helpers import MUONG_ANG, QuietHTTPServer, free_port, to_cp1258
from tests.telegram_standin import TOKEN

TINBOT = [sys.executable, "-m", "bot"]
SAMPLE_TEXTS = [p.read_text(encoding="utf-8") for p in sorted(SAMPLES.glob("*.txt"))]


def run(*args: str | bytes, data: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "TINBOT_DATA_DIR": str(data), **env}
    return subprocess.run(
        [*TINBOT, *args],
        capture_output=True,
        text=True,
        errors="replace",
        env=environ,
        cwd=REPO,
        timeout=600,
    )


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tinbot: error: ")
    for needle in needles:
        assert needle in lines[0]


def counts(data: Path) -> dict[str, object]:
    result = run("check", "--json", data=data)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["consistent"] is True
    return dict(report["counts"])


# --- building hostile files --------------------------------------------------------------------
def pdf(stream_dict: bytes, stream: bytes) -> bytes:
    """A one-page PDF whose page content is ``stream``, with a correct cross-reference table."""
    font = b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents 4 0 R /Resources "
        + font
        + b" >>",
        stream_dict + b"\nstream\n" + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PDF_TEXT = b"BT /F1 12 Tf 20 100 Td (Dang bo huyen Muong Ang ket nap 95 dang vien moi) Tj ET"


def declared_bomb() -> bytes:
    """A content stream declaring 1 GiB: pypdf refuses to read it."""
    return pdf(b"<< /Length 1073741824 >>", PDF_TEXT)


def flate_bomb() -> bytes:
    """80 KB that inflate to 80 MB, above pypdf's decompression limit."""
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(bytes(10_000_000)) for _ in range(8)) + packer.flush()
    return pdf(b"<< /Length %d /Filter /FlateDecode >>" % len(data), data)


def with_stray_bytes(text: str) -> bytes:
    """UTF-8 text with a pasted cp1252 quote: two bytes that are not UTF-8."""
    head, tail = text.split("\n", 1)
    return head.encode() + b" \x93trich\x94\n" + tail.encode()


@dataclass(frozen=True)
class Entry:
    """One file of the hostile folder and what ``tinbot ingest`` must say about it."""

    name: str | bytes  # bytes: a name that is not UTF-8
    make: Callable[[Path], object]
    failed: str | None = None  # the reason's words, when the file must fail
    warning: str | None = None  # the warning's words, when it is read with a repair


def _write(content: bytes) -> Callable[[Path], object]:
    return lambda path: path.write_bytes(content)


def _link(target: str) -> Callable[[Path], object]:
    return lambda path: path.symlink_to(target)


VARIANT = MUONG_ANG.replace("Mường Ảng", "Mường Chà").replace("95", "87")
ENTRIES = [
    Entry("good.txt", _write(MUONG_ANG.encode())),
    Entry("empty.txt", _write(b""), failed="empty file"),
    Entry(
        "image.txt",
        _write(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4),
        failed="binary data",
    ),  # fmt: skip
    Entry("huge.txt", _write(("đảng viên " * 20_000).encode()), failed="too large"),
    Entry("bomb.pdf", _write(declared_bomb()), failed="safety limit"),
    Entry("inflates.pdf", _write(flate_bomb()), failed="safety limit"),
    Entry(b"t\xean-c\xfc.txt", _write(SAMPLE_TEXTS[0].encode()), failed="not valid UTF-8"),
    Entry("passwd.txt", _link("/etc/passwd"), failed="outside"),
    Entry("loop-a.txt", _link("loop-b.txt"), failed="symlink loop"),
    Entry("loop-b.txt", _link("loop-a.txt"), failed="symlink loop"),
    Entry("parent", _link(".."), failed="outside"),
    Entry("stray.txt", _write(with_stray_bytes(SAMPLE_TEXTS[1])), warning="2 invalid UTF-8 bytes"),
    Entry(
        "nul.txt",
        _write(SAMPLE_TEXTS[2].encode().replace(b". ", b".\x00 ", 1)),
        warning="1 NUL byte removed",
    ),  # fmt: skip
    Entry("utf16.txt", _write(SAMPLE_TEXTS[3].encode("utf-16-le"))),
    Entry("legacy.txt", _write(to_cp1258(SAMPLE_TEXTS[4]))),
    Entry("bidi-\u202etxt.exe.txt", _write(f"\u202e{VARIANT}".encode())),
    Entry(
        "esc-\x1b]0;owned\x07-\x1b[2J.txt",
        _write(f"Tiêu đề \x1b[31mđỏ\x07\n\n{VARIANT.replace('87', '88')}".encode()),
    ),  # fmt: skip
    # Only a name on POSIX (a leading "." would make it a hidden file, which walks skip).
    Entry("up\\..\\..\\win.txt", _write(VARIANT.replace("87", "89").encode())),
]


def _path(folder: Path, name: str | bytes) -> Path:
    return Path(os.fsdecode(os.path.join(os.fsencode(folder), os.fsencode(name))))


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    for entry in ENTRIES:
        entry.make(_path(folder, entry.name))
    # A loop through a folder link inside the folder: skipped, never walked for ever.
    (folder / "sub" / "again").symlink_to("..")
    return folder


def test_a_folder_of_hostile_files_fails_each_one_clearly_and_ingests_the_rest(
    hostile: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    for attempt in (1, 2):
        result = run("ingest", str(hostile), "--no-progress", data=data, TINBOT_MAX_SOURCE_MB="0.1")
        assert result.returncode == 1
        assert "Traceback" not in result.stderr + result.stdout
        # Nothing a terminal would obey: every control character arrives escaped.
        assert not {"\x1b", "\x07", "\u202e"} & set(result.stderr + result.stdout)
        failed = [line for line in result.stderr.splitlines() if line.startswith("failed ")]
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning ")]
        for entry in ENTRIES:
            shown = safe_line(str(_path(hostile, entry.name)))
            mine = [line for line in failed if f" {shown}: " in line]
            if entry.failed:
                assert len(mine) == 1, (entry.name, result.stderr)
                assert entry.failed in mine[0]
                assert mine[0].count(shown) == 1  # the origin once, then the reason
            else:
                assert mine == [], mine
            if entry.warning and attempt == 1:
                [line] = [line for line in warnings if f" {shown}: " in line]
                assert entry.warning in line
        assert len(failed) == sum(1 for e in ENTRIES if e.failed)
        if attempt == 1:
            assert f"added {sum(1 for e in ENTRIES if not e.failed)}," in result.stdout
            first = counts(data)
        else:
            assert counts(data) == first
    sources = json.loads(run("sources", "--json", data=data).stdout)
    good = {str(_path(hostile, e.name)) for e in ENTRIES if not e.failed}
    assert {a["origin"] for a in sources} == good
    listing = run("sources", data=data)
    assert not {"\x1b", "\x07", "\u202e"} & set(listing.stdout)
    assert "\\x1b]0;owned\\x07" in listing.stdout and "bidi-\\u202etxt" in listing.stdout


# --- 6: PDF bombs ------------------------------------------------------------------------------
@pytest.mark.parametrize("make", [declared_bomb, flate_bomb])
def test_pdf_bombs_are_refused_with_the_reason(make: Callable[[], bytes]) -> None:
    with pytest.raises(SourceTooLargeError, match=r"^x\.pdf: refused — .*safety limit"):
        load_bytes(make(), filename="x.pdf", origin="x.pdf")
    # The same PDF with an honest content stream is read.
    honest = pdf(b"<< /Length %d >>" % len(PDF_TEXT), PDF_TEXT)
    assert "95 dang vien" in load_bytes(honest, filename="x.pdf", origin="x.pdf").text


# --- 7, 15: encodings --------------------------------------------------------------------------
def test_utf8_with_a_few_stray_bytes_stays_utf8_and_says_what_was_replaced() -> None:
    text, warnings = decode_with_warnings(with_stray_bytes(MUONG_ANG))
    assert text.startswith("Huyện Mường Ảng kết nạp đảng viên mới \ufffdtrich\ufffd\n")
    assert "Đảng bộ huyện Mường Ảng kết nạp 95 đảng viên mới" in text
    assert warnings == ("2 invalid UTF-8 bytes replaced with U+FFFD",)
    # Legacy text is no stray bytes: still read as cp1258, with nothing to warn about.
    assert decode_with_warnings(to_cp1258(MUONG_ANG)) == (MUONG_ANG, ())


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_text(codec: str) -> None:
    assert decode(MUONG_ANG.encode(codec)) == MUONG_ANG


def test_a_failure_names_the_origin_once(tmp_path: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    result = run("ingest", str(empty), "--no-progress", data=tmp_path / "data")
    assert result.returncode == 1
    [line] = [line for line in result.stderr.splitlines() if line.startswith("failed")]
    assert line == f"failed     {empty}: empty file"


# --- 8: names and arguments that are not UTF-8 -------------------------------------------------
def test_a_non_utf8_file_name_fails_alone(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(MUONG_ANG, encoding="utf-8")
    bad = _path(tmp_path, b"b\xe0i.txt")
    bad.write_text(VARIANT, encoding="utf-8")
    data = tmp_path / "data"
    result = run("ingest", str(tmp_path), "--no-progress", "--json", data=data)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert report["added"] == 1 and report["failed"] == 1
    [failure] = [r for r in report["results"] if r["status"] == "failed"]
    assert failure["origin"] == str(bad)  # the name's bytes survive as surrogate escapes
    assert "not valid UTF-8" in failure["reason"]
    direct = run("ingest", os.fsencode(bad), "--no-progress", data=data)
    assert "Traceback" not in direct.stderr
    assert f"failed     {tmp_path}/b\\xe0i.txt: the file name is not valid UTF-8" in direct.stderr


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with one article, for tests that copy it and then break it."""
    folder = tmp_path_factory.mktemp("article")
    (folder / "muong-ang.txt").write_text(MUONG_ANG, encoding="utf-8")
    data = tmp_path_factory.mktemp("ingested") / "data"
    assert run("ingest", str(folder), "--no-progress", data=data).returncode == 0
    return data


def test_a_question_that_is_not_utf8_is_one_line(ingested: Path) -> None:
    result = run("ask", b"Tu\xe1n Gi\xe1o bao nhi\xeau?", data=ingested)
    one_line_error(result, "not valid UTF-8", "Tu\\xe1n Gi\\xe1o")
    result = run("ask", "bao nhiêu?", "--article", b"\xff", data=ingested)
    one_line_error(result, "--article", "\\xff")


@pytest.mark.parametrize(
    ("question", "answered"),
    [
        # FTS5 query syntax is searched as words, never parsed as a query.
        ('"Mường Ảng" OR kết* NEAR(a b) ^đảng viên năm 2021 bao nhiêu?', True),
        # Bidi overrides and zero-width characters around the words.
        ("\u202eMường Ảng\u202c kết nạp bao nhiêu\u200b đảng viên năm 2021?", True),
        # One letter under 999 combining marks: bounded before the embedder, then refused.
        ("a" + "\u0301" * 999, False),
    ],
)
def test_hostile_questions_get_an_answer_or_a_refusal(
    ingested: Path, question: str, answered: bool
) -> None:
    result = run("ask", question, "--json", data=ingested)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    answer = json.loads(result.stdout)
    assert answer["refused"] is not answered
    if answered:
        assert "95" in answer["answer"]


# --- 9: symlinks -------------------------------------------------------------------------------
def test_folder_walks_do_not_follow_symlinks_out_of_the_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("bí mật", encoding="utf-8")
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a", encoding="utf-8")
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    (folder / "secret.txt").symlink_to(outside / "secret.txt")
    (folder / "leak").symlink_to(outside)
    (folder / "alias.txt").symlink_to("a.txt")  # inside: the file itself, once
    (folder / "sub" / "loop").symlink_to("..")
    (folder / "self.txt").symlink_to("self.txt")
    found = expand_source(str(folder))
    assert found.origins == [str(folder / "a.txt")]
    refused = {Path(origin).name: str(error) for origin, error in found.refused}
    assert set(refused) == {"passwd.txt", "secret.txt", "leak", "self.txt"}
    assert "outside" in refused["passwd.txt"] and "/etc/passwd" in refused["passwd.txt"]
    assert "symlink loop" in refused["self.txt"]
    # The same file given directly is the user's choice, and follows its own rules.
    assert expand_source(str(folder / "secret.txt")).origins == [str(outside / "secret.txt")]


# --- 10: control characters --------------------------------------------------------------------
def test_sources_escape_what_a_terminal_would_obey(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    name = "bell\x07\x1b[2J\u202e\x9b.txt"
    (folder / name).write_text(MUONG_ANG, encoding="utf-8")
    data = tmp_path / "data"
    assert run("ingest", str(folder), "--no-progress", data=data).returncode == 0
    listing = run("sources", data=data)
    assert listing.returncode == 0
    assert not {"\x07", "\x1b", "\u202e", "\x9b"} & set(listing.stdout)
    assert "bell\\x07\\x1b[2J\\u202e\\x9b.txt" in listing.stdout
    # JSON carries the same value, escaped the JSON way.
    as_json = run("sources", "--json", data=data)
    assert not {"\x07", "\x1b", "\u202e", "\x9b"} & set(as_json.stdout)
    assert json.loads(as_json.stdout)[0]["origin"] == str(folder / name)


# --- 11: slow servers --------------------------------------------------------------------------
class _Slow(BaseHTTPRequestHandler):
    started = threading.Event()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:
        if self.path == "/article.txt":  # an article in ten pieces over 1.5 s
            body, size, pause = MUONG_ANG.encode(), len(MUONG_ANG.encode()) // 10 + 1, 0.15
        else:  # a byte every 0.2 s
            body, size, pause = b"a" * 40, 1, 0.2
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        type(self).started.set()
        try:
            for i in range(0, len(body), size):
                self.wfile.write(body[i : i + size])
                self.wfile.flush()
                time.sleep(pause)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should


@pytest.fixture
def slow_server() -> Iterator[str]:
    _Slow.started.clear()
    httpd = QuietHTTPServer(("127.0.0.1", 0), _Slow)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_the_url_timeout_is_a_deadline_for_the_whole_download(slow_server: str) -> None:
    # A byte every 0.2 s: each read is quick, the whole takes 8 s.
    limits = LoadLimits(allow_private_urls=True, timeout=1.0)
    start = time.monotonic()
    with pytest.raises(IngestError, match="trickle.txt: timed out after 1 s"):
        load(f"{slow_server}/trickle.txt", limits)
    assert time.monotonic() - start < 2.0


def test_no_write_lock_is_held_while_downloading(bot: Tinbot, slow_server: str) -> None:
    bot.settings = bot.settings.with_(allow_private_urls=True, url_timeout=30.0)
    results = []
    ingest = threading.Thread(
        target=lambda: results.append(bot.ingest([f"{slow_server}/article.txt"]))
    )
    ingest.start()
    try:
        assert _Slow.started.wait(30)
        time.sleep(0.3)  # well inside the download, which takes 1.5 s
        with open(bot.data.lock_path, "a+") as handle:
            # Another writer (the bot taking an upload) gets the lock meanwhile.
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        ingest.join(60)
    [report] = results
    assert [r.status for r in report.results] == ["added"]


# --- 13: the data dir itself -------------------------------------------------------------------
def _without_privileges() -> list[str]:
    """A prefix that runs a command without root's power to write anything: root ignores file
    modes, so a read-only data dir can only be shown to it from an unprivileged namespace."""
    if os.geteuid() != 0:
        return []
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "--user", "true"]).returncode != 0:
        pytest.skip("running as root without user namespaces: nothing is read-only to root")
    return [unshare, "--user"]


def test_a_read_only_data_dir_is_listed_and_otherwise_one_line(
    ingested: Path, tmp_path: Path
) -> None:
    prefix = _without_privileges()
    data = tmp_path / "ro"
    shutil.copytree(ingested, data)
    modes = {p: p.stat().st_mode for p in [data, *data.rglob("*")]}
    for path in modes:
        path.chmod(modes[path] & 0o555)
    env = {**os.environ, "TINBOT_DATA_DIR": str(data)}

    def tinbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *TINBOT, *args], capture_output=True, text=True, env=env, cwd=REPO
        )

    try:
        listed = tinbot("sources", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [a["title"] for a in json.loads(listed.stdout)] == [
            "Huyện Mường Ảng kết nạp đảng viên mới"
        ]
        one_line_error(tinbot("ask", "Mường Ảng kết nạp bao nhiêu?"), str(data), "read-only")
        one_line_error(tinbot("ingest", str(SAMPLES)), str(data), "read-only")
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_a_damaged_database_is_one_line(ingested: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "tinbot.sqlite3").write_bytes(bytes(range(256)) * 20)
    truncated = tmp_path / "truncated"
    shutil.copytree(ingested, truncated)
    database = truncated / "tinbot.sqlite3"
    database.write_bytes(database.read_bytes()[: database.stat().st_size // 3])
    for data in (garbage, truncated):
        for command in (["sources"], ["ask", "bao nhiêu đảng viên?"], ["check"]):
            one_line_error(run(*command, data=data), str(data), "damaged")


@pytest.mark.parametrize(
    ("target", "method", "error"),
    [
        (ArticleStore, "put", sqlite3.OperationalError("database or disk is full")),
        (VectorStore, "upsert", OSError(errno.ENOSPC, "No space left on device")),
        (Collection, "upsert", InternalError("database or disk is full")),
    ],
)
def test_a_full_disk_is_one_line_and_loses_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: type,
    method: str,
    error: Exception,
) -> None:
    data = tmp_path / "data"
    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text(MUONG_ANG, encoding="utf-8")
    second.write_text(SAMPLE_TEXTS[0], encoding="utf-8")
    assert main(["--data-dir", str(data), "ingest", str(first), "--no-progress"]) == 0

    def full(*_: object, **__: object) -> None:
        raise error

    # The lowest layers that write: the SQLite transaction, the vector store, Chroma itself.
    with monkeypatch.context() as patch:
        patch.setattr(target, method, full)
        capsys.readouterr()
        assert main(["--data-dir", str(data), "ingest", str(second), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tinbot: error: ")
    assert str(data) in err and "full" in err
    # Space again: the next ingest cleans up what the failed one left and adds the article.
    assert main(["--data-dir", str(data), "ingest", str(second), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["--data-dir", str(data), "check", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["consistent"] is True and report["counts"]["articles"] == 2


# --- 14: secrets in logs -----------------------------------------------------------------------
def test_debug_logs_never_show_the_bot_token(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there: serve fails fast, after logging its set-up
    result = run(
        "serve",
        data=tmp_path / "data",
        TELEGRAM_BOT_TOKEN=TOKEN,
        TINBOT_TELEGRAM_BASE_URL=f"http://127.0.0.1:{port}/bot",
        TINBOT_LOG_LEVEL="DEBUG",
    )
    output = result.stdout + result.stderr
    assert "Set Bot API URL" in output  # python-telegram-bot logged the URL, token and all
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    assert f"127.0.0.1:{port}/bot<token>" in output
