"""URL ingestion over real HTTP against a server on 127.0.0.1 that the test starts."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from bot.errors import BlockedURLError, IngestError, SourceTooLargeError, UnsupportedSourceError
from ingest.loaders import LoadLimits, check_host, load
from tests.conftest import SAMPLES
from tests.helpers import QuietHTTPServer

ARTICLE_HTML = (
    "<html><head><title>Mường Ảng kết nạp đảng viên</title></head><body><article>"
    "<h1>Mường Ảng kết nạp đảng viên</h1>"
    + "".join(
        f"<p>Đoạn {i}. Năm 2021, Đảng bộ huyện Mường Ảng kết nạp 95 đảng viên mới, đạt 110% "
        "chỉ tiêu được giao.</p>"
        for i in range(5)
    )
    + "</article></body></html>"
).encode()


class _Handler(BaseHTTPRequestHandler):
    served = 0  # requests answered, across the module's server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def _send(self, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        type(self).served += 1
        path = self.path
        if path == "/article.html":
            self._send(ARTICLE_HTML, "text/html; charset=utf-8")
        elif path == "/article.txt":
            self._send((SAMPLES / "003_b59c7ee6d4b859d5.txt").read_bytes(), "text/plain")
        elif path == "/image":
            self._send(b"\x89PNG\r\n", "image/png")
        elif path.startswith("/loop"):
            n = int(path.removeprefix("/loop") or 0)
            self.send_response(302)
            self.send_header("Location", f"/loop{n + 1}")
            self.end_headers()
        elif path == "/to-ftp":
            self.send_response(301)
            self.send_header("Location", "ftp://example.com/x.txt")
            self.end_headers()
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/article.html")
            self.end_headers()
        elif path == "/big":
            self._send(b"a" * 5000, "text/plain")
        elif path == "/bomb":
            # 1 KB on the wire, 2 MB once decompressed, no honest length to check up front.
            body = gzip.compress(b"a" * 2_000_000)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            self.wfile.write(body)
        elif path == "/slow":
            time.sleep(3)
            self._send(b"late", "text/plain")
        else:
            self.send_error(404)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


ALLOW = LoadLimits(allow_private_urls=True, timeout=1.0, max_bytes=1_000_000, max_redirects=3)


def test_html_and_text_pages_are_loaded(server: str) -> None:
    page = load(f"{server}/article.html", ALLOW)
    assert "95 đảng viên" in page.text and page.title == "Mường Ảng kết nạp đảng viên"
    text = load(f"{server}/article.txt", ALLOW)
    assert "Núi Thành" in text.text
    redirected = load(f"{server}/redirect", ALLOW)
    assert redirected.origin == f"{server}/redirect" and "95" in redirected.text


def test_private_addresses_are_refused_by_default(server: str) -> None:
    with pytest.raises(BlockedURLError, match="private or local"):
        load(f"{server}/article.html", LoadLimits())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/x",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0.0.0.0/",
        "http://[fe80::1]/",
        "http://user:pw@example.com/",
    ],
)
def test_check_host_refuses_non_public_targets(url: str) -> None:
    with pytest.raises(BlockedURLError):
        check_host(url, LoadLimits())


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("/loop", IngestError, "too many redirects"),
        ("/to-ftp", UnsupportedSourceError, "scheme"),
        ("/image", UnsupportedSourceError, "content type"),
        ("/missing", IngestError, "HTTP 404"),
        ("/slow", IngestError, "timed out"),
    ],
)
def test_bad_urls_fail_with_the_reason(
    server: str, path: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        load(f"{server}{path}", ALLOW)


def test_size_caps_apply_to_declared_and_decompressed_bodies(server: str) -> None:
    small = LoadLimits(allow_private_urls=True, timeout=2.0, max_bytes=1000)
    with pytest.raises(SourceTooLargeError):
        load(f"{server}/big", small)
    with pytest.raises(SourceTooLargeError, match="decompression"):
        load(f"{server}/bomb", small)


def test_the_connection_goes_to_the_address_that_was_checked(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolves to a public address when checked and to 127.0.0.1
    afterwards. The download must go to the checked address (unreachable here), never to the
    local server. DNS cannot be served for a made-up name without root, so the resolver is
    replaced; everything after it is real."""
    import socket

    real = socket.getaddrinfo
    port = int(server.rsplit(":", 1)[1])
    answers = iter(["8.8.8.8"])

    def rebinding(host: str, *args: Any, **kwargs: Any) -> Sequence[object]:
        if host != "news.example":
            return real(host, *args, **kwargs)
        address = next(answers, "127.0.0.1")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    served_before = _Handler.served
    with pytest.raises(IngestError):
        load(f"http://news.example:{port}/article.html", LoadLimits(timeout=1.0))
    assert _Handler.served == served_before


@pytest.mark.parametrize(
    ("url", "address", "expected"),
    [
        (
            "https://news.example/a?b=1",
            "93.184.216.34",
            ("https://93.184.216.34/a?b=1", {"Host": "news.example"}, "news.example"),
        ),
        (
            "http://news.example:8080/x",
            "2606:2800:220:1::",
            ("http://[2606:2800:220:1::]:8080/x", {"Host": "news.example:8080"}, None),
        ),
    ],
)
def test_a_pinned_request_keeps_the_host_name_for_http_and_tls(
    url: str, address: str, expected: tuple[str, dict[str, str], str | None]
) -> None:
    from ingest.fetch import _pinned

    target, headers, extensions = _pinned(url, address)
    assert (target, headers, extensions.get("sni_hostname")) == expected
    assert _pinned(url, None) == (url, {}, {})  # private URLs allowed: nothing to pin
