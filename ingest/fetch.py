"""Downloading a URL safely: every hop's host checked against private addresses and the
connection pinned to the checked address, redirects followed by hand, the body capped in size
(after decompression) and the whole download under one deadline."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ingest.errors import BlockedURLError, IngestError, SourceTooLargeError, UnsupportedSourceError
from ingest.limits import SUPPORTED_SUFFIXES, LoadLimits, human_size

if TYPE_CHECKING:
    import httpx


def check_host(url: str, limits: LoadLimits) -> str | None:
    """Refuse URLs whose host resolves to a private, loopback, link-local or otherwise
    non-public address (every DNS answer is checked), unless private URLs are allowed.
    Returns the checked address to connect to (None when private URLs are allowed), so that a
    DNS answer that changes after the check (rebinding) cannot redirect the connection."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in {"http", "https"}:
        raise UnsupportedSourceError(f"{url}: URL scheme {parts.scheme!r} not supported")
    host = parts.hostname
    if not host:
        raise BlockedURLError(f"{url}: no host in URL")
    if parts.username or parts.password:
        raise BlockedURLError(f"{url}: URLs with credentials are refused")
    if limits.allow_private_urls:
        return None
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise IngestError(f"{url}: cannot resolve host {host!r}") from exc
    addresses = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global or address.is_multicast:
            raise BlockedURLError(
                f"{url}: refused — {host} resolves to a private or local address ({address}); "
                "set TINBOT_ALLOW_PRIVATE_URLS=1 to allow it"
            )
        addresses.append(address)
    if not addresses:
        raise IngestError(f"{url}: cannot resolve host {host!r}")
    return str(addresses[0])


def _pinned(url: str, address: str | None) -> tuple[str, dict[str, str], dict[str, str]]:
    """The request for ``url`` sent to the checked ``address``: the URL with the address as its
    host, the Host header and, for https, the TLS server name (so the certificate is still
    checked against the real host name)."""
    if address is None:
        return url, {}, {}
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    header = host + (f":{parts.port}" if parts.port else "")
    extensions = {"sni_hostname": host} if parts.scheme.lower() == "https" else {}
    return parts._replace(netloc=netloc).geturl(), {"Host": header}, extensions


def fetch_bytes(
    url: str, limits: LoadLimits, *, accept: Mapping[str, str] | Collection[str]
) -> tuple[bytes, str, str | None]:
    """GET ``url`` with redirects followed by hand, so each hop's host is checked, and the body
    streamed under the size cap (counted after decompression). Returns body, MIME type and
    declared charset; a MIME type outside ``accept`` is refused (an empty or generic one is
    allowed when the URL's file suffix is supported).

    ``limits.timeout`` is a deadline for the whole download, redirects included: httpx's
    timeouts apply to each read, so a server that trickles a byte a second would otherwise
    hold the ingest for as long as it likes. The download runs in a worker thread that is
    abandoned (and stops at its next read) when the deadline passes."""
    outcome: list[tuple[bytes, str, str | None] | BaseException] = []
    cancelled = threading.Event()

    def work() -> None:
        try:
            outcome.append(_fetch(url, limits, accept, cancelled))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=work, name="tinbot-fetch", daemon=True)
    worker.start()
    worker.join(limits.timeout)
    if not outcome:
        cancelled.set()
        raise IngestError(f"{url}: timed out after {limits.timeout:g} s")
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _fetch(
    url: str,
    limits: LoadLimits,
    accept: Mapping[str, str] | Collection[str],
    cancelled: threading.Event,
) -> tuple[bytes, str, str | None]:
    import httpx

    current = url
    headers = {"User-Agent": "tinbot/0.1 (+article ingest)", "Accept-Encoding": "gzip, deflate"}
    timeout = httpx.Timeout(limits.timeout)
    with httpx.Client(timeout=timeout, follow_redirects=False, headers=headers) as client:
        for _hop in range(limits.max_redirects + 1):
            target, host_header, extensions = _pinned(current, check_host(current, limits))
            try:
                with client.stream(
                    "GET", target, headers=host_header, extensions=extensions
                ) as response:
                    if response.is_redirect:
                        location = response.headers.get("location")
                        if not location:
                            raise IngestError(f"{url}: redirect without a location")
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        raise IngestError(f"{url}: HTTP {response.status_code}")
                    mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    if mime not in accept:
                        path_suffix = Path(urlsplit(url).path).suffix.lower()
                        generic = mime in {"", "application/octet-stream", "text/plain"}
                        if not (generic and path_suffix in SUPPORTED_SUFFIXES | {".xml", ".rss"}):
                            raise UnsupportedSourceError(
                                f"{url}: content type {mime or '(none)'!r} not supported"
                            )
                    body = _read_body(url, response, limits, cancelled)
                    return body, mime, response.charset_encoding
            except httpx.TimeoutException as exc:
                raise IngestError(f"{url}: timed out after {limits.timeout:g} s") from exc
            except httpx.HTTPError as exc:
                raise IngestError(f"{url}: download failed ({type(exc).__name__})") from exc
    raise IngestError(f"{url}: too many redirects (more than {limits.max_redirects})")


def _read_body(
    url: str, response: httpx.Response, limits: LoadLimits, cancelled: threading.Event
) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_bytes:
        raise SourceTooLargeError(
            f"{url}: too large ({human_size(int(declared))}; "
            f"the limit is {human_size(limits.max_bytes)})"
        )
    body = bytearray()
    for piece in response.iter_bytes():
        if cancelled.is_set():  # the caller has given up on this download
            raise IngestError(f"{url}: timed out after {limits.timeout:g} s")
        body.extend(piece)
        if len(body) > limits.max_bytes:
            raise SourceTooLargeError(
                f"{url}: too large (over {human_size(limits.max_bytes)} after decompression)"
            )
    return bytes(body)
