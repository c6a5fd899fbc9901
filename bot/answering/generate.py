"""Generated answers through a LangChain chat model, grounded in the retrieved passages.

The extractive answer is always computed first and is what the user gets whenever the generated
one cannot be trusted or does not arrive in time:

- the model sees only the numbered passages (``prompts/``) and must cite them as ``[n]``;
- ``bot.answering.llm`` calls it against one deadline (``TINBOT_LLM_TIMEOUT``), retries included;
- ``bot.answering.grounding`` repairs its citation markers or rejects the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.answering.grounding import MARKER_RE, Rejected, ground
from bot.answering.llm import ATTEMPTS, BACKOFF_SECONDS, LLMClient, build_chat_model
from bot.answering.question import analyse
from bot.types import REFUSAL_EN, REFUSAL_VI, Answer, Evidence
from prompts import load_prompt

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.prompts import ChatPromptTemplate

    from bot.settings import Settings

logger = logging.getLogger(__name__)

HISTORY_TURNS = 2
HISTORY_ANSWER_CHARS = 600


def build_generator(settings: Settings, *, backoff: float = BACKOFF_SECONDS) -> Generator:
    """The generator ``settings.llm`` selects (see :func:`build_chat_model`)."""
    model = build_chat_model(settings)
    return Generator(
        model, name=f"llm:{settings.llm}", timeout=settings.llm_timeout, backoff=backoff
    )


# --- prompts ------------------------------------------------------------------------------
def build_prompt() -> ChatPromptTemplate:
    from langchain_core.prompts import ChatPromptTemplate

    return ChatPromptTemplate.from_messages(
        [("system", load_prompt("system")), ("human", load_prompt("question"))]
    )


def prompt_inputs(
    question: str, evidence: Sequence[Evidence], history: Sequence[tuple[str, str]] | None = None
) -> dict[str, str]:
    """Values for the system and question templates."""
    from langchain_core.prompts import PromptTemplate

    passage = PromptTemplate.from_template(load_prompt("passage"))
    passages = "\n\n".join(
        passage.format(
            n=ev.n, title=ev.title, date=ev.date or "không rõ ngày", text=ev.text.strip()
        ).strip()
        for ev in evidence
    )
    english = analyse(question).language == "en"
    history_text = ""
    turns = list(history or [])[-HISTORY_TURNS:]
    if turns:
        turn = PromptTemplate.from_template(load_prompt("history_turn"))
        block = PromptTemplate.from_template(load_prompt("history"))
        history_text = block.format(
            turns="\n".join(
                turn.format(question=q.strip(), answer=_history_answer(a)).strip() for q, a in turns
            )
        )
    return {
        "passages": passages,
        "numbers": ", ".join(f"[{ev.n}]" for ev in evidence),
        "refusal": REFUSAL_EN if english else REFUSAL_VI,
        "language": "tiếng Anh (English)" if english else "tiếng Việt",
        "history": history_text,
        "question": question.strip(),
    }


def _history_answer(text: str) -> str:
    # Earlier answers cite passages under other numbers; their markers would mislead.
    plain = MARKER_RE.sub("", text).strip()
    if len(plain) > HISTORY_ANSWER_CHARS:
        plain = plain[:HISTORY_ANSWER_CHARS].rsplit(" ", 1)[0] + " …"
    return plain


# --- the generator ------------------------------------------------------------------------
class Generator:
    def __init__(
        self,
        model: BaseChatModel,
        *,
        name: str,
        timeout: float,
        attempts: int = ATTEMPTS,
        backoff: float = BACKOFF_SECONDS,
    ) -> None:
        self.name = name
        self.client = LLMClient(
            model, name=name, timeout=timeout, attempts=attempts, backoff=backoff
        )
        # Not one ``prompt | model`` chain: closing a LangChain sequence's stream early makes it
        # read the rest of the model's stream, so an abandoned call would trickle on.
        self.prompt = build_prompt()
        for name in ("passage", "history", "history_turn"):
            load_prompt(name)  # a missing prompt file fails at start-up, not on a question

    def answer(
        self,
        question: str,
        evidence: Sequence[Evidence],
        extractive: Answer,
        *,
        history: Sequence[tuple[str, str]] | None = None,
    ) -> Answer:
        inputs = prompt_inputs(question, evidence, history)
        try:
            raw = "".join(self._chunks(inputs, streaming=False))
        except Exception as exc:
            return self._fallback(extractive, self.client.failure(exc))
        return self._checked(question, raw, evidence, extractive)

    def stream(
        self,
        question: str,
        evidence: Sequence[Evidence],
        extractive: Answer,
        *,
        history: Sequence[tuple[str, str]] | None = None,
    ) -> Iterator[str | Answer]:
        """Text chunks as the model writes them, then one final :class:`Answer`: the checked
        generated answer or the extractive fallback. A front end shows the chunks as a draft and
        replaces them by the final answer, which is what was verified."""
        inputs = prompt_inputs(question, evidence, history)
        parts: list[str] = []
        try:
            for chunk in self._chunks(inputs, streaming=True):
                parts.append(chunk)
                yield chunk
        except Exception as exc:
            yield self._fallback(extractive, self.client.failure(exc))
            return
        yield self._checked(question, "".join(parts), evidence, extractive)

    def _chunks(self, inputs: dict[str, str], *, streaming: bool) -> Iterator[str]:
        return self.client.chunks(
            lambda: self.prompt.invoke(inputs).to_messages(), streaming=streaming
        )

    def _checked(
        self, question: str, raw: str, evidence: Sequence[Evidence], extractive: Answer
    ) -> Answer:
        try:
            grounded = ground(question, raw, evidence, answerer=self.name)
        except Rejected as exc:
            return self._fallback(extractive, f"generated answer rejected: {exc}")
        if grounded.removed:
            logger.info(
                "removed citation markers naming no passage: %s",
                ", ".join(f"[{n}]" for n in grounded.removed),
            )
        return grounded.answer

    def _fallback(self, extractive: Answer, reason: str) -> Answer:
        logger.warning("%s: %s; answering with the extractive answer", self.name, reason)
        return replace(extractive, notes=[*extractive.notes, reason])
