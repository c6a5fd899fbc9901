"""Vietnamese text helpers shared by the index and the answerer.

Three forms of a word matter for matching:
- the text as written, NFC-normalised (what citations quote);
- a *key*: lower-case, with old/new tone placement unified ("hoà" and "hòa" both → "hòa");
- a *folded* key: no diacritics at all and ``đ`` → ``d`` ("đảng" → "dang"), for questions typed
  without accents. Folding collides ("đảng" and "đang"), which is why both keys are indexed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Combining marks that carry the five Vietnamese tones (grave, acute, hook, tilde, dot below).
_TONE_MARKS = {"\u0300", "\u0301", "\u0309", "\u0303", "\u0323"}
# Vowel pairs where old style puts the tone on the first vowel and new style on the second
# when the pair ends the syllable: hòa/hoà, hòe/hoè, thủy/thuỷ.
_PAIR_ENDINGS = ("oa", "oe", "uy")

WORD_RE = re.compile(r"[^\W_]+", re.UNICODE)
_ACCENTED_RE = re.compile(r"[^\x00-\x7f]")


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@lru_cache(maxsize=65536)
def _unify_syllable(syllable: str) -> str:
    decomposed = unicodedata.normalize("NFD", syllable)
    tones = [ch for ch in decomposed if ch in _TONE_MARKS]
    if len(tones) != 1:
        return syllable
    bare = "".join(ch for ch in decomposed if ch not in _TONE_MARKS)
    base = unicodedata.normalize("NFC", bare)
    for ending in _PAIR_ENDINGS:
        if base.endswith(ending) and not base.endswith("q" + ending) and len(base) >= 2:
            # Canonical form: tone on the first vowel of the final pair ("hòa", "thủy").
            pos = len(base) - 2
            target = unicodedata.normalize("NFD", base[: pos + 1])
            rest = base[pos + 1 :]
            return unicodedata.normalize("NFC", target + tones[0] + rest)
    return syllable


def key(word: str) -> str:
    """Lower-case matching key with unified tone placement."""
    return _unify_syllable(nfc(word).lower())


def fold(text: str) -> str:
    """Strip every diacritic and map đ/Đ to d: the form people type on phones without accents."""
    # Words and short phrases repeat endlessly and are cached; whole articles are not kept.
    return _fold_cached(text) if len(text) <= 64 else _fold(text)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d").replace("Đ", "d"))
    return _COMBINING_RE.sub("", decomposed)


_COMBINING_RE = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


_fold_cached = lru_cache(maxsize=65536)(_fold)


def is_accented(text: str) -> bool:
    """True when the text carries any non-ASCII letter, i.e. was typed with diacritics."""
    return bool(_ACCENTED_RE.search(text))


def words(text: str) -> list[str]:
    """Syllables (and numbers) of a text, as written."""
    return WORD_RE.findall(nfc(text))


def keys(text: str) -> list[str]:
    # One normalisation of the whole text, then the (cached) tone unification per syllable:
    # the same as ``key`` of each word, several times faster on a long article.
    return [_unify_syllable(w) for w in WORD_RE.findall(nfc(text).lower())]


def folded_keys(text: str) -> list[str]:
    return [fold(w) for w in words(text)]


def with_bigrams(tokens: list[str], joiner: str = "_") -> list[str]:
    """Syllables plus adjacent-syllable pairs, so "đảng viên" and "kết nạp" match as units."""
    return tokens + [a + joiner + b for a, b in zip(tokens, tokens[1:], strict=False)]


# How a letter typed without diacritics may have been meant: vowel qualities and đ.
_LETTER_FORMS = {"a": "aăâ", "e": "eê", "o": "oôơ", "u": "uư", "d": "dđ"}
_VOWELS = frozenset("aăâeêioôơuưy")
_MAX_VARIANTS = 400


@lru_cache(maxsize=8192)
def accent_variants(folded: str) -> tuple[str, ...]:
    """Every key that folds to ``folded`` (a lower-case syllable typed without diacritics):
    "duong" → "dương", "đường", "dưỡng", …; most are no word, which the corpus tells. Empty
    for what is no Vietnamese syllable (too long, digits, more than three vowels)."""
    if not folded.isalpha() or not folded.isascii() or len(folded) > 7:
        return ()
    vowel_at = [i for i, ch in enumerate(folded) if ch in "aeiouy"]
    if not vowel_at or len(vowel_at) > 3:
        return ()
    bases = [""]
    for ch in folded:
        bases = [b + f for b in bases for f in _LETTER_FORMS.get(ch, ch)]
    found: dict[str, None] = {}
    for base in bases:
        found[base] = None
        for i, ch in enumerate(base):
            if ch in _VOWELS:
                for tone in _TONE_MARKS:
                    toned = unicodedata.normalize("NFC", ch + tone)
                    found[key(base[:i] + toned + base[i + 1 :])] = None
        if len(found) > _MAX_VARIANTS:
            break
    return tuple(found)
