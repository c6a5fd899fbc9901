"""A scriptable stand-in for LLM servers, on 127.0.0.1, for tests of the generator.

One threaded HTTP server speaks both protocols tinbot's generator uses, so the real LangChain
clients (``ChatOpenAI``, ``ChatOllama``) talk to it over real HTTP:

- OpenAI-compatible ``POST /v1/chat/completions``: a JSON completion, or server-sent events
  ending in ``data: [DONE]`` when the request says ``"stream": true``;
- Ollama ``POST /api/chat``: one JSON object, or newline-delimited JSON chunks when streaming
  (Ollama's default).

Each request takes the next scripted :class:`Reply` (or the default one): a text or a function of
the request that returns it, an HTTP status, a hang before answering, or a pause between
streamed chunks. Hangs wait on an event that :meth:`LLMStandin.stop` sets, so a test never
leaves threads sleeping behind it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


@dataclass
class Reply:
    text: str | Responder = ""
    status: int = 200
    hang: float = 0.0  # seconds to wait before answering (until stop() at the latest)
    chunk_pause: float = 0.0  # seconds between streamed chunks
    chunk_size: int = 12  # characters per streamed chunk


@dataclass
class Request:
    path: str
    body: dict[str, Any]
    finished: bool = False  # whether the server is done with it (sent, failed or dropped)
    chunks_sent: int = 0
    chunks_total: int = 0

    @property
    def stream(self) -> bool:
        # Ollama streams unless told not to; OpenAI only when asked.
        default = self.path == "/api/chat"
        return bool(self.body.get("stream", default))

    @property
    def prompt(self) -> str:
        """Every message's text, joined: what the model was shown."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


@dataclass
class LLMStandin:
    default: Reply = field(default_factory=lambda: Reply("Không có kịch bản."))
    script: list[Reply] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> LLMStandin:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> LLMStandin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def ollama_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # --- scripting ------------------------------------------------------------------------
    def reset(self, *replies: Reply, default: Reply | None = None) -> None:
        with self._lock:
            self.script = list(replies)
            self.requests = []
            if default is not None:
                self.default = default

    def reply(self, text: str | Responder) -> None:
        """Answer every request with ``text`` from now on."""
        self.reset(default=Reply(text))

    def _next(self, path: str, body: dict[str, Any]) -> tuple[Reply, Request]:
        with self._lock:
            reply = self.script.pop(0) if self.script else self.default
            request = Request(path, body)
            self.requests.append(request)
            return reply, request

    @property
    def unfinished(self) -> int:
        """Requests whose reply is still being held back or streamed."""
        with self._lock:
            return sum(1 for r in self.requests if not r.finished)

    def wait(self, seconds: float) -> bool:
        """Sleep unless the server is stopping; True when it is."""
        return self._released.wait(seconds)


def _handler_for(standin: LLMStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean

        def do_GET(self) -> None:
            # Ollama clients may probe the version; OpenAI clients may list models.
            if self.path.startswith("/api/version"):
                self._json(200, {"version": "0.6.0"})
            else:
                self._json(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._json(400, {"error": "bad json"})
                return
            if self.path not in ("/v1/chat/completions", "/api/chat"):
                self._json(404, {"error": f"no route {self.path}"})
                return
            reply, request = standin._next(self.path, body)
            try:
                if reply.hang and standin.wait(reply.hang):
                    return  # stopping: drop the connection
                if reply.status != 200:
                    self._json(reply.status, _error_body(self.path, reply.status))
                    return
                text = reply.text(body) if callable(reply.text) else reply.text
                pieces = [
                    text[i : i + reply.chunk_size] for i in range(0, len(text), reply.chunk_size)
                ] or [""]
                request.chunks_total = len(pieces)
                if self.path == "/api/chat":
                    self._ollama(body, pieces, reply, request)
                else:
                    self._openai(body, pieces, reply, request)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout); that is what some tests check
            finally:
                request.finished = True

        # --- OpenAI-compatible --------------------------------------------------------
        def _openai(
            self, body: dict[str, Any], pieces: list[str], reply: Reply, request: Request
        ) -> None:
            model = body.get("model", "standin")
            created = int(time.time())
            if not request.stream:
                self._json(
                    200,
                    {
                        "id": "chatcmpl-standin",
                        "object": "chat.completion",
                        "created": created,
                        "model": model,
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": "".join(pieces)},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    },
                )
                return
            self._start_stream("text/event-stream")

            def event(delta: dict[str, Any], finish: str | None) -> bytes:
                data = {
                    "id": "chatcmpl-standin",
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

            self._chunk(event({"role": "assistant", "content": ""}, None))
            for piece in pieces:
                if reply.chunk_pause and standin.wait(reply.chunk_pause):
                    return
                self._chunk(event({"content": piece}, None))
                request.chunks_sent += 1
            self._chunk(event({}, "stop"))
            self._chunk(b"data: [DONE]\n\n")
            self._chunk(b"")

        # --- Ollama ---------------------------------------------------------------------
        def _ollama(
            self, body: dict[str, Any], pieces: list[str], reply: Reply, request: Request
        ) -> None:
            model = body.get("model", "standin")
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

            def message(content: str, done: bool) -> dict[str, Any]:
                data: dict[str, Any] = {
                    "model": model,
                    "created_at": stamp,
                    "message": {"role": "assistant", "content": content},
                    "done": done,
                }
                if done:
                    data.update(done_reason="stop", total_duration=1, eval_count=1)
                return data

            if not request.stream:
                self._json(200, message("".join(pieces), True))
                return
            self._start_stream("application/x-ndjson")
            for piece in pieces:
                if reply.chunk_pause and standin.wait(reply.chunk_pause):
                    return
                self._chunk((json.dumps(message(piece, False), ensure_ascii=False) + "\n").encode())
                request.chunks_sent += 1
            self._chunk((json.dumps(message("", True)) + "\n").encode())
            self._chunk(b"")

        # --- plumbing -------------------------------------------------------------------
        def _json(self, status: int, data: dict[str, Any]) -> None:
            payload = json.dumps(data, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _start_stream(self, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()

        def _chunk(self, data: bytes) -> None:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    return Handler


def _error_body(path: str, status: int) -> dict[str, Any]:
    message = f"stand-in scripted status {status}"
    if path == "/api/chat":
        return {"error": message}
    return {"error": {"message": message, "type": "server_error", "code": status}}
