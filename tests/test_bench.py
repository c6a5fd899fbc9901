"""The benchmark's corpus generator, composed embedder and runner, at a size small enough to run
with every test suite so the benchmark cannot rot. The runner is driven end to end (child
processes, a real ``chroma run`` server, the real ``tinbot ingest`` command); passage vectors come
from a cheap deterministic embedder, since what this checks is the plumbing, not retrieval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import corpus as bc
from bench.run import main as bench_main
from ingest.chunking import chunk_article, split_sentences
from ingest.models import RawDocument
from ingest.pipeline import prepare


def test_variants_rename_the_place_shift_years_and_change_figures() -> None:
    original = bc.sample_text(bc.BASES[0].file)
    v = bc.variant(0, 3)
    text = bc.render(v)
    assert "Tuần Giáo" in original and "Tuần Giáo" not in text
    assert v.places[0] in text
    assert "470 đảng viên" not in text.split("247/470")[0]
    assert str(2018 + v.year_shift) in text and "31-3-2018" not in text
    # Untouched: another province, a person, an id.
    for kept in ("Điện Biên", "Giàng Trùng Lầu", "04-NQ/TU"):
        assert kept in text


def test_every_synthetic_question_has_its_answer_in_its_variant() -> None:
    for base in range(len(bc.BASES)):
        for index in (1, 7, 250):
            v = bc.variant(base, index)
            text = bc.render(v)
            for q in bc.variant_questions(v):
                assert q.sources == (v.file,)
                assert all(e in text for e in q.expect), (q.question, q.expect)
                assert v.places[0] in q.question or v.places[-1] in q.question
                original = bc.variant_questions(bc.variant(base, 0))
                assert q.expect not in [o.expect for o in original]


def test_place_names_are_unique_per_sample_article_up_to_100k_passages() -> None:
    per_base = len(bc.corpus_variants(100_000)) // len(bc.BASES) + 1
    for base in range(len(bc.BASES)):
        names = [bc.variant(base, i).places for i in range(1, per_base + 1)]
        assert len(set(names)) == len(names)


def test_corpus_holds_the_originals_and_is_reused(tmp_path: Path) -> None:
    corpus = bc.build_corpus(250, tmp_path / "c", variants_asked=2)
    assert corpus.articles == round(250 / bc.passages_per_article())
    for base in bc.BASES:
        assert (corpus.directory / base.file).read_text(encoding="utf-8") == bc.sample_text(
            base.file
        )
    assert len(corpus.questions) == 2 * 2 * len(bc.BASES)
    stamp = corpus.files[-1].stat().st_mtime_ns
    again = bc.build_corpus(250, tmp_path / "c", variants_asked=2)
    assert again.files == corpus.files
    assert corpus.files[-1].stat().st_mtime_ns == stamp


def test_a_variant_sentence_shares_its_originals_canonical_form() -> None:
    sentence = "Năm 2022, Huyện ủy Núi Thành kết nạp 120 quần chúng ưu tú vào Đảng."
    v = bc.variant(3, 5)
    rendered = bc.apply_edits(sentence, bc.edits_for(sentence, v))
    canon, values = bc.canonicalise(sentence)
    canon_v, values_v = bc.canonicalise(rendered)
    assert canon == canon_v
    assert values == ("2022", "Núi Thành", "120")
    assert values_v[1] == v.places[0] and values_v != values


@pytest.fixture(scope="module")
def hash_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return bc.load_or_build_bank(tmp_path_factory.mktemp("bank"), bc.HashEmbedder())


def test_composed_vectors_cover_both_pipelines_passages_without_the_model(
    hash_bank: Path,
) -> None:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from bot.ingesting import embedding_context

    embedder = bc.ComposedEmbedder(hash_bank, inner=bc.HashEmbedder())
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=bc.CHUNK_SIZE, chunk_overlap=bc.CHUNK_OVERLAP
    )
    texts: list[str] = []
    for v in bc.corpus_variants(400):
        raw = bc.render(v)
        article = prepare(RawDocument(origin=v.file, text=raw))
        context = embedding_context(article)
        texts += [f"{context}\n{c.text}" for c in chunk_article(article)]
        texts += splitter.split_text(raw)
    vectors = np.asarray(embedder.embed_documents(texts))
    assert embedder.fallbacks == 0
    assert embedder.sentences > len(texts)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_an_original_sentence_gets_its_bank_vector_and_a_variant_moves_away(
    hash_bank: Path,
) -> None:
    bank = bc.Bank.load(hash_bank)
    embedder = bc.ComposedEmbedder(hash_bank, inner=bc.HashEmbedder())
    text = bc.sample_text(bc.BASES[3].file)
    start, end = split_sentences(text)[0]
    sentence = text[start:end]
    row = bank.canons.index(bc.canonicalise(sentence)[0])
    assert np.allclose(embedder.sentence_vector(sentence), bank.vectors[row], atol=1e-6)
    assert bank.alpha[bc.SLOT_PLACE] > 0
    v = bc.variant(3, 2)
    moved = embedder.sentence_vector(bc.apply_edits(sentence, bc.edits_for(sentence, v)))
    assert not np.allclose(moved, bank.vectors[row], atol=1e-3)
    assert embedder.fallbacks == 0


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "results"
    code = bench_main(
        [
            "--sizes",
            "90",
            "--chroma",
            "both",
            "--embedder",
            "composed-hash",
            "--reingest-articles",
            "2",
            "--variants-asked",
            "1",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    results: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [(r["size"], r["chroma"]) for r in results["runs"]] == [
        ("90", "embedded"),
        ("90", "server"),
    ]
    for run in results["runs"]:
        tinbot, baseline, summary = run["tinbot"], run["baseline"], run["summary"]
        ingest = tinbot["ingest"]
        assert ingest["articles"] == run["articles"] == 7
        assert ingest["passages"] == ingest["lexical_rows"] == ingest["vectors"] > 70
        assert ingest["reingest_unchanged"] == 7
        assert ingest["reingest_embedded"] == 0
        assert baseline["ingest"]["vectors"] == baseline["ingest"]["passages"] > 70
        assert summary["composed_fallbacks"] == 0
        for system in ("tinbot", "baseline"):
            assert summary[f"{system}_dev"]["n"] == 31
            assert summary[f"{system}_synthetic"]["n"] == 4
            assert 0.0 <= summary[f"{system}_dev"]["ans@5"] <= 1.0
        assert 0 < summary["retrieval_p50"] <= summary["retrieval_p95"]
        assert 0 < summary["answer_p50"] <= summary["answer_p95"]
        assert summary["tinbot_rss_query_mb"] > 50
        assert summary["tinbot_disk_mb"] > 0
    assert results["runs"][1]["summary"]["server_rss_mb"] > 0
    reingest = results["reingest"]
    assert reingest["first"]["added"] == 2
    assert reingest["second"] == {**reingest["second"], "added": 0, "unchanged": 2}
    assert reingest["speedup"] > 0
    markdown = (out / "results.md").read_text(encoding="utf-8")
    assert "| 90 | embedded | composed-hash |" in markdown
    assert "| 90 | server | composed-hash |" in markdown
    assert "Re-ingesting an unchanged corpus" in markdown
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
