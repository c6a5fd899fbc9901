"""HybridRetriever, table-driven, on tiny indexes of hand-written passages in the real SQLite store,
lexical index and Chroma collection.

Fusion, tie and filter tables need to know each passage's dense similarity, which no real model
states in advance: those passages get hand-set vectors and the question a fixed one
(``FixedQueryEmbedder``). The no-diacritics table runs the real bundled model instead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from index import embeddings, retrieve
from index.embeddings import Embedder
from index.lexical import LexicalIndex
from index.retrieve import FusionMode, Hit, HybridRetriever
from index.store import ArticleStore
from index.vectors import ChromaConfig, DenseHit, VectorStore
from ingest.models import Article, Chunk
from tests.helpers import CountingEmbedder

QUERY_VECTOR = (1.0, 0.0, 0.0)


class FixedQueryEmbedder(Embedder):
    """Every question embeds to QUERY_VECTOR, so a passage's similarity is whatever vector the
    test stored for it."""

    name = "test/fixed-query"
    dim = len(QUERY_VECTOR)

    def embed_query(self, text: str) -> list[float]:
        return list(QUERY_VECTOR)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise AssertionError("passage vectors are set by the test")


@dataclass(frozen=True)
class Doc:
    article_id: str
    title: str
    passages: tuple[str, ...]
    vector: tuple[float, ...] = QUERY_VECTOR  # of each passage
    date: str | None = None
    write_order: tuple[int, ...] | None = None  # positions in the order written, if not 0, 1, …


@dataclass
class Index:
    store: ArticleStore
    lexical: LexicalIndex
    vectors: VectorStore
    embedder: Embedder

    def retriever(
        self, mode: FusionMode = "weighted", dense_weight: float = 0.4, candidates: int = 30
    ) -> HybridRetriever:
        return HybridRetriever(
            self.store,
            self.lexical,
            self.vectors,
            self.embedder,
            dense_weight=dense_weight,
            mode=mode,
            candidates=candidates,
        )

    def close(self) -> None:
        self.vectors.close()
        self.store.close()


def build_index(root: Path, docs: Sequence[Doc], embedder: Embedder | None = None) -> Index:
    """Write articles the way the ingester does: vectors into Chroma, then one SQLite
    transaction for the article, its passages and their lexical entries. Passage ids are
    ``{article_id}-{position}``. With an ``embedder``, passages get its vectors instead."""
    embedder = embedder or FixedQueryEmbedder()
    store = ArticleStore(root / "tinbot.sqlite3")
    lexical = LexicalIndex(store.conn)
    vectors = VectorStore(ChromaConfig(root / "chroma"), embedder.name, embedder.dim)
    for doc in docs:
        text = "\n\n".join(doc.passages)
        article = Article(
            doc.article_id, f"/corpus/{doc.article_id}.txt", doc.title, doc.date, None, text, text
        )
        chunks: list[Chunk] = []
        start = 0
        for position, passage in enumerate(doc.passages):
            end = start + len(passage)
            chunks.append(
                Chunk(f"{doc.article_id}-{position}", doc.article_id, position, start, end, passage)
            )
            start = end + 2
        if doc.write_order is not None:
            chunks = [chunks[p] for p in doc.write_order]
        if isinstance(embedder, FixedQueryEmbedder):
            passage_vectors = [list(doc.vector) for _ in chunks]
        else:
            passage_vectors = embedder.embed_documents([f"{doc.title}\n{c.text}" for c in chunks])
        vectors.upsert(
            [c.chunk_id for c in chunks],
            passage_vectors,
            [{"article_id": c.article_id, "position": c.position} for c in chunks],
        )
        with store.transaction() as conn:
            stored = store.put(conn, article, chunks, doc.title)
            lexical.add(conn, stored, doc.title)
    return Index(store, lexical, vectors, embedder)


def ids(hits: Sequence[Hit]) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


class RecordingEmbedder(FixedQueryEmbedder):
    """``FixedQueryEmbedder`` that keeps the questions it was asked to embed."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def embed_query(self, text: str) -> list[float]:
        self.asked.append(text)
        return super().embed_query(text)


def test_the_dense_side_reads_a_question_typed_without_diacritics_with_them(
    tmp_path: Path,
) -> None:
    embedder = RecordingEmbedder()
    index = build_index(tmp_path, FUSION_DOCS, embedder)
    try:
        index.retriever().search("muong ang ket nap bao nhieu dang vien moi?")
        index.retriever().search("Mường Ảng kết nạp bao nhiêu?")
    finally:
        index.close()
    assert embedder.asked == [
        "mường ảng kết nạp bao nhiêu đảng viên mới?",
        "Mường Ảng kết nạp bao nhiêu?",
    ]


# --- fusion ---------------------------------------------------------------------------------
# "both" and "lex" are the same passage word for word, so the lexical side cannot tell them
# apart; only "both" is also close to the question's vector. "dense" shares no word with the
# question but is close to it (cosine 0.8); "none" is neither.
FUSION_QUESTION = "Mường Ảng kết nạp bao nhiêu đảng viên mới?"
FUSION_DOCS = (
    Doc("both", "Mường Ảng", ("Huyện Mường Ảng kết nạp 95 đảng viên mới.",), (1.0, 0.0, 0.0)),
    Doc("lex", "Mường Ảng", ("Huyện Mường Ảng kết nạp 95 đảng viên mới.",), (0.0, 1.0, 0.0)),
    Doc("dense", "Thời tiết", ("Trời nắng đẹp suốt tuần qua.",), (0.8, 0.6, 0.0)),
    Doc("none", "Giá lúa", ("Giá lúa tăng mạnh trong vụ mùa.",), (0.0, 0.0, 1.0)),
)


@pytest.fixture(scope="module")
def fusion(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    index = build_index(tmp_path_factory.mktemp("fusion"), FUSION_DOCS)
    yield index
    index.close()


@pytest.mark.parametrize(
    ("mode", "dense_weight", "order"),
    [
        # Found by both sides beats found by one; the lexical side weighs more at 0.4.
        ("weighted", 0.4, ["both-0", "lex-0", "dense-0", "none-0"]),
        # A heavy dense weight lets a close passage without the question's words overtake.
        ("weighted", 0.9, ["both-0", "dense-0", "lex-0", "none-0"]),
        # Weight 0: Chroma is not asked, so what only it would find is not returned at all.
        ("weighted", 0.0, ["both-0", "lex-0"]),
        ("lexical", 0.4, ["both-0", "lex-0"]),
        # "lex" and "none" are equally far (cosine 0): the tie goes to the article id.
        ("dense", 0.4, ["both-0", "dense-0", "lex-0", "none-0"]),
        ("rrf", 0.4, ["both-0", "lex-0", "dense-0", "none-0"]),
    ],
)
def test_fusion_order(
    fusion: Index, mode: FusionMode, dense_weight: float, order: list[str]
) -> None:
    hits = fusion.retriever(mode, dense_weight).search(FUSION_QUESTION, k=10)
    assert ids(hits) == order


@pytest.mark.parametrize(
    ("chunk_id", "score", "lexical", "dense", "similarity"),
    [
        # score = 0.6 * lexical + 0.4 * dense; lexical is relative to the best lexical score,
        # dense is spread between the farthest (0) and the closest (1) candidate.
        ("both-0", 1.0, 1.0, 1.0, 1.0),
        ("lex-0", 0.6, 1.0, 0.0, 0.0),
        ("dense-0", 0.32, 0.0, 0.8, 0.8),
        ("none-0", 0.0, 0.0, 0.0, 0.0),
    ],
)
def test_hit_scores(
    fusion: Index, chunk_id: str, score: float, lexical: float, dense: float, similarity: float
) -> None:
    hits = {h.chunk.chunk_id: h for h in fusion.retriever().search(FUSION_QUESTION, k=10)}
    hit = hits[chunk_id]
    assert hit.score == pytest.approx(score, abs=1e-3)
    assert hit.lexical == pytest.approx(lexical, abs=1e-3)
    assert hit.dense == pytest.approx(dense, abs=1e-3)
    assert hit.similarity == pytest.approx(similarity, abs=1e-3)


@pytest.mark.parametrize(
    ("k", "candidates", "order"),
    [
        (0, 30, []),
        (1, 30, ["both-0"]),
        (2, 30, ["both-0", "lex-0"]),
        (4, 30, ["both-0", "lex-0", "dense-0", "none-0"]),
        (10, 30, ["both-0", "lex-0", "dense-0", "none-0"]),
        # Each side is asked for at least k passages, however few candidates are configured.
        (3, 1, ["both-0", "lex-0", "dense-0"]),
    ],
)
def test_k_best(fusion: Index, k: int, candidates: int, order: list[str]) -> None:
    assert ids(fusion.retriever(candidates=candidates).search(FUSION_QUESTION, k=k)) == order


@pytest.mark.parametrize("mode", ["weighted", "rrf", "lexical", "dense"])
def test_equal_scores_are_ordered_by_article_then_position(
    tmp_path: Path, mode: FusionMode
) -> None:
    # Word-for-word the same passage and vector everywhere; "zeta" is written first and
    # "alpha" writes its second passage before its first, so insertion order is not the answer.
    passage = "Chi bộ kết nạp 12 đảng viên mới."
    index = build_index(
        tmp_path,
        [
            Doc("zeta", "Kết nạp", (passage,)),
            Doc("alpha", "Kết nạp", (passage, passage), write_order=(1, 0)),
        ],
    )
    try:
        hits = index.retriever(mode).search("kết nạp đảng viên", k=10)
        assert ids(hits) == ["alpha-0", "alpha-1", "zeta-0"]
    finally:
        index.close()


def test_vectors_without_a_stored_passage_are_never_returned(tmp_path: Path) -> None:
    # A crash between the Chroma write and the SQLite transaction leaves such vectors behind;
    # this one is the closest possible to the question.
    index = build_index(tmp_path, FUSION_DOCS)
    try:
        index.vectors.upsert(["ghost-0"], [list(QUERY_VECTOR)], [{"article_id": "ghost"}])
        for mode in ("weighted", "rrf", "dense"):
            hits = index.retriever(mode).search(FUSION_QUESTION, k=10)
            assert "ghost-0" not in ids(hits)
            assert ids(hits)[0] == "both-0"
    finally:
        index.close()


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   ",
        "???",
        "bao nhiêu là gì?",  # question and function words only
        "how many of the",
    ],
)
def test_questions_without_search_terms_find_nothing_lexically(
    fusion: Index, question: str
) -> None:
    assert fusion.retriever("lexical").search(question, k=10) == []


@pytest.mark.parametrize(
    "question",
    [
        'Mường Ảng "kết nạp',
        "(Mường Ảng) kết nạp*",
        "Mường Ảng AND NOT kết nạp",
        "Mường Ảng NEAR kết-nạp: đảng viên?",
    ],
)
def test_fts_syntax_in_a_question_is_read_as_words(fusion: Index, question: str) -> None:
    hits = fusion.retriever("lexical").search(question, k=10)
    assert ids(hits) == ["both-0", "lex-0"]


# --- named places ---------------------------------------------------------------------------
# Every passage has the same vector, so the order without ``about`` is the lexical one. A place
# is named in a title ("tuangiao", "laichau"), in the passage ("dienbien"), or only in another
# passage of the article ("dbphu").
PLACE_QUESTION = "kết nạp bao nhiêu đảng viên mới?"
PLACE_DOCS = (
    Doc(
        "tuangiao",
        "Huyện Tuần Giáo vượt chỉ tiêu",
        ("Năm 2021, Đảng bộ huyện kết nạp được 470 đảng viên mới, vượt chỉ tiêu đề ra.",),
    ),
    Doc(
        "laichau",
        "Thành phố Lai Châu chú trọng tạo nguồn",
        ("Năm 2021, Đảng bộ thành phố kết nạp 120 đảng viên mới.",),
    ),
    Doc(
        "dienbien",
        "Phát triển đảng viên ở vùng cao",
        ("Toàn tỉnh Điện Biên kết nạp 2.000 đảng viên mới trong nhiệm kỳ.",),
    ),
    Doc(
        "dbphu",
        "Tạo nguồn từ đoàn viên",
        (
            "Thành phố Điện Biên Phủ tổ chức hội nghị sơ kết công tác tạo nguồn.",
            "Đảng bộ thành phố kết nạp 300 đảng viên mới, phần lớn là đoàn viên thanh niên ưu tú.",
        ),
    ),
)


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    index = build_index(tmp_path_factory.mktemp("places"), PLACE_DOCS)
    yield index
    index.close()


@pytest.mark.parametrize(
    ("about", "first"),
    [
        ((), set()),
        (("tuan giao",), {"tuangiao"}),
        (("lai chau",), {"laichau"}),
        (("dien bien phu",), {"dbphu"}),
        # "Điện Biên Phủ" contains "Điện Biên": both articles name it.
        (("dien bien",), {"dienbien", "dbphu"}),
        # No article names both, or any: the order is left as it was.
        (("lai chau", "tuan giao"), set()),
        (("ha noi",), set()),
    ],
)
def test_passages_of_articles_naming_the_place_come_first(
    places: Index, about: tuple[str, ...], first: set[str]
) -> None:
    retriever = places.retriever()
    baseline = retriever.search(PLACE_QUESTION, k=10)
    assert len(baseline) == 5
    # Those articles first, everything else after; each group keeps the fused order.
    expected = [h for h in baseline if h.chunk.article_id in first] + [
        h for h in baseline if h.chunk.article_id not in first
    ]
    if first:
        assert ids(expected) != ids(baseline), (
            "the place already ranks first: the row tests nothing"
        )
    assert ids(retriever.search(PLACE_QUESTION, k=10, about=about)) == ids(expected)


@pytest.mark.parametrize(
    ("about", "chunk_id"),
    [
        (("tuan giao",), "tuangiao-0"),
        (("lai chau",), "laichau-0"),
        # The passage with the figure, although only the article's other passage names the place.
        (("dien bien phu",), "dbphu-1"),
    ],
)
def test_a_named_place_is_reordered_before_the_k_best_are_cut(
    places: Index, about: tuple[str, ...], chunk_id: str
) -> None:
    retriever = places.retriever()
    assert ids(retriever.search(PLACE_QUESTION, k=1)) == ["dienbien-0"]
    assert ids(retriever.search(PLACE_QUESTION, k=1, about=about)) == [chunk_id]


# --- dates and article filters --------------------------------------------------------------
DATE_DOCS = tuple(
    Doc(article_id, "Kết nạp đảng viên", ("Đảng bộ kết nạp đảng viên mới.",), date=date)
    for article_id, date in [
        ("a2020", "2020-06-15"),
        ("a2021", "2021-12-31"),
        ("a2022", "2022-01-01"),
        ("undated", None),
    ]
)


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Index]:
    index = build_index(tmp_path_factory.mktemp("dated"), DATE_DOCS)
    yield index
    index.close()


@pytest.mark.parametrize("mode", ["weighted", "lexical", "dense"])
@pytest.mark.parametrize(
    ("date_from", "date_to", "article_ids", "expected"),
    [
        (None, None, None, {"a2020", "a2021", "a2022", "undated"}),
        ("2021-01-01", None, None, {"a2021", "a2022"}),
        (None, "2021-12-31", None, {"a2020", "a2021"}),  # bounds are inclusive
        ("2021-12-31", "2021-12-31", None, {"a2021"}),
        ("2022-01-02", None, None, set()),
        ("2021-01-01", "2020-12-31", None, set()),
        (None, None, ["a2022", "undated"], {"a2022", "undated"}),
        # An article without a date cannot be shown to fall inside a range.
        ("2020-01-01", None, ["a2022", "undated"], {"a2022"}),
        (None, None, [], set()),  # an empty selection is nothing, not everything
        (None, None, ["no-such-article"], set()),
    ],
)
def test_date_and_article_filters(
    dated: Index,
    mode: FusionMode,
    date_from: str | None,
    date_to: str | None,
    article_ids: list[str] | None,
    expected: set[str],
) -> None:
    hits = dated.retriever(mode).search(
        "kết nạp đảng viên",
        k=10,
        article_ids=article_ids,
        date_from=date_from,
        date_to=date_to,
    )
    assert {h.chunk.article_id for h in hits} == expected


# --- Vietnamese without diacritics, with the real model -------------------------------------
TEXT_DOCS = (
    Doc("tuangiao", "Tuần Giáo", ("Huyện ủy Tuần Giáo đã kết nạp được 470 đảng viên mới.",)),
    Doc("busy", "Tin tổng hợp", ("Công việc đang được tiến hành, đang chờ kết quả.",)),
    Doc("muongang", "Mường Ảng", ("Huyện Mường Ảng kết nạp 95 đảng viên, đạt 110% chỉ tiêu.",)),
    Doc("weather", "Thời tiết", ("Thời tiết hôm nay đẹp, trời nắng.",)),
)


@pytest.fixture(scope="module")
def texts(tmp_path_factory: pytest.TempPathFactory, embedder: CountingEmbedder) -> Iterator[Index]:
    index = build_index(tmp_path_factory.mktemp("texts"), TEXT_DOCS, embedder)
    yield index
    index.close()


@pytest.mark.parametrize(
    ("question", "article"),
    [
        ("Tuần Giáo kết nạp được bao nhiêu đảng viên?", "tuangiao"),
        ("tuan giao ket nap duoc bao nhieu dang vien?", "tuangiao"),
        ("TUAN GIAO KET NAP BAO NHIEU DANG VIEN", "tuangiao"),
        (unicodedata.normalize("NFD", "Tuần Giáo kết nạp bao nhiêu đảng viên?"), "tuangiao"),
        ("Huyện uỷ Tuần Giáo kết nạp bao nhiêu?", "tuangiao"),  # old tone placement "uỷ"
        ("muong ang dat bao nhieu phan tram chi tieu", "muongang"),
        ("Mường Ảng đạt bao nhiêu phần trăm chỉ tiêu?", "muongang"),
    ],
)
def test_questions_find_accented_passages_however_they_are_typed(
    texts: Index, question: str, article: str
) -> None:
    best = texts.retriever().search(question, k=3)[0]
    assert best.chunk.article_id == article
    # The words matched, not only the vectors: the lexical side ranks it best too.
    assert best.lexical == 1.0


class CoresSeen(CountingEmbedder):
    """The real model, noting how many threads it may use where it embeds the question."""

    def embed_query(self, text: str) -> list[float]:
        assert embeddings._openmp is not None  # loaded with the model
        self.query_threads = embeddings._openmp.omp_get_max_threads()
        return super().embed_query(text)


def test_the_question_is_embedded_on_one_core_fewer_than_passages(tmp_path: Path) -> None:
    # The lexical half of a search runs meanwhile; with the model on every core the two would
    # take turns (on two cores, a question paid for both).
    embedder = CoresSeen()
    index = build_index(tmp_path, TEXT_DOCS, embedder)
    try:
        assert embeddings._openmp is not None
        everywhere = embeddings._openmp.omp_get_max_threads()
        index.retriever().search("Tuần Giáo kết nạp được bao nhiêu đảng viên?", k=3)
        assert embedder.query_threads == max(1, everywhere - 1)
        # Passage embedding, in the threads that ingest, keeps every core.
        assert embeddings._openmp.omp_get_max_threads() == everywhere
    finally:
        index.close()


# --- exhaustive dense search on small indexes -------------------------------------------------
# Cosines 1.0, 0.9, 0.8, 0.6 and 0 to the question's vector, in that order.
NEIGHBOURS = tuple(
    Doc(name, "Thời tiết", ("Trời nắng đẹp suốt tuần qua.",), vector)
    for name, vector in (
        ("a", (1.0, 0.0, 0.0)),
        ("b", (0.9, 0.43589, 0.0)),
        ("c", (0.8, 0.6, 0.0)),
        ("d", (0.6, 0.8, 0.0)),
        ("e", (0.0, 1.0, 0.0)),
    )
)


@dataclass
class DepthsAsked:
    """The real vector index, noting how many neighbours each search asks it for."""

    inner: VectorStore
    depths: list[int] = field(default_factory=list)

    def query(
        self, vector: Sequence[float], k: int, article_ids: Collection[str] | None = None
    ) -> list[DenseHit]:
        self.depths.append(k)
        return self.inner.query(vector, k, article_ids)


@pytest.mark.parametrize(("exact_below", "depth"), [(1000, 1000), (5, 5), (4, 2)])
def test_small_indexes_are_searched_exhaustively_and_cut_to_the_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_below: int, depth: int
) -> None:
    # An approximate graph search differs from process to process (its graph is rebuilt on
    # opening); asked for every vector, it is exact. What fusion sees is still the best
    # ``candidates``: the normalised dense scores run from the first to the second passage.
    monkeypatch.setattr(retrieve, "EXACT_DENSE_BELOW", exact_below)
    index = build_index(tmp_path, NEIGHBOURS)
    try:
        vectors = DepthsAsked(index.vectors)
        retriever = HybridRetriever(
            index.store, index.lexical, vectors, index.embedder, mode="dense", candidates=2
        )
        hits = retriever.search("Trời hôm nay thế nào?", k=2)
        assert vectors.depths == [depth]
        assert ids(hits) == ["a-0", "b-0"]
        assert [h.dense for h in hits] == [1.0, 0.0]
        assert [round(h.similarity, 3) for h in hits] == [1.0, 0.9]
    finally:
        index.close()
