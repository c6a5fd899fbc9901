"""The writer's near-duplicate look-up over the signatures of stored and unwritten articles."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.signatures import KnownSignatures
from index.store import ArticleStore
from ingest.models import Article
from ingest.similarity import PERMUTATIONS, signature


def _article(i: int) -> Article:
    return Article(f"a{i}", f"a{i}.txt", f"Bài {i}", None, None, f"text {i}", f"h{i}")


def _random_sig(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 2**32 - 1, size=PERMUTATIONS, dtype=np.uint32)


def test_finds_the_nearest_among_many_remembered_in_one_session(tmp_path: Path) -> None:
    store = ArticleStore(tmp_path / "tinbot.sqlite3")
    stored = _article(0)
    with store.transaction() as conn:
        store.put(conn, stored, [], "", minhash=_random_sig(np.random.default_rng(1)).tobytes())
    known = KnownSignatures(store)
    rng = np.random.default_rng(7)
    assert known.nearest(_random_sig(rng), "new", 0.8) is None  # loads the stored one
    sigs = {}
    for i in range(1, 300):  # past several doublings of the buffer
        sigs[i] = _random_sig(rng)
        known.remember(f"a{i}", sigs[i], _article(i))

    # A copy of an early and of a late article, with a tenth of the permutations changed.
    for i in (3, 299):
        near = sigs[i].copy()
        near[: PERMUTATIONS // 10] += 1
        found = known.nearest(near, "new", 0.8)
        assert found is not None
        assert found[0].article_id == f"a{i}"
        assert abs(found[1] - (PERMUTATIONS - PERMUTATIONS // 10) / PERMUTATIONS) < 1e-9

    # An article is never its own near-duplicate; re-remembering it replaces its row.
    assert known.nearest(sigs[150], "a150", 0.8) is None
    known.remember("a150", sigs[151])
    found = known.nearest(sigs[151], "a151", 0.8)
    assert found is not None and found[0].article_id == "a150"


def test_stored_article_found_after_reload(tmp_path: Path) -> None:
    store = ArticleStore(tmp_path / "tinbot.sqlite3")
    text = "Huyện ủy Tuần Giáo kết nạp 120 đảng viên mới trong năm 2022, vượt chỉ tiêu đề ra. " * 5
    stored = _article(1)
    with store.transaction() as conn:
        store.put(conn, stored, [], "", minhash=signature(text).tobytes())
    known = KnownSignatures(store)
    found = known.nearest(signature(text + " Thêm một câu."), "other", 0.8)
    assert found is not None and found[0].article_id == "a1"
    known.forget()
    assert known.nearest(signature("Một bài hoàn toàn khác về giá vàng hôm nay."), "x", 0.8) is None


def test_pruned_look_up_agrees_with_comparing_every_permutation(tmp_path: Path) -> None:
    """The look-up skips articles that cannot reach the threshold: it must find exactly what a
    full comparison finds, at every threshold, including articles right at the threshold."""
    rng = np.random.default_rng(3)
    known = KnownSignatures(ArticleStore(tmp_path / "tinbot.sqlite3"))
    known.nearest(_random_sig(rng), "x", 0.5)  # loaded (empty)
    base = _random_sig(rng)
    rows = []
    for i in range(400):
        row = base.copy()
        changed = rng.choice(PERMUTATIONS, size=int(rng.integers(0, PERMUTATIONS)), replace=False)
        row[changed] = _random_sig(rng)[changed]
        rows.append(row)
        known.remember(f"a{i}", row, _article(i))
    matrix = np.stack(rows)
    for threshold in (0.05, 0.3, 0.5, 0.75, 0.8, 0.9, 1.0):
        for _ in range(20):
            query = base.copy()
            changed = rng.choice(PERMUTATIONS, size=int(rng.integers(0, 64)), replace=False)
            query[changed] = _random_sig(rng)[changed]
            scores = (matrix == query).sum(axis=1) / PERMUTATIONS
            expected = int(scores.argmax()) if scores.max() >= threshold else None
            found = known.nearest(query, "new", threshold)
            if expected is None:
                assert found is None
            else:
                assert found is not None
                assert found[0].article_id == f"a{expected}"
                assert found[1] == scores[expected]


def test_an_article_exactly_at_the_threshold_is_found(tmp_path: Path) -> None:
    """All of its mismatches among the first permutations, the ones the pruning reads."""
    rng = np.random.default_rng(5)
    for threshold in (0.3, 0.8, 0.9, 1.0):
        known = KnownSignatures(ArticleStore(tmp_path / f"t{threshold}.sqlite3"))
        query = _random_sig(rng)
        known.nearest(query, "x", threshold)  # loaded (empty)
        mismatches = PERMUTATIONS - int(np.ceil(threshold * PERMUTATIONS))
        row = query.copy()
        row[:mismatches] += 1
        known.remember("a1", row, _article(1))
        found = known.nearest(query, "new", threshold)
        assert found is not None and found[0].article_id == "a1"
        worse = row.copy()
        worse[mismatches] += 1
        known.remember("a1", worse)
        assert known.nearest(query, "new", threshold) is None
