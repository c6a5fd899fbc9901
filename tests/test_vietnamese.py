import unicodedata

import pytest

from ingest.vietnamese import (
    accent_variants,
    fold,
    folded_keys,
    is_accented,
    key,
    keys,
    with_bigrams,
)


@pytest.mark.parametrize(
    ("old", "new"),
    [("hoà", "hòa"), ("thuỷ", "thủy"), ("khoẻ", "khỏe"), ("Hoà", "hòa"), ("xoá", "xóa")],
)
def test_old_and_new_tone_placement_share_a_key(old: str, new: str) -> None:
    assert key(old) == key(new)


def test_tone_placement_is_left_alone_where_both_styles_agree() -> None:
    assert key("hoàng") == "hoàng"
    assert key("quý") == "quý"
    assert key("thuyền") == "thuyền"


def test_decomposed_input_gets_the_same_key_as_composed() -> None:
    decomposed = unicodedata.normalize("NFD", "Đảng viên")
    assert keys(decomposed) == keys("Đảng viên") == ["đảng", "viên"]


def test_fold_strips_every_diacritic_and_maps_d_stroke() -> None:
    assert fold("Đảng viên kết nạp ở Tuần Giáo") == "dang vien ket nap o tuan giao"
    assert folded_keys("đảng") == folded_keys("đang") == ["dang"]


def test_is_accented() -> None:
    assert is_accented("đảng viên")
    assert not is_accented("dang vien 2022")


def test_bigrams_join_adjacent_syllables() -> None:
    assert with_bigrams(["kết", "nạp", "đảng"]) == ["kết", "nạp", "đảng", "kết_nạp", "nạp_đảng"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("truong", "trường"),
        ("dang", "đảng"),
        ("xuan", "xuân"),
        ("nghieng", "nghiêng"),
        ("ua", "ưa"),
    ],
)
def test_every_spelling_of_a_syllable_typed_without_diacritics_is_among_its_variants(
    typed: str, meant: str
) -> None:
    variants = accent_variants(typed)
    assert key(meant) in variants and typed in variants
    assert all(fold(v) == typed for v in variants)


@pytest.mark.parametrize("typed", ["2023", "Đảng", "strength", "aeiou", "k'lang"])
def test_what_is_no_unaccented_syllable_has_no_variants(typed: str) -> None:
    assert accent_variants(typed) == ()
