"""Lexical index, vector store and hybrid retrieval on the real sample articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import IndexMismatchError
from bot.settings import Settings
from index.lexical import LexicalIndex, query_terms
from index.store import ArticleStore
from index.vectors import VectorStore
from ingest.models import Article, Chunk


def _article(text: str, article_id: str = "a1", title: str = "Tiêu đề") -> Article:
    return Article(article_id, f"/tmp/{article_id}.txt", title, None, None, text, article_id)


def _store_with(tmp_path: Path, *articles: Article) -> tuple[ArticleStore, LexicalIndex]:
    store = ArticleStore(tmp_path / "t.sqlite3")
    lexical = LexicalIndex(store.conn)
    for article in articles:
        chunks = [
            Chunk(
                f"{article.article_id}-0", article.article_id, 0, 0, len(article.text), article.text
            )
        ]
        with store.transaction() as conn:
            stored = store.put(conn, article, chunks, article.title)
            lexical.add(conn, stored, article.title)
    return store, lexical


def test_unaccented_query_finds_accented_text(tmp_path: Path) -> None:
    store, lexical = _store_with(
        tmp_path,
        _article("Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên.", "a1"),
        _article("Thời tiết hôm nay đẹp, trời nắng.", "a2"),
    )
    hits = lexical.search("tuan giao ket nap bao nhieu dang vien")
    assert [h.chunk_id for h in hits] == ["a1-0"]


def test_exact_accents_outrank_folding_collisions(tmp_path: Path) -> None:
    # "đang" (currently) and "đảng" (party) fold to the same "dang".
    store, lexical = _store_with(
        tmp_path,
        _article("Công việc đang tiến hành đang được làm đang chờ.", "busy"),
        _article("Chi bộ đảng kết nạp đảng viên mới.", "party"),
    )
    hits = lexical.search("đảng")
    assert hits[0].chunk_id == "party-0"
    assert {h.chunk_id for h in hits} == {"party-0", "busy-0"}


def test_tone_placement_variants_match(tmp_path: Path) -> None:
    store, lexical = _store_with(tmp_path, _article("Xã Thuỷ An hoà thuận.", "a1"))
    assert lexical.search("thủy an hòa")[0].chunk_id == "a1-0"


def test_syllable_pairs_rank_phrases_above_scattered_words(tmp_path: Path) -> None:
    store, lexical = _store_with(
        tmp_path,
        _article("Viên chức được kết nối với đảng bộ và nạp tiền.", "scattered"),
        _article("Đảng bộ kết nạp đảng viên.", "phrase"),
    )
    assert lexical.search("kết nạp đảng viên")[0].chunk_id == "phrase-0"


def test_question_words_are_not_search_terms() -> None:
    exact, folded = query_terms("Tuần Giáo kết nạp bao nhiêu đảng viên?")
    assert "bao" not in folded and "nhieu" not in folded
    assert "ket_nap" in folded and "dang_vien" in folded
    assert "kết_nạp" in exact


def test_deleting_passages_removes_them_from_the_lexical_index(tmp_path: Path) -> None:
    store, lexical = _store_with(tmp_path, _article("Kết nạp 470 đảng viên.", "a1"))
    assert lexical.index_rows() == 1
    with store.transaction() as conn:
        store.delete(conn, "a1")
    assert lexical.index_rows() == 0
    assert lexical.search("đảng viên") == []


def test_article_filter(tmp_path: Path) -> None:
    store, lexical = _store_with(
        tmp_path,
        _article("Kết nạp 470 đảng viên.", "a1"),
        _article("Kết nạp 120 đảng viên.", "a2"),
    )
    assert [h.chunk_id for h in lexical.search("đảng viên", article_ids=["a2"])] == ["a2-0"]


def test_vector_store_refuses_another_embedding_model(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    store = VectorStore(settings.chroma, "model-a", 3)
    store.upsert(["x"], [[1.0, 0.0, 0.0]], [{"article_id": "a"}])
    with pytest.raises(IndexMismatchError, match="model-a"):
        VectorStore(settings.chroma, "model-b", 3)
    # Reopening with the same model keeps the vectors.
    assert VectorStore(settings.chroma, "model-a", 3).count() == 1
    # A rebuild for the new model starts empty.
    assert VectorStore(settings.chroma, "model-b", 3, recreate=True).count() == 0


def test_vector_query_returns_cosine_similarity_and_filters(tmp_path: Path) -> None:
    store = VectorStore(Settings(data_dir=tmp_path).chroma, "m", 2)
    store.upsert(["p", "q"], [[1.0, 0.0], [0.0, 1.0]], [{"article_id": "a"}, {"article_id": "b"}])
    hits = store.query([1.0, 0.0], 2)
    assert hits[0].chunk_id == "p" and hits[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert [h.chunk_id for h in store.query([1.0, 0.0], 2, article_ids=["b"])] == ["q"]


def test_large_index_prunes_common_terms_but_keeps_rare_ones(tmp_path: Path) -> None:
    from index.lexical import PRUNE_MIN_PASSAGES

    filler = [
        _article(f"Đảng bộ huyện số {i} kết nạp đảng viên mới, phát triển đảng viên.", f"f{i}")
        for i in range(PRUNE_MIN_PASSAGES + 10)
    ]
    target = _article("Huyện Mường Nhé kết nạp 57 đảng viên mới trong năm 2021.", "target")
    store, lexical = _store_with(tmp_path, *filler, target)
    question = "Huyện Mường Nhé kết nạp bao nhiêu đảng viên mới?"
    # The common words ("đảng viên", "kết nạp") are left out of the query; the name decides.
    plan = lexical._plan(question)
    match = plan.match if plan else ""
    assert "đảng_viên" not in match and "mường_nhé" in match
    assert lexical.search(question, 3)[0].chunk_id == "target-0"
    assert lexical.search("muong nhe ket nap bao nhieu dang vien", 3)[0].chunk_id == "target-0"
    # A question of common words only still finds passages.
    assert len(lexical.search("kết nạp đảng viên", 5)) == 5
    # Statistics follow writes: a removed article's terms stop counting.
    assert lexical.doc_freqs(["mường_nhé"], "exact") == {"mường_nhé": 1}
    with store.transaction() as conn:
        store.delete(conn, "target")
    assert lexical.doc_freqs(["mường_nhé"], "exact") == {"mường_nhé": 0}
    assert lexical.count() == PRUNE_MIN_PASSAGES + 10


def test_pruned_terms_still_order_the_passages_the_rare_ones_found(tmp_path: Path) -> None:
    """Pruning decides which passages are looked at, not their order: among passages that all
    name the rare place, the one that also holds the question's common words comes first."""
    from index.lexical import PRUNE_MIN_PASSAGES

    # A quarter of the passages speak of admissions: common enough to be pruned, rare enough
    # to weigh in BM25 (a term in more than half of them weighs nothing there either).
    filler = [
        _article(
            f"Đảng bộ xã số {i} kết nạp đảng viên mới, phát triển đảng viên."
            if i % 4 == 0
            else f"Xã số {i} trồng lúa, làm thủy lợi và xây trường học.",
            f"f{i}",
        )
        for i in range(PRUNE_MIN_PASSAGES + 10)
    ]
    others = [
        _article(f"Huyện Mường Nhé làm đường giao thông nông thôn, đoạn số {i}.", f"m{i}")
        for i in range(30)
    ]
    target = _article(
        "Trong năm 2021, Đảng bộ huyện Mường Nhé đã kết nạp được 57 đảng viên mới, nâng tổng "
        "số đảng viên của toàn Đảng bộ huyện lên hơn hai nghìn người.",
        "target",
    )
    _, lexical = _store_with(tmp_path, *filler, *others, target)
    for question in (
        "Huyện Mường Nhé kết nạp bao nhiêu đảng viên mới?",
        "huyen muong nhe ket nap bao nhieu dang vien moi",
    ):
        plan = lexical._plan(question)
        match = plan.match if plan else ""
        assert "dang_vien" not in match.replace("đảng", "dang")  # pruned from the query
        assert lexical.search(question, 3)[0].chunk_id == "target-0", question


def test_postings_budget_is_capped_whatever_the_index_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenth of a million passages' postings is 100,000 rows a question: the budget stops at
    MAX_POSTINGS, keeping the rarest terms, and the rare name still finds its passage."""
    import index.lexical as lexical_module

    filler = [
        _article(f"Xã số {i} kết nạp đảng viên mới, phát triển đảng viên.", f"f{i}")
        for i in range(lexical_module.PRUNE_MIN_PASSAGES + 10)
    ]
    target = _article("Huyện Mường Nhé kết nạp 57 đảng viên mới.", "target")
    _, lexical = _store_with(tmp_path, *filler, target)
    question = "Huyện Mường Nhé kết nạp bao nhiêu đảng viên mới?"
    plan = lexical._plan(question)
    assert plan is not None and plan.kept is not None
    uncapped = plan.kept["exact"]
    monkeypatch.setattr(lexical_module, "MAX_POSTINGS", 2)
    plan = lexical._plan(question)
    assert plan is not None and plan.kept is not None
    assert plan.kept["exact"] == uncapped[: lexical_module.MIN_TERMS]
    assert len(uncapped) > lexical_module.MIN_TERMS
    assert lexical.search(question, 1)[0].chunk_id == "target-0"


def test_large_index_pool_holds_the_passages_with_the_most_rare_weight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More passages match the kept terms than the pool holds: the pool takes those holding
    the rarest ones, so the passage naming both places is ranked, not cut."""
    import index.lexical as lexical_module

    monkeypatch.setattr(lexical_module, "RESCORE_POOL", 5)
    filler = [
        _article(f"Xã số {i} trồng lúa, làm thủy lợi và xây trường học.", f"f{i}")
        for i in range(lexical_module.PRUNE_MIN_PASSAGES + 10)
    ]
    district = [
        _article(f"Huyện Mường Nhé kết nạp đảng viên, đợt số {i}.", f"m{i}") for i in range(40)
    ]
    target = _article("Bản Nậm Kè thuộc huyện Mường Nhé kết nạp 9 đảng viên.", "target")
    _, lexical = _store_with(tmp_path, *filler, *district, target)
    for question in (
        "Huyện Mường Nhé, bản Nậm Kè kết nạp bao nhiêu đảng viên?",
        "huyen muong nhe ban nam ke ket nap bao nhieu dang vien",
    ):
        hits = lexical.search(question, 3)
        assert hits[0].chunk_id == "target-0", question
        assert len(hits) == 3  # the rest of the pool: passages naming the district


@pytest.mark.parametrize("per_range", [0, 10**9], ids=["article-ranges", "name-postings"])
def test_articles_mentioning_a_name_common_or_rare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_range: int
) -> None:
    """Which of the asked articles name a place, whether the name's postings are walked (a
    rare name) or each article's passages are looked into (a name in thousands of passages)."""
    import index.lexical as lexical_module

    monkeypatch.setattr(lexical_module, "_POSTINGS_PER_RANGE", per_range)
    articles = [
        _article(f"Xã Thường Tín kết nạp {i} đảng viên." if i % 2 else f"Xã số {i}.", f"a{i}")
        for i in range(12)
    ]
    titled = _article("Kết nạp 5 đảng viên.", "t1", title="Thường Tín đổi mới")
    _, lexical = _store_with(tmp_path, *articles, titled)
    asked = ["a1", "a2", "a3", "a4", "t1", "absent"]
    assert lexical.articles_mentioning("thuong tin", asked) == {"a1", "a3", "t1"}
    assert lexical.articles_mentioning("thuong", asked) == {"a1", "a3", "t1"}
    assert lexical.articles_mentioning("thuong tin", []) == set()
    assert lexical.articles_mentioning("ha noi", asked) == set()


def test_maintained_term_counts_follow_adds_updates_and_deletes(tmp_path: Path) -> None:
    store, lexical = _store_with(
        tmp_path,
        _article("Huyện Mường Nhé kết nạp 57 đảng viên mới.", "a1"),
        _article("Mường Nhé có 12 chi bộ; đảng viên Mường Nhé tăng.", "a2"),
        _article("Tuần Giáo kết nạp 470 đảng viên.", "a3"),
    )
    # A term counts once per passage however often the passage repeats it.
    assert lexical.doc_freqs(["mường_nhé", "đảng_viên", "470"], "exact") == {
        "mường_nhé": 2,
        "đảng_viên": 3,
        "470": 1,
    }
    assert lexical.doc_freqs(["muong_nhe", "absent"], "folded") == {"muong_nhe": 2, "absent": 0}
    # Rewriting an article replaces its passages: old terms go, new ones come.
    store2, lexical = _store_with(tmp_path, _article("Điện Biên kết nạp 95 đảng viên.", "a1"))
    assert lexical.doc_freqs(["mường_nhé", "điện_biên", "đảng_viên"], "exact") == {
        "mường_nhé": 1,
        "điện_biên": 1,
        "đảng_viên": 3,
    }
    with store2.transaction() as conn:
        store2.delete(conn, "a3")
    assert lexical.count() == 2
    assert lexical.doc_freqs(["470", "đảng_viên"], "exact") == {"470": 0, "đảng_viên": 2}
    assert lexical.term_stat_errors() == 0
    # A count that drifted (e.g. edited by hand) is found by the check and rebuilt by repair.
    store2.conn.execute("UPDATE lexical_terms SET doc = 9 WHERE term = 'đảng_viên'")
    assert lexical.term_stat_errors() == 1
    with store2.transaction() as conn:
        lexical.rebuild_term_stats(conn)
    assert lexical.term_stat_errors() == 0
    assert lexical.doc_freqs(["đảng_viên"], "exact") == {"đảng_viên": 2}


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Tuần Giáo   kết nạp\n bao nhiêu?", "Tuần Giáo kết nạp bao nhiêu?"),
        # Decomposed Vietnamese keeps its tone and vowel marks (composed by NFC).
        ("Tuần Gia\u0301o", "Tuần Giáo"),
        # 999 combining marks on one letter: what is left is a letter with two.
        ("a" + "\u0301" * 999 + " bao nhiêu", "á\u0301\u0301 bao nhiêu"),
        ("đảng viên " * 200, ("đảng viên " * 200)[:500]),
    ],
)
def test_what_reaches_the_embedder_is_bounded(question: str, expected: str) -> None:
    from index.embeddings import MAX_QUERY_CHARS, bounded_query

    bounded = bounded_query(question)
    assert bounded == expected
    assert len(bounded) <= MAX_QUERY_CHARS


def test_a_question_typed_without_diacritics_is_read_with_the_corpus_spellings(
    tmp_path: Path,
) -> None:
    # "trương" (a family name) is in more passages than "trường", but "xuân trường" is the
    # pair the passages hold; no passage holds "bao nhiêu", which the question words give.
    _, lexical = _store_with(
        tmp_path,
        _article("Huyện Xuân Trường kết nạp 313 đảng viên năm 2023.", "a1"),
        *(_article(f"Ông Trương Văn {n} đang làm việc.", f"t{n}") for n in "ABC"),
    )
    assert (
        lexical.restore_diacritics("Huyen xuan truong ket nap bao nhieu dang vien nam 2023?")
        == "Huyện xuân trường kết nạp bao nhiêu đảng viên năm 2023?"
    )
    # A word the corpus does not hold stays as typed.
    assert lexical.restore_diacritics("THPT huyen Xuan Truong") == "THPT huyện Xuân Trường"
    # Typed with diacritics, or not Vietnamese: nothing to restore.
    assert lexical.restore_diacritics("Xuân Trường kết nạp bao nhiêu?") is None
    assert lexical.restore_diacritics("How many members did Xuan Truong admit?") is None
