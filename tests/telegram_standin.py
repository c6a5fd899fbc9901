"""A small Telegram Bot API stand-in for tests: the same state machine serves a real HTTP server on
127.0.0.1 (for the end-to-end test of ``tinbot serve``) and a recording ``BaseRequest`` injected
into a bot (for fast handler tests).

It is strict where Telegram is strict, so that tests can fail for the reasons Telegram would
refuse a message: HTML parse mode is validated (only Telegram's tags, balanced, every ``<``/``&``
escaped), text is limited to 4096 UTF-16 units after parsing, callback data to 64 bytes,
files over 20 MB cannot be fetched with getFile, message drafts go only to private chats, and an
inline query is answered once, with at most 50 valid results.

User-side helpers (``send_text``, ``press``, ``upload``, ``inline``) queue updates that
``getUpdates`` hands out; every bot call is recorded in ``calls`` and in a transcript that
renders as Markdown.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from telegram.request import BaseRequest, RequestData

from tests.conftest import REPO, SAMPLES

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
# Telegram user ids the tests give an admin and an allowed user.
ADMIN = 1001
USER = 2002
BOT_USERNAME = "tinbot_test_bot"
MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_GETFILE_BYTES = 20 * 1024 * 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_CAPTION = 1024
MAX_INLINE_RESULTS = 50
MAX_RESULT_ID = 64  # bytes

# PTB posts strings as they are and JSON-encodes everything else; these stay strings.
_STRING_FIELDS = frozenset(
    "text parse_mode callback_query_id file_id url secret_token action caption "
    "inline_message_id ip_address language_code description short_description name "
    "inline_query_id next_offset".split()
)
_ALLOWED_TAGS = frozenset(
    "b strong i em u ins s strike del span tg-spoiler a code pre blockquote tg-emoji".split()
)
_TOKEN_RE = re.compile(r"<[^<>]*>|&[^;\s<>&]*;|[<>&]|[^<>&]+", re.S)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>")
_ENTITY_RE = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")


class BadRequest(Exception):
    def __init__(self, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The visible text of a Telegram HTML message; BadRequest where Telegram would refuse."""
    stack: list[str] = []
    out: list[str] = []
    for token in _TOKEN_RE.findall(text):
        if token.startswith("<") and len(token) > 1 and token.endswith(">"):
            match = _TAG_RE.fullmatch(token)
            if match is None:
                raise BadRequest(f"Bad Request: can't parse entities: bad tag {token!r}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in _ALLOWED_TAGS:
                raise BadRequest(f"Bad Request: can't parse entities: unsupported tag {name!r}")
            if closing:
                if not stack or stack[-1] != name:
                    raise BadRequest(
                        f"Bad Request: can't parse entities: unmatched end tag {name!r}"
                    )
                stack.pop()
            else:
                if name == "a" and "href=" not in match.group(3):
                    raise BadRequest("Bad Request: can't parse entities: <a> without href")
                stack.append(name)
        elif token.startswith("&"):
            if not _ENTITY_RE.fullmatch(token):
                raise BadRequest(f"Bad Request: can't parse entities: bad entity {token!r}")
            out.append(html.unescape(token))
        elif token in ("<", ">"):
            raise BadRequest(f"Bad Request: can't parse entities: unescaped {token!r}")
        else:
            out.append(token)
    if stack:
        raise BadRequest(f"Bad Request: can't parse entities: unclosed tag {stack[-1]!r}")
    return "".join(out)


def _check_markup(markup: Any) -> None:
    if markup is None:
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise BadRequest("Bad Request: BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"(https?|tg)://", url):
                raise BadRequest("Bad Request: BUTTON_URL_INVALID")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    result: Any = None
    error: str | None = None


@dataclass
class Faults:
    """How the stand-in misbehaves on the calls that deliver something to a person (counted
    together, 1-based): every ``too_many``-th gets 429 with ``retry_after``, every
    ``server_error``-th a 500 (nothing delivered), every ``drop_after_accept``-th is delivered
    and then the connection is closed without an answer (HTTP only: the bot cannot know it
    arrived), and every call waits ``delay`` seconds first. 0 turns a fault off."""

    too_many: int = 0
    retry_after: int = 1
    server_error: int = 0
    drop_after_accept: int = 0
    delay: float = 0.0
    methods: frozenset[str] = frozenset({"sendmessage", "sendphoto", "senddocument"})


class DropConnection(Exception):
    """Raised to the HTTP layer: close the connection without answering."""


@dataclass(frozen=True)
class Upload:
    """A file the bot sent in a multipart request (a chart, a document)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    file_path: str
    size: int
    data: bytes | None  # None: only the declared size exists (a huge upload)


class BotAPI:
    """The Bot API's state: the bot's messages, queued updates, files, recorded calls."""

    def __init__(
        self, token: str = TOKEN, username: str = BOT_USERNAME, *, inline: bool = True
    ) -> None:
        self.token = token
        self.bot_user = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "tinbot",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": inline,  # /setinline in @BotFather
        }
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}
        self.downloads: list[str] = []
        self.webhook: dict[str, Any] = {}
        self.commands: list[dict[str, Any]] = []
        self.transcript: list[str] = []
        self.photos: list[bytes] = []
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._cond = threading.Condition()
        self.faults = Faults()
        self._deliveries = itertools.count(1)
        # Chats whose person blocked the bot: sending there is refused with 403, as Telegram does.
        self.blocked: set[int] = set()
        # Inline queries sent to the bot, by id, and the answers it gave (each answered once).
        self.inline_queries: dict[str, dict[str, Any]] = {}
        self.inline_answers: dict[str, dict[str, Any]] = {}
        # Message drafts the bot streamed (sendMessageDraft), in order.
        self.drafts: list[Call] = []
        # Methods answered 404, as by a Bot API server that predates them.
        self.unsupported: set[str] = set()

    # --- the user's side -----------------------------------------------------------------------
    @staticmethod
    def user(user_id: int, first_name: str = "Lan") -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "vi"}

    @staticmethod
    def private_chat(user: dict[str, Any]) -> dict[str, Any]:
        return {"id": user["id"], "type": "private", "first_name": user["first_name"]}

    @staticmethod
    def group_chat(chat_id: int = -1001234567890, title: str = "Chi bộ") -> dict[str, Any]:
        return {"id": chat_id, "type": "supergroup", "title": title}

    def _entities(self, text: str) -> list[dict[str, Any]]:
        entities = []
        command = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": command.end()})
        for match in re.finditer(r"(?<![\w@])@[A-Za-z0-9_]{5,32}", text):
            entities.append(
                {
                    "type": "mention",
                    "offset": utf16_len(text[: match.start()]),
                    "length": utf16_len(match.group()),
                }
            )
        return entities

    def _new_message(
        self, user: dict[str, Any], chat: dict[str, Any] | None, **content: Any
    ) -> dict[str, Any]:
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat or self.private_chat(user),
            "from": user,
            **content,
        }
        self.messages[(message["chat"]["id"], message["message_id"])] = message
        return message

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        with self._cond:
            update = {"update_id": next(self._update_ids), **update}
            self.updates.append(update)
            self._cond.notify_all()
        return update

    def send_text(
        self,
        text: str,
        user: dict[str, Any],
        *,
        chat: dict[str, Any] | None = None,
        reply_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The user types ``text``; returns the update queued for the bot."""
        content: dict[str, Any] = {"text": text}
        entities = self._entities(text)
        if entities:
            content["entities"] = entities
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        message = self._new_message(user, chat, **content)
        shown = text if len(text) <= 300 else f"{text[:120]}… ({len(text):,} characters)"
        self._log(f"**👤 {user['first_name']}:** {_md_inline(shown)}")
        return self.push({"message": message})

    def upload(
        self,
        filename: str,
        user: dict[str, Any],
        data: bytes | None = None,
        *,
        size: int | None = None,
        caption: str | None = None,
        chat: dict[str, Any] | None = None,
        mime_type: str = "text/plain",
    ) -> dict[str, Any]:
        """The user sends a document (``data``, or only a declared ``size`` for huge files)."""
        n = len(self.files) + 1
        stored = StoredFile(
            file_id=f"BQACAgIAAxkBAAI{n:04d}",
            file_unique_id=f"AgAD{n:04d}",
            file_path=f"documents/file_{n}{_suffix(filename)}",
            size=len(data) if data is not None else int(size or 0),
            data=data,
        )
        self.files[stored.file_id] = stored
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": stored.size,
        }
        content: dict[str, Any] = {"document": document}
        if caption:
            content["caption"] = caption
        message = self._new_message(user, chat, **content)
        self._log(
            f"**👤 {user['first_name']}:** 📎 `{filename}` ({stored.size:,} bytes)"
            + (f" — {_md_inline(caption)}" if caption else "")
        )
        return self.push({"message": message})

    def inline(
        self, query: str, user: dict[str, Any], *, chat_type: str = "private"
    ) -> dict[str, Any]:
        """The user types ``@bot query`` in a chat (of ``chat_type``); returns the update."""
        if not self.bot_user["supports_inline_queries"]:
            raise AssertionError("Telegram sends inline queries only to bots with /setinline")
        inline_query: dict[str, Any] = {
            "id": str(next(self._ids) * 1000 + 9),
            "from": user,
            "query": query,
            "offset": "",
            "chat_type": chat_type,
        }
        with self._cond:
            self.inline_queries[inline_query["id"]] = inline_query
        mention = f"@{self.bot_user['username']}"
        self._log(f"**👤 {user['first_name']}:** *(inline)* {mention} {_md_inline(query)}")
        return self.push({"inline_query": inline_query})

    def press(
        self, message: dict[str, Any], callback_data: str, user: dict[str, Any]
    ) -> dict[str, Any]:
        """The user presses an inline button under one of the bot's messages."""
        label = callback_data
        for row in message.get("reply_markup", {}).get("inline_keyboard", []):
            for button in row:
                if button.get("callback_data") == callback_data:
                    label = button["text"]
        self._log(f"**👤 {user['first_name']}:** *(presses `[ {label} ]`)*")
        query = {
            "id": str(next(self._ids) * 1000 + 7),
            "from": user,
            "chat_instance": "-4242",
            "message": message,
            "data": callback_data,
        }
        return self.push({"callback_query": query})

    # --- observing the bot ------------------------------------------------------------------
    def wait_for(
        self,
        predicate: Callable[[Call], bool],
        timeout: float = 60.0,
        *,
        after: int = 0,
    ) -> Call:
        """The first recorded call (from index ``after``) matching ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for call in self.calls[after:]:
                    if predicate(call):
                        return call
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, str(c.params)[:200]) for c in self.calls[after:]]
                    raise AssertionError(f"no matching Bot API call within {timeout}s; saw {seen}")
                self._cond.wait(left)

    def sent(self, after: int = 0) -> list[Call]:
        """Successful sendMessage calls, from index ``after`` of ``calls``."""
        return [c for c in self.calls[after:] if c.method == "sendMessage" and c.error is None]

    def wait_for_message(
        self, chat_id: int, *, after: int = 0, contains: str | None = None, timeout: float = 60.0
    ) -> Call:
        def matches(call: Call) -> bool:
            return (
                call.method == "sendMessage"
                and call.error is None
                and int(call.params["chat_id"]) == chat_id
                and (contains is None or contains in call.params["text"])
            )

        return self.wait_for(matches, timeout, after=after)

    def mark(self) -> int:
        """An index into ``calls``: pass it as ``after`` to see only what comes next."""
        with self._cond:
            return len(self.calls)

    def note(self, text: str) -> None:
        """Something that happened outside the chat, shown in the transcript."""
        self._log(f"*({_md_inline(text)})*")

    def transcript_markdown(self) -> str:
        return "\n\n".join(self.transcript) + "\n"

    def _log(self, line: str) -> None:
        with self._cond:
            self.transcript.append(line)

    # --- the Bot API ------------------------------------------------------------------------
    def handle(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body). Raises ``DropConnection`` when
        a fault says the answer is lost on the way back."""
        name = method.lower()
        call = Call(method=method, params=params)
        handler = None if name in self.unsupported else getattr(self, f"_api_{name}", None)
        faults = self.faults
        n = next(self._deliveries) if name in faults.methods else 0
        if n and faults.delay:
            time.sleep(faults.delay)
        drop = False
        try:
            if handler is None:
                raise BadRequest("Not Found: method not found", 404)
            if n and faults.too_many and n % faults.too_many == 0:
                raise BadRequest(f"Too Many Requests: retry after {faults.retry_after}", 429)
            if n and faults.server_error and n % faults.server_error == 0:
                raise BadRequest("Internal Server Error", 500)
            call.result = handler(params)
            status, body = 200, {"ok": True, "result": call.result}
            drop = bool(n and faults.drop_after_accept and n % faults.drop_after_accept == 0)
        except BadRequest as exc:
            call.error = exc.description
            status = exc.code
            body = {"ok": False, "error_code": exc.code, "description": exc.description}
            if exc.code == 429:
                body["parameters"] = {"retry_after": faults.retry_after}
        with self._cond:
            if name != "getupdates" or call.result:
                self.calls.append(call)
            self._cond.notify_all()
        if drop:
            raise DropConnection(method)
        return status, body

    def download(self, file_path: str) -> bytes | None:
        for stored in self.files.values():
            if stored.file_path == file_path and stored.data is not None:
                with self._cond:
                    self.downloads.append(file_path)
                    self._cond.notify_all()
                return stored.data
        return None

    def _api_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _api_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        # Long polling, but never long: the bot process must stop promptly when a test ends.
        wait = min(float(params.get("timeout") or 0), 0.5)
        deadline = time.monotonic() + wait
        with self._cond:
            while True:
                # Confirmed updates (id < offset) are dropped, as Telegram does.
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
                if self.updates or time.monotonic() >= deadline:
                    return list(self.updates[: int(params.get("limit") or 100)])
                self._cond.wait(max(deadline - time.monotonic(), 0.01))

    def _message_text(self, params: dict[str, Any]) -> tuple[str, str]:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise BadRequest("Bad Request: message text is empty")
        visible = parse_html(text) if params.get("parse_mode") == "HTML" else text
        if not visible.strip():
            raise BadRequest("Bad Request: message text is empty")
        if utf16_len(visible) > MAX_TEXT:
            raise BadRequest("Bad Request: message is too long")
        return text, visible

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        chat_id = int(chat_id)
        for (cid, _), message in self.messages.items():
            if cid == chat_id:
                return dict(message["chat"])
        return {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}

    def _api_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        if int(params["chat_id"]) in self.blocked:
            raise BadRequest("Forbidden: bot was blocked by the user", 403)
        raw, visible = self._message_text(params)
        _check_markup(params.get("reply_markup"))
        message = self._bot_message(params["chat_id"], text=visible)
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        self._log(_md_bot_message(visible, params.get("reply_markup")))
        return message

    def _bot_message(self, chat_id: Any, **content: Any) -> dict[str, Any]:
        """A message from the bot, stored so that it can be edited, pressed or replied to."""
        message: dict[str, Any] = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": self.bot_user,
            **content,
        }
        self.messages[(message["chat"]["id"], message["message_id"])] = message
        return message

    def _api_sendphoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = params.get("photo")
        if not isinstance(photo, Upload):
            raise BadRequest("Bad Request: there is no photo in the request")
        if not photo.data.startswith(b"\x89PNG\r\n\x1a\n") and not photo.data.startswith(
            b"\xff\xd8"
        ):
            raise BadRequest("Bad Request: IMAGE_PROCESS_FAILED")
        if len(photo.data) > MAX_PHOTO_BYTES:
            raise BadRequest("Bad Request: PHOTO_INVALID_DIMENSIONS")
        caption = params.get("caption") or ""
        visible = parse_html(caption) if params.get("parse_mode") == "HTML" else caption
        if utf16_len(visible) > MAX_CAPTION:
            raise BadRequest("Bad Request: message caption is too long")
        _check_markup(params.get("reply_markup"))
        message = self._bot_message(
            params["chat_id"],
            photo=[
                {
                    "file_id": f"AgACAgIAAxkBAAI{len(self.photos) + 1:04d}",
                    "file_unique_id": f"AQAD{len(self.photos) + 1:04d}",
                    "width": 800,
                    "height": 600,
                    "file_size": len(photo.data),
                }
            ],
        )
        if visible:
            message["caption"] = visible
        self.photos.append(photo.data)
        shown = f"🖼 *chart* ({len(photo.data) // 1024} KB)"
        if visible:
            shown += "\n\n" + "\n".join(f"> {_md_escape(line)}" for line in visible.split("\n"))
        self._log(f"**🤖 tinbot:** {shown}")
        return message

    def _api_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key not in self.messages:
            raise BadRequest("Bad Request: message to edit not found")
        raw, visible = self._message_text(params)
        _check_markup(params.get("reply_markup"))
        message = self.messages[key]
        if message["text"] == visible and message.get("reply_markup") == params.get("reply_markup"):
            raise BadRequest("Bad Request: message is not modified")
        message["text"] = visible
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        else:  # an edit without a keyboard removes it; Telegram then omits the field
            message.pop("reply_markup", None)
        shown = _md_bot_message(visible, params.get("reply_markup"))
        self._log(f"*(edits its message)*\n\n{shown}")
        return message

    def _api_sendchataction(self, params: dict[str, Any]) -> bool:
        if params.get("action") not in ("typing", "upload_document"):
            raise BadRequest("Bad Request: wrong parameter action in request")
        if not self.transcript or not self.transcript[-1].endswith("_typing…_"):
            self._log("**🤖 tinbot** _typing…_")
        return True

    def _api_answercallbackquery(self, params: dict[str, Any]) -> bool:
        if params.get("text"):
            self._log(f"**🤖 tinbot** *(toast: {_md_inline(str(params['text']))})*")
        return True

    def _api_getfile(self, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.files.get(str(params.get("file_id")))
        if stored is None:
            raise BadRequest("Bad Request: invalid file_id")
        if stored.size > MAX_GETFILE_BYTES:
            raise BadRequest("Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    def _api_setmycommands(self, params: dict[str, Any]) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    def _api_deletewebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = {}
        return True

    def _api_setwebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = dict(params)
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }

    def _api_sendmessagedraft(self, params: dict[str, Any]) -> bool:
        chat_id, draft_id = params.get("chat_id"), params.get("draft_id")
        if not isinstance(chat_id, int) or self._chat(chat_id)["type"] != "private":
            raise BadRequest("Bad Request: drafts can be sent only to private chats")
        if not isinstance(draft_id, int) or isinstance(draft_id, bool) or draft_id == 0:
            raise BadRequest("Bad Request: draft_id must be a non-zero integer")
        self._message_text(params)
        with self._cond:
            first = all(d.params["draft_id"] != draft_id for d in self.drafts)
            self.drafts.append(Call("sendMessageDraft", params))
        if first:
            self._log("**🤖 tinbot** _writing…_")
        return True

    def _api_deletemessage(self, params: dict[str, Any]) -> bool:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if self.messages.pop(key, None) is None:
            raise BadRequest("Bad Request: message to delete not found")
        self._log("*(deletes its message)*")
        return True

    def _api_answerinlinequery(self, params: dict[str, Any]) -> bool:
        query_id = params.get("inline_query_id")
        if query_id not in self.inline_queries or query_id in self.inline_answers:
            raise BadRequest(
                "Bad Request: query is too old and response timeout expired or query ID is invalid"
            )
        results = params.get("results")
        if not isinstance(results, list) or len(results) > MAX_INLINE_RESULTS:
            raise BadRequest("Bad Request: RESULTS_TOO_MUCH")
        ids = [r.get("id") for r in results if isinstance(r, dict)]
        if len(ids) != len(results) or len(set(ids)) != len(ids):
            raise BadRequest("Bad Request: RESULT_ID_DUPLICATE")
        for result in results:
            if not isinstance(result["id"], str) or not (
                1 <= len(result["id"].encode("utf-8")) <= MAX_RESULT_ID
            ):
                raise BadRequest("Bad Request: RESULT_ID_INVALID")
            if result.get("type") != "article":
                raise BadRequest(f"Bad Request: unsupported result type {result.get('type')!r}")
            if not str(result.get("title") or "").strip():
                raise BadRequest("Bad Request: RESULT_TITLE_EMPTY")
            content = result.get("input_message_content")
            if not isinstance(content, dict):
                raise BadRequest("Bad Request: MESSAGE_EMPTY")
            self._message_text({"text": content.get("message_text"), **content})
            _check_markup(result.get("reply_markup"))
        cache_time = params.get("cache_time")
        if cache_time is not None and (not isinstance(cache_time, int) or cache_time < 0):
            raise BadRequest("Bad Request: wrong parameter cache_time")
        if params.get("is_personal") not in (None, True, False):
            raise BadRequest("Bad Request: wrong parameter is_personal")
        button = params.get("button")
        if button is not None and not (
            str(button.get("text") or "").strip()
            and re.fullmatch(r"[A-Za-z0-9_-]{1,64}", str(button.get("start_parameter")))
        ):
            raise BadRequest("Bad Request: BUTTON_INVALID")
        with self._cond:
            self.inline_answers[query_id] = params
        titles = " / ".join(_md_inline(r["title"]) for r in results)
        shown = f"*(inline results: {titles})*" if results else "*(no inline results)*"
        if button is not None:
            shown += f" `[ {button['text']} ]`"
        self._log(f"**🤖 tinbot** {shown}")
        return True

    def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    def _api_logout(self, params: dict[str, Any]) -> bool:
        return True


def _suffix(filename: str) -> str:
    match = re.search(r"\.[A-Za-z0-9]{1,8}$", filename)
    return match.group() if match else ""


_MD_SPECIAL_RE = re.compile(r"([\\`*_\[\]|#])")


def _md_escape(text: str) -> str:
    """Text shown literally in Markdown (GitHub would hide ``<script>`` or bold ``*x*``)."""
    return _MD_SPECIAL_RE.sub(r"\\\1", html.escape(text, quote=False))


def _md_inline(text: str) -> str:
    return _md_escape(text).replace("\n", " ⏎ ")


def _md_bot_message(text: str, markup: dict[str, Any] | None) -> str:
    quoted = "\n".join(f"> {_md_escape(line)}" if line else ">" for line in text.split("\n"))
    lines = ["**🤖 tinbot:**", "", quoted]
    if markup:
        rows = [
            " ".join(f"`[ {b['text']} ]`" for b in row) for row in markup.get("inline_keyboard", [])
        ]
        lines += [">", *[f"> {row}" for row in rows if row]]
    return "\n".join(lines)


def decode_form(fields: dict[str, str]) -> dict[str, Any]:
    """Form fields as PTB sends them → Python values."""
    params: dict[str, Any] = {}
    for key, value in fields.items():
        if key in _STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


# --- over real HTTP ----------------------------------------------------------------------------


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing its keep-alive connection is normal (the bot restarts, httpx
        # recycles its pool): only what is not a reset deserves the traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StandinServer:
    """The Bot API stand-in on 127.0.0.1: ``{base_url}{token}/{method}`` and
    ``{file_base_url}{token}/{file_path}``."""

    def __init__(self, api: BotAPI | None = None) -> None:
        self.api = api or BotAPI()
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot stopped mid long-poll; nothing is waiting for the answer

            def _fields(self) -> dict[str, str]:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type", "")
                if content_type.startswith("application/json"):
                    data = json.loads(body or b"{}")
                    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
                if content_type.startswith("multipart/form-data"):
                    head = f"Content-Type: {content_type}\r\n\r\n".encode()
                    message = BytesParser(policy=HTTP).parsebytes(head + body)
                    fields: dict[str, str] = {}
                    for part in message.iter_parts():
                        name = str(part.get_param("name", header="content-disposition"))
                        payload = part.get_payload(decode=True)
                        data = payload if isinstance(payload, bytes) else b""
                        filename = part.get_filename()
                        if filename is not None:
                            self.uploads[name] = Upload(filename, part.get_content_type(), data)
                            continue
                        fields[name] = data.decode("utf-8", "replace")
                    return fields
                query = parse_qs(body.decode("utf-8"), keep_blank_values=True)
                return {k: v[-1] for k, v in query.items()}

            def _dispatch(self) -> None:
                server.requests += 1
                self.uploads: dict[str, Upload] = {}
                path = unquote(self.path.split("?", 1)[0])
                token = server.api.token
                if path.startswith(f"/file/bot{token}/"):
                    data = server.api.download(path[len(f"/file/bot{token}/") :])
                    if data is None:
                        self._send(404, b"Not Found", "text/plain")
                    else:
                        self._send(200, data, "application/octet-stream")
                    return
                match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", path)
                if match is None:
                    self._send(404, b'{"ok":false,"error_code":404}', "application/json")
                    return
                if match.group(1) != token:
                    body = {"ok": False, "error_code": 401, "description": "Unauthorized"}
                    self._send(401, json.dumps(body).encode(), "application/json")
                    return
                fields = self._fields()
                if self.command == "GET" and "?" in self.path:
                    fields.update(
                        {k: v[-1] for k, v in parse_qs(self.path.split("?", 1)[1]).items()}
                    )
                params = decode_form(fields)
                params.update(self.uploads)
                try:
                    status, body = server.api.handle(match.group(2), params)
                except DropConnection:
                    self.close_connection = True
                    return
                self._send(status, json.dumps(body).encode(), "application/json")

            do_GET = _dispatch  # noqa: N815
            do_POST = _dispatch  # noqa: N815

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def __enter__(self) -> StandinServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- in process, for handler tests ------------------------------------------------------------


class RecordingRequest(BaseRequest):
    """A ``BaseRequest`` that answers from a ``BotAPI`` without any network."""

    def __init__(self, api: BotAPI) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        path = unquote(urlsplit(url).path)
        if path.startswith(f"/file/bot{self.api.token}/"):
            data = self.api.download(path.split(f"/file/bot{self.api.token}/", 1)[1])
            return (404, b"Not Found") if data is None else (200, data)
        # Round-trip through JSON so handlers see exactly what the HTTP stand-in would get.
        params = json.loads(json.dumps(request_data.parameters)) if request_data else {}
        if request_data is not None:
            for name, part in request_data.multipart_data.items():
                filename, content = part[0], part[1]
                data = content if isinstance(content, bytes) else content.read()
                mime = part[2] if len(part) > 2 else "application/octet-stream"
                params[name] = Upload(str(filename), str(mime), data)
        status, body = self.api.handle(url.rsplit("/", 1)[-1], params)
        return status, json.dumps(body).encode()


# --- sample data shared by the Telegram tests ----------------------------------------------------

_SAMPLES_LOCK = threading.Lock()
_SAMPLES_DIR: dict[str, Path] = {}


def clean_env(**overrides: str) -> dict[str, str]:
    """This process's environment without any tinbot or Telegram setting, plus ``overrides``:
    module-scoped fixtures run before the autouse fixture that cleans the environment."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TINBOT_") and k not in ("TELEGRAM_BOT_TOKEN", "OPENAI_API_KEY")
    }
    env.update(HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False", PYTHONUNBUFFERED="1")
    env.update(overrides)
    return env


def samples_data_dir(base: Path, dest: Path) -> Path:
    """A data dir at ``dest`` holding the ingested sample articles.

    Ingesting the samples costs most of a minute on two cores, so it is done once per test
    session, by the real ``tinbot ingest`` in a subprocess (which exits, so Chroma has flushed
    everything), into ``base``; each caller gets its own copy to write to."""
    with _SAMPLES_LOCK:
        cached = _SAMPLES_DIR.get("path")
        if cached is None:
            cached = base / "telegram-samples-data"
            env = clean_env(TINBOT_DATA_DIR=str(cached))
            result = subprocess.run(
                [sys.executable, "-m", "bot", "ingest", str(SAMPLES), "--json"],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO,
                timeout=600,
            )
            if result.returncode != 0 or json.loads(result.stdout)["added"] != 5:
                raise AssertionError(f"ingesting the samples failed: {result.stderr}")
            _SAMPLES_DIR["path"] = cached
    shutil.copytree(cached, dest)
    return dest
