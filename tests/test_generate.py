"""The generator: the real LangChain OpenAI and Ollama clients over HTTP against a scripted
stand-in server, the real sample articles as passages, and the real extractive answer as the
fallback."""

from __future__ import annotations

import json
import logging
import re
import socket
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from langchain_core.prompts import PromptTemplate

from bot.answering.evidence import evidence_of
from bot.answering.extractive import ExtractiveAnswerer
from bot.answering.faithfulness import faithfulness
from bot.answering.generate import Generator, build_generator, build_prompt, prompt_inputs
from bot.answering.grounding import Rejected, ground
from bot.answering.llm import ATTEMPTS
from bot.answering.question import analyse
from bot.errors import ConfigError
from bot.service import Tinbot
from bot.settings import Settings
from bot.types import REFUSAL_EN, REFUSAL_VI, Answer, Evidence
from ingest.chunking import chunk_article
from ingest.loaders import load
from ingest.models import Article
from ingest.pipeline import prepare
from prompts import load_prompt, prompt_names
from tests.conftest import REPO, SAMPLES
from tests.helpers import CountingEmbedder, has_number
from tests.llm_standin import LLMStandin, Reply

QUESTION = "Huyện ủy Tuần Giáo đã kết nạp được bao nhiêu đảng viên?"
GOOD = (
    "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên, trong đó 426 đảng viên là đoàn viên "
    "thanh niên (chiếm 90,6%) [1]."
)
TUAN_GIAO = "000_f0ce5db119e1970c.txt"


# --- fixtures -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server() -> Iterator[LLMStandin]:
    with LLMStandin() as standin:
        yield standin


@pytest.fixture
def llm(server: LLMStandin) -> LLMStandin:
    server.reset(default=Reply("Không có kịch bản."))
    return server


@pytest.fixture(scope="module")
def articles() -> dict[str, Article]:
    return {p.name: prepare(load(str(p))) for p in sorted(SAMPLES.glob("*.txt"))}


def _passage(n: int, article: Article, needle: str) -> Evidence:
    chunk = next(c for c in chunk_article(article) if needle in c.text)
    return evidence_of(n, article, chunk)


@pytest.fixture(scope="module")
def evidence(articles: dict[str, Article]) -> list[Evidence]:
    """Three passages: Tuần Giáo's figures, Lạng Sơn's introduction, Kon Tum's measures."""
    names = sorted(articles)
    return [
        _passage(1, articles[names[0]], "470 đảng viên"),
        _passage(2, articles[names[1]], "phát triển đảng viên"),
        _passage(3, articles[names[2]], "phong trào quần chúng"),
    ]


@pytest.fixture(scope="module")
def extractive(evidence: list[Evidence]) -> Answer:
    answer = ExtractiveAnswerer().answer(analyse(QUESTION), evidence)
    assert not answer.refused
    return answer


def _generator(llm: LLMStandin, backend: str, timeout: float = 10.0) -> Generator:
    url = llm.openai_url if backend == "openai" else llm.ollama_url
    settings = Settings(llm=backend, llm_base_url=url, llm_timeout=timeout)
    return build_generator(settings, backoff=0.05)


@pytest.fixture(params=["openai", "ollama"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _fell_back(answer: Answer, extractive: Answer, reason: str) -> None:
    assert answer.answerer == "extractive"
    assert answer.text == extractive.text
    assert answer.citations == extractive.citations
    assert any(reason in note for note in answer.notes), answer.notes


# --- passing, repairing, rejecting ------------------------------------------------------------
def test_good_cited_answer_passes_through(
    llm: LLMStandin,
    backend: str,
    evidence: list[Evidence],
    extractive: Answer,
    articles: dict[str, Article],
) -> None:
    llm.reply(GOOD)
    answer = _generator(llm, backend).answer(QUESTION, evidence, extractive)
    assert answer.answerer == f"llm:{backend}"
    assert answer.text == GOOD
    assert not answer.refused
    assert answer.notes == []
    [citation] = answer.citations
    assert citation.n == 1
    assert citation.origin.endswith(TUAN_GIAO)
    assert "470 đảng viên" in citation.quote
    assert articles[TUAN_GIAO].text[citation.start : citation.end] == citation.quote
    [request] = llm.requests
    assert request.path == ("/v1/chat/completions" if backend == "openai" else "/api/chat")
    messages = request.body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert evidence[0].text.strip() in messages[0]["content"]
    assert QUESTION in messages[1]["content"]
    temperature = (
        request.body["temperature"]
        if backend == "openai"
        else request.body["options"]["temperature"]
    )
    assert temperature == 0


def test_marker_naming_no_passage_is_removed(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reply(
        "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [7].[1] "
        "Con số ấy gồm 426 đoàn viên [1, 9]."
    )
    answer = _generator(llm, backend).answer(QUESTION, evidence, extractive)
    assert answer.answerer == f"llm:{backend}"
    assert answer.text == (
        "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [1]. Con số ấy gồm 426 đoàn viên [1]."
    )
    assert [c.n for c in answer.citations] == [1]
    assert any("[7], [9]" in note for note in answer.notes)


def test_citations_are_renumbered_in_order_of_first_use(
    evidence: list[Evidence], articles: dict[str, Article]
) -> None:
    raw = (
        "Thành ủy Kon Tum chỉ đạo đẩy mạnh các phong trào quần chúng [3]. "
        "Còn Huyện ủy Tuần Giáo kết nạp được 470 đảng viên [1][3]."
    )
    answer = ground(QUESTION, raw, evidence).answer
    assert answer.text == (
        "Thành ủy Kon Tum chỉ đạo đẩy mạnh các phong trào quần chúng [1]. "
        "Còn Huyện ủy Tuần Giáo kết nạp được 470 đảng viên [2][1]."
    )
    kon_tum, tuan_giao = answer.citations
    assert (kon_tum.n, tuan_giao.n) == (1, 2)
    assert "phong trào quần chúng" in kon_tum.quote
    assert has_number(tuan_giao.quote, "470")
    for citation in answer.citations:
        article = next(a for a in articles.values() if a.article_id == citation.article_id)
        assert article.text[citation.start : citation.end] == citation.quote


def test_invented_figure_falls_back_with_a_log_line(
    llm: LLMStandin,
    backend: str,
    evidence: list[Evidence],
    extractive: Answer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    llm.reply("Huyện ủy Tuần Giáo đã kết nạp được 520 đảng viên [1].")
    with caplog.at_level(logging.WARNING, logger="bot.answering.generate"):
        answer = _generator(llm, backend).answer(QUESTION, evidence, extractive)
    _fell_back(answer, extractive, "figure 520 is not in the passages it cites")
    assert any("rejected" in r.getMessage() and "520" in r.getMessage() for r in caplog.records)


def test_figure_from_another_passage_than_cited_is_rejected(evidence: list[Evidence]) -> None:
    with pytest.raises(Rejected, match="470"):
        ground(
            QUESTION, "Đảng ủy Khối các cơ quan tỉnh Lạng Sơn kết nạp 470 đảng viên [2].", evidence
        )


def test_answer_without_valid_citation_falls_back(
    llm: LLMStandin, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reply("Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [5].")
    answer = _generator(llm, "openai").answer(QUESTION, evidence, extractive)
    _fell_back(answer, extractive, "no citation of a given passage")


@pytest.mark.parametrize(
    "raw",
    [
        # English number formatting of Vietnamese figures, and the marker after the stop.
        "Tuan Giao admitted 470 members; 90.6% were youth union members. [1]",
        # A list: its enumerators are not figures.
        "Theo bài viết:\n1. Kết nạp 470 đảng viên [1]\n2. Trong đó 172 đảng viên nữ (36,6%) [1]",
        # A reasoning model's thoughts are not part of the answer.
        "<think>Có thể là 999?</think>Huyện ủy Tuần Giáo kết nạp 470 đảng viên [1].",
        # Dates written another way than in the passage ("31-3-2018").
        "Từ năm 2016 đến ngày 31/03/2018, Tuần Giáo kết nạp 470 đảng viên [1].",
    ],
)
def test_figures_match_however_they_are_written(raw: str, evidence: list[Evidence]) -> None:
    answer = ground(QUESTION, raw, evidence).answer
    assert not answer.refused
    assert "999" not in answer.text
    assert [c.n for c in answer.citations] == [1]


def test_model_saying_it_does_not_know_is_a_refusal(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reply(REFUSAL_VI)
    answer = _generator(llm, backend).answer(
        "Huyện Tuần Giáo có bao nhiêu trường học?", evidence, extractive
    )
    assert answer.refused
    assert answer.text == REFUSAL_VI
    assert answer.citations == []
    assert answer.answerer == f"llm:{backend}"


@pytest.mark.parametrize(
    "raw",
    [
        REFUSAL_VI + " [1]",
        "Không tìm thấy thông tin này trong các bài viết đã nạp. Có lẽ huyện có 20 trường.",
    ],
)
def test_refusal_with_stray_marker_or_guess_is_a_refusal(
    raw: str, evidence: list[Evidence]
) -> None:
    answer = ground("Huyện Tuần Giáo có bao nhiêu trường học?", raw, evidence).answer
    assert (answer.refused, answer.text, answer.citations) == (True, REFUSAL_VI, [])


def test_partial_answer_next_to_a_refusal_is_an_answer(evidence: list[Evidence]) -> None:
    raw = (
        "Không tìm thấy thông tin về số trường học. "
        "Bài viết chỉ cho biết Huyện ủy Tuần Giáo kết nạp được 470 đảng viên [1]."
    )
    answer = ground("Huyện Tuần Giáo có bao nhiêu trường học?", raw, evidence).answer
    assert not answer.refused
    assert [c.n for c in answer.citations] == [1]


def test_english_question_gets_english_rules(
    llm: LLMStandin, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reply("This information was not found in the ingested articles.")
    question = "How many schools does Tuan Giao district have?"
    answer = _generator(llm, "openai").answer(question, evidence, extractive)
    assert (answer.refused, answer.text, answer.language) == (True, REFUSAL_EN, "en")
    system = llm.requests[0].body["messages"][0]["content"]
    assert REFUSAL_EN in system
    assert "tiếng Anh" in system


# --- endpoints that fail -------------------------------------------------------------------
def test_hanging_server_falls_back_within_the_timeout(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reset(default=Reply(GOOD, hang=120))
    answer = _generator(llm, backend, timeout=1.0).answer(QUESTION, evidence, extractive)
    _fell_back(answer, extractive, "no complete reply within 1 s")
    # The server still holds the request: the answer came without waiting for it.
    assert llm.unfinished == 1


def test_trickling_stream_is_cut_at_the_deadline(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reset(default=Reply(GOOD, chunk_size=4, chunk_pause=0.3))
    events = list(_generator(llm, backend, timeout=1.0).stream(QUESTION, evidence, extractive))
    final = events[-1]
    assert isinstance(final, Answer)
    _fell_back(final, extractive, "no complete reply within 1 s")
    assert all(isinstance(e, str) for e in events[:-1])
    assert llm.unfinished == 1
    # The abandoned call hangs up rather than reading the trickle to its end.
    [request] = llm.requests
    for _ in range(300):
        if request.finished:
            break
        llm.wait(0.1)
    assert request.finished
    assert request.chunks_sent < request.chunks_total


def test_server_error_is_retried(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reset(Reply(status=500), Reply(status=503), default=Reply(GOOD))
    answer = _generator(llm, backend).answer(QUESTION, evidence, extractive)
    assert answer.answerer == f"llm:{backend}"
    assert answer.text == GOOD
    assert len(llm.requests) == 3


def test_persistent_server_error_falls_back(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reset(default=Reply(status=500))
    answer = _generator(llm, backend).answer(QUESTION, evidence, extractive)
    _fell_back(answer, extractive, "HTTP 500")
    assert len(llm.requests) == ATTEMPTS


def test_client_error_is_not_retried(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reset(default=Reply(status=404))
    answer = _generator(llm, backend).answer(QUESTION, evidence, extractive)
    _fell_back(answer, extractive, "HTTP 404")
    assert len(llm.requests) == 1


def test_server_that_is_down_falls_back(
    backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}" + ("/v1" if backend == "openai" else "")
    generator = build_generator(
        Settings(llm=backend, llm_base_url=url, llm_timeout=10.0), backoff=0.05
    )
    answer = generator.answer(QUESTION, evidence, extractive)
    _fell_back(answer, extractive, "LLM endpoint failed")


# --- streaming -------------------------------------------------------------------------------
def test_streaming_yields_chunks_then_the_checked_answer(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reset(default=Reply(GOOD, chunk_size=7))
    events = list(_generator(llm, backend).stream(QUESTION, evidence, extractive))
    *chunks, final = events
    assert all(isinstance(c, str) for c in chunks)
    assert len(chunks) > 3
    assert "".join(str(c) for c in chunks) == GOOD
    assert isinstance(final, Answer)
    assert final.answerer == f"llm:{backend}"
    assert final.text == GOOD
    assert llm.requests[0].stream


def test_streamed_answer_inventing_a_figure_ends_with_the_fallback(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reset(default=Reply("Huyện ủy Tuần Giáo kết nạp 4.700 đảng viên [1].", chunk_size=5))
    *chunks, final = _generator(llm, backend).stream(QUESTION, evidence, extractive)
    assert "".join(str(c) for c in chunks).startswith("Huyện ủy")
    assert isinstance(final, Answer)
    _fell_back(final, extractive, "figure 4.700")


# --- prompts and history -----------------------------------------------------------------------
def test_history_reaches_the_prompt_without_old_markers(
    llm: LLMStandin, backend: str, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reply(GOOD)
    history = [
        ("Huyện Tuần Giáo thuộc tỉnh nào?", "Huyện Tuần Giáo thuộc tỉnh Điện Biên [2]."),
    ]
    _generator(llm, backend).answer("Còn số đảng viên?", evidence, extractive, history=history)
    user = llm.requests[0].body["messages"][-1]["content"]
    assert "Huyện Tuần Giáo thuộc tỉnh nào?" in user
    assert "Huyện Tuần Giáo thuộc tỉnh Điện Biên." in user
    assert "[2]" not in user
    assert user.rstrip().endswith("Còn số đảng viên?")


@pytest.mark.parametrize("name", prompt_names())
def test_every_prompt_file_renders(name: str) -> None:
    template = PromptTemplate.from_template(load_prompt(name))
    assert template.input_variables, f"{name} has no placeholders"
    rendered = template.format(**{v: f"<{v}>" for v in template.input_variables})
    for variable in template.input_variables:
        assert f"<{variable}>" in rendered
    assert "{" not in rendered
    assert "}" not in rendered


def test_whole_prompt_renders_with_passages_rules_and_refusal(evidence: list[Evidence]) -> None:
    inputs = prompt_inputs(QUESTION, evidence, [("Câu hỏi trước?", "Trả lời trước [1].")])
    messages = build_prompt().invoke(inputs).to_messages()
    system, user = (str(m.content) for m in messages)
    assert REFUSAL_VI in system
    assert "[1], [2], [3]" in system
    for ev in evidence:
        assert f"[{ev.n}] {ev.title}" in system
        assert ev.text.strip() in system
    assert "Câu hỏi trước?" in user
    assert QUESTION in user
    assert set(prompt_names()) == {"system", "question", "passage", "history", "history_turn"}


def test_prompt_files_ship_in_the_package() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["prompts"]
    for path in (REPO / "prompts").iterdir():
        if path.suffix in (".md", ".txt"):
            assert any(path.match(p) for p in patterns), path.name


# --- configuration ---------------------------------------------------------------------------
def test_openai_without_key_or_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TINBOT_LLM_API_KEY"):
        build_generator(Settings(llm="openai"))


def test_nonpositive_timeout_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TINBOT_LLM_TIMEOUT"):
        build_generator(Settings(llm="ollama", llm_timeout=0))


def test_model_name_and_key_reach_the_server(
    llm: LLMStandin, evidence: list[Evidence], extractive: Answer
) -> None:
    llm.reply(GOOD)
    settings = Settings(
        llm="openai",
        llm_base_url=llm.openai_url,
        llm_model="qwen2.5-7b-instruct",
        llm_api_key="sk-local",
        llm_timeout=10.0,
    )
    build_generator(settings).answer(QUESTION, evidence, extractive)
    assert llm.requests[0].body["model"] == "qwen2.5-7b-instruct"


# --- faithfulness ------------------------------------------------------------------------------
def test_faithfulness_of_extractive_and_grounded_answers(
    evidence: list[Evidence], extractive: Answer
) -> None:
    assert faithfulness(extractive, evidence) == 1.0
    good = ground(QUESTION, GOOD, evidence).answer
    assert faithfulness(good, evidence) == 1.0


def test_faithfulness_counts_unsupported_sentences(evidence: list[Evidence]) -> None:
    good = ground(QUESTION, GOOD, evidence).answer
    # Sentences the grounding check lets through (no figure) but whose words the cited passage
    # does not hold: one in two sentences is faithful.
    drifted = replace(
        good,
        text=GOOD + " Huyện còn xây dựng nhiều trường học, bệnh viện và cầu cống mới [1].",
    )
    assert faithfulness(drifted, evidence) == 0.5
    wrong_figure = replace(good, text=GOOD.replace("470", "520"))
    assert faithfulness(wrong_figure, evidence) == 0.0
    refused = Answer(QUESTION, REFUSAL_VI, refused=True)
    assert faithfulness(refused, evidence) == 1.0


# --- end to end through the service --------------------------------------------------------------
def _cite_passage_with(needle: str, template: str) -> Any:
    """A responder that answers from whichever numbered passage holds ``needle``."""

    def respond(body: dict[str, Any]) -> str:
        system = body["messages"][0]["content"]
        blocks = re.split(r"\n(?=\[\d+\] )", system)
        for block in blocks:
            match = re.match(r"\[(\d+)\] ", block)
            if match and needle in block:
                return template.format(n=match.group(1))
        return REFUSAL_VI

    return respond


@pytest.fixture(scope="module")
def tinbot(server: LLMStandin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tinbot]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("generate-e2e"),
        llm="openai",
        llm_base_url=server.openai_url,
        llm_timeout=20.0,
    )
    service = Tinbot(settings, CountingEmbedder())
    report = service.ingest([str(SAMPLES)])
    assert report.ok, report.summary()
    yield service
    service.close()


def test_service_answers_through_the_generator(tinbot: Tinbot, llm: LLMStandin) -> None:
    llm.reply(
        _cite_passage_with(
            "470 đảng viên", "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [{n}]."
        )
    )
    answer = tinbot.answer(QUESTION)
    assert answer.answerer == "llm:openai"
    assert answer.text == "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [1]."
    # The fact's own sentence reaches the model as the first numbered passage.
    prompt = json.dumps(llm.requests[-1].body["messages"], ensure_ascii=False)
    assert re.search(r"\[1\] Huyện Tuần Giáo[^\[]*kết nạp được 470 đảng viên", prompt)
    [citation] = answer.citations
    assert citation.origin.endswith(TUAN_GIAO)
    passage = tinbot.passage(citation.article_id, citation.start, citation.end)
    assert passage is not None
    assert passage.quote == citation.quote
    assert "470 đảng viên" in citation.quote
    assert json.loads(json.dumps(answer.to_json()))["citations"][0]["n"] == 1

    # A follow-up carries the previous turn to the model.
    llm.reply(
        _cite_passage_with(
            "426 đảng viên", "Trong số đó có 426 đảng viên là đoàn viên thanh niên [{n}]."
        )
    )
    follow_up = tinbot.answer(
        "Trong đó bao nhiêu là đoàn viên thanh niên?", history=[(QUESTION, answer.text)]
    )
    assert follow_up.answerer == "llm:openai"
    assert QUESTION in llm.requests[0].body["messages"][-1]["content"]


def test_service_falls_back_when_the_generator_invents(tinbot: Tinbot, llm: LLMStandin) -> None:
    llm.reply(
        _cite_passage_with(
            "470 đảng viên", "Huyện ủy Tuần Giáo đã kết nạp được 740 đảng viên [{n}]."
        )
    )
    answer = tinbot.answer(QUESTION)
    # The fallback is the answer tinbot gives without a model.
    assert answer.answerer == "extractive"
    assert "470 đảng viên" in answer.text
    assert answer.citations[0].origin.endswith(TUAN_GIAO)
    assert any("740" in note for note in answer.notes)


def test_eval_reports_faithfulness(tinbot: Tinbot, llm: LLMStandin) -> None:
    from bot.evaluate import EvalCase, run_eval

    llm.reply(
        _cite_passage_with(
            "470 đảng viên", "Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên [{n}]."
        )
    )
    case = EvalCase("t", QUESTION, "statistic", (TUAN_GIAO,), ("470",))
    metrics = run_eval(tinbot, [case]).metrics()
    assert (metrics["faithfulness"], metrics["generated"], metrics["answer_accuracy"]) == (
        1.0,
        1.0,
        1.0,
    )
