"""Ranked lexical search for Vietnamese on SQLite FTS5.

Each passage is indexed twice: as tone-unified lower-case syllables (``exact``) and fully folded
(``folded``: no diacritics, đ→d), each with adjacent-syllable pairs joined by ``_`` so "đảng viên"
and "kết nạp" match as units. The article title is indexed in two more columns with a lower weight,
because a figure's place is often only named there.

Folding collides ("đảng"/"đang" → "dang"), so an accented question searches both fields with the
exact one weighted higher; an unaccented question can only be matched through the folded field.
"""

from __future__ import annotations

import itertools
import math
import re
import sqlite3
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from index.migrations import migrate
from index.store import StoredChunk
from ingest.lexicon import QUESTION_WORDS
from ingest.vietnamese import WORD_RE, accent_variants, fold, is_accented, keys, with_bigrams

# Question words and function words that say nothing about which passage answers
# (compared in folded form, so they also catch unaccented questions).
STOPWORDS = frozenset(
    """
    bao nhieu may gi nao the sao ai dau khi luc la co khong duoc cua va cac nhung mot trong
    o tai cho voi den tu da se hay hoac ve nay do thi ma nhu boi vi de len ra vao
    how many much what which who whom whose when where why the a an of in on at to for from by
    is are was were be been did do does has have had and or with about into than that this
    """.split()
)
# "dang" is deliberately not a stopword: it is "đảng" (party) far more often than "đang".

_QUOTE_RE = re.compile(r'["]')
# Term pruning for large indexes (see LexicalIndex._prune).
PRUNE_MIN_PASSAGES = 2000
POSTINGS_BUDGET = 0.1  # matched postings per query, as a share of all passages
# ... and at most this many: every posting read costs time, so a budget that grew with the index
# would make a million-passage index ten times slower to search than one of 100k.
MAX_POSTINGS = 10_000
MIN_TERMS = 3
# On a large index, the best RESCORE_POOL passages of the rare terms are ranked again by BM25
# over every term of the question, so pruning saves time without deciding the order.
RESCORE_POOL = 60
_K1, _B = 1.2, 0.75  # FTS5's bm25() constants
# articles_mentioning: one article's row-id range costs about as much as this many postings.
_POSTINGS_PER_RANGE = 30
_COLUMNS = ("exact", "folded", "title_exact", "title_folded")  # in the FTS table's order
# Restoring a question's diacritics: the spellings of a syllable kept per word (the most
# frequent in the corpus), and the share of its words the corpus must know for the question to
# be read as Vietnamese at all ("how many members" is left alone).
RESTORE_FORMS = 6
RESTORE_MIN_KNOWN = 0.75
PAIR_WEIGHT = 3.0  # a pair the passages hold against one word's frequency


@dataclass(frozen=True)
class _Plan:
    match: str  # the FTS5 query
    weights: tuple[float, float, float, float]  # bm25() weights of the four columns
    full: dict[str, list[str]] | None  # every term by column ("exact"/"folded"), large index
    # On a large index, the terms whose passages are gathered (by column), to be ranked by
    # ``full`` afterwards.
    kept: dict[str, list[str]] | None = None


@dataclass(frozen=True)
class LexicalHit:
    chunk_id: str
    score: float  # higher is better (negated bm25)


def index_terms(text: str) -> tuple[str, str]:
    """(exact, folded) token strings for the FTS columns."""
    exact, folded = _index_tokens(text)
    return " ".join(exact), " ".join(folded)


def _index_tokens(text: str) -> tuple[list[str], list[str]]:
    syllables = keys(text)
    return with_bigrams(syllables), with_bigrams([fold(k) for k in syllables])


def query_terms(question: str) -> tuple[list[str], list[str]]:
    """Content terms of a question: syllables that are not stopwords, plus pairs of them."""
    syllables = keys(question)
    folded = [fold(s) for s in syllables]
    keep = [f not in STOPWORDS for f in folded]
    exact_terms = [s for s, k in zip(syllables, keep, strict=True) if k]
    folded_terms = [f for f, k in zip(folded, keep, strict=True) if k]
    for i in range(len(syllables) - 1):
        # A pair survives when either side carries content ("kết nạp được", "có đạo"); pairs
        # the corpus never contains are ignored by the answerer's weighting.
        if keep[i] or keep[i + 1]:
            exact_terms.append(f"{syllables[i]}_{syllables[i + 1]}")
            folded_terms.append(f"{folded[i]}_{folded[i + 1]}")
    return list(dict.fromkeys(exact_terms)), list(dict.fromkeys(folded_terms))


def _quoted(term: str) -> str:
    return '"' + _QUOTE_RE.sub("", term) + '"'


def _or(terms: Sequence[str]) -> str:
    return " OR ".join(_quoted(t) for t in terms)


def _question_words(typed: list[str]) -> dict[int, str]:
    """Positions of the question words among ``typed`` syllables, with their spelling."""
    fixed: dict[int, str] = {}
    for phrase, written in sorted(QUESTION_WORDS.items(), key=lambda kv: -len(kv[0].split())):
        parts, spelled = phrase.split(), written.split()
        for i in range(len(typed) - len(parts) + 1):
            span = range(i, i + len(parts))
            if typed[i : i + len(parts)] == parts and not any(j in fixed for j in span):
                fixed.update(zip(span, spelled, strict=True))
    return fixed


class LexicalIndex:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        migrate(self.conn)

    def add(self, conn: sqlite3.Connection, chunks: Sequence[StoredChunk], title: str) -> None:
        """Index passages; call inside the store's transaction that inserted them."""
        self.add_many(conn, [(chunks, title)])

    def add_many(
        self, conn: sqlite3.Connection, articles: Sequence[tuple[Sequence[StoredChunk], str]]
    ) -> None:
        """Index the passages of several articles (each with its title) in one go: the term
        counts of a batch are summed before they are written, so a common term is one update."""
        rows = []
        # Passages holding each term, counted as the rows are made: they move in the same
        # transaction (the delete trigger takes them back).
        in_exact: Counter[str] = Counter()
        in_folded: Counter[str] = Counter()
        for chunks, title in articles:
            title_exact, title_folded = index_terms(title)
            for c in chunks:
                exact, folded = _index_tokens(c.text)
                in_exact.update(set(exact))
                in_folded.update(set(folded))
                rows.append((c.id, " ".join(exact), " ".join(folded), title_exact, title_folded))
        conn.executemany(
            "INSERT INTO lexical(rowid, exact, folded, title_exact, title_folded) "
            "VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        conn.executemany(
            "INSERT INTO lexical_terms(col, term, doc) VALUES (?, ?, ?) "
            "ON CONFLICT(col, term) DO UPDATE SET doc = doc + excluded.doc",
            [
                ("*", "*", len(rows)),
                *(("exact", term, n) for term, n in in_exact.items()),
                *(("folded", term, n) for term, n in in_folded.items()),
            ],
        )

    def count(self) -> int:
        """Indexed passages, from the maintained statistics (``COUNT(*)`` on an FTS5 table
        reads the whole index)."""
        return self.doc_freqs(["*"], "*")["*"]

    def index_rows(self) -> int:
        """Rows really in the FTS table (slow on big indexes): for consistency checks."""
        return self._scalar("SELECT COUNT(*) FROM lexical")

    def term_stat_errors(self) -> int:
        """Terms whose maintained count differs from the FTS index's own (slow: for checks)."""
        row = self.conn.execute(
            "SELECT COUNT(*) FROM (SELECT col, term, doc FROM lexical_vocab "
            "WHERE col IN ('exact', 'folded') "
            "EXCEPT SELECT col, term, doc FROM lexical_terms WHERE col != '*' AND doc > 0)"
        ).fetchone()
        stray = self.conn.execute(
            "SELECT COUNT(*) FROM lexical_terms t WHERE col != '*' AND doc > 0 AND NOT EXISTS "
            "(SELECT 1 FROM lexical_vocab v WHERE v.col = t.col AND v.term = t.term)"
        ).fetchone()
        passages = int(self.count() != self.index_rows())
        return int(row[0]) + int(stray[0]) + passages

    def rebuild_term_stats(self, conn: sqlite3.Connection) -> None:
        """Recount every term from the FTS index; call inside a transaction (repair)."""
        conn.execute("DELETE FROM lexical_terms")
        conn.execute(
            "INSERT INTO lexical_terms(col, term, doc) SELECT col, term, doc FROM lexical_vocab "
            "WHERE col IN ('exact', 'folded')"
        )
        conn.execute(
            "INSERT INTO lexical_terms(col, term, doc) SELECT '*', '*', COUNT(*) FROM lexical"
        )

    def _scalar(self, sql: str, params: Sequence[object] = ()) -> int:
        row = self.conn.execute(sql, params).fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def doc_freqs(self, terms: Collection[str], column: str = "folded") -> dict[str, int]:
        """How many passages contain each term: the answerer's notion of a term's weight.
        Read from the maintained statistics, so another process's writes count at once."""
        wanted = list(dict.fromkeys(terms))
        found: dict[str, int] = {}
        for i in range(0, len(wanted), 500):  # under SQLite's bound-parameter limit
            part = wanted[i : i + 500]
            found.update(
                self.conn.execute(
                    "SELECT term, doc FROM lexical_terms WHERE col = ? "
                    f"AND term IN ({','.join('?' * len(part))})",
                    [column, *part],
                )
            )
        return {term: max(found.get(term, 0), 0) for term in wanted}

    def restore_diacritics(self, text: str) -> str | None:
        """``text`` (typed without diacritics) as most likely meant, read with the corpus's own
        spellings: each word's spellings that the passages hold, chosen so that neighbouring
        words make the pairs the passages hold most often ("xuan truong" → "xuân trường", not
        "xuân trương"). None when the text has diacritics, is not Vietnamese, or stays as is.
        """
        if is_accented(text):
            return None
        found = list(WORD_RE.finditer(text))
        typed = [m.group().lower() for m in found]
        variants = {t: accent_variants(t) for t in typed}
        fixed = _question_words(typed)
        freqs = self.doc_freqs({v for vs in variants.values() for v in vs}, "exact")
        forms: list[list[str]] = []
        known = letters = 0
        for i, word in enumerate(typed):
            held = sorted((v for v in variants[word] if freqs.get(v)), key=lambda v: -freqs[v])
            if word.isalpha():
                letters += 1
                known += bool(held) or i in fixed
            forms.append([fixed[i]] if i in fixed else held[:RESTORE_FORMS] or [word])
        if not letters or known < RESTORE_MIN_KNOWN * letters:
            return None
        pair_freqs = self.doc_freqs(
            {f"{a}_{b}" for left, right in itertools.pairwise(forms) for a in left for b in right},
            "exact",
        )
        # Best path through the spellings: a word's own frequency counts a little, the pairs
        # it makes with its neighbours most.
        passages = max(1, self.count())

        def joined(a: str, b: str) -> float:
            # How often the pair is written, and how much more often than chance: two common
            # words meet often by chance alone, the two halves of a name rarely apart.
            n = pair_freqs.get(f"{a}_{b}", 0)
            if not n:
                return 0.0
            chance = max(1, freqs.get(a, 1)) * max(1, freqs.get(b, 1)) / passages
            return math.log1p(n) + max(0.0, math.log(n / chance))

        best = {f: math.log1p(freqs.get(f, 0)) for f in forms[0]}
        back: list[dict[str, str]] = []
        for right in forms[1:]:
            step: dict[str, float] = {}
            came: dict[str, str] = {}
            for b in right:
                via = {a: score + PAIR_WEIGHT * joined(a, b) for a, score in best.items()}
                came[b] = max(via, key=lambda a: via[a])
                step[b] = via[came[b]] + math.log1p(freqs.get(b, 0))
            best = step
            back.append(came)
        chosen = [max(best, key=lambda f: best[f])]
        for came in reversed(back):
            chosen.append(came[chosen[-1]])
        chosen.reverse()
        pieces: list[str] = []
        at = 0
        for match, form, word in zip(found, chosen, typed, strict=True):
            if form == word:
                written = match.group()  # as typed: "THPT" stays "THPT"
            else:
                written = form.capitalize() if match.group()[:1].isupper() else form
            pieces += [text[at : match.start()], written]
            at = match.end()
        restored = "".join(pieces) + text[at:]
        return restored if restored != text else None

    def _prune(self, terms: list[str], column: str) -> list[str]:
        """On a large index, keep the rarest terms up to a budget of postings.

        Gathering reads every row that matches a kept term, so a term found in a fifth of all
        passages ("huyện_ủy", "đảng_viên") costs far more than it adds: its BM25 weight is
        small, and it still counts when the pool is ranked. The rarest terms are always kept,
        so a question of common words still matches.
        """
        total = self.count()
        if total < PRUNE_MIN_PASSAGES or not terms:
            return terms
        freqs = self.doc_freqs(terms, column)
        present = sorted((t for t in terms if freqs[t] > 0), key=lambda t: freqs[t])
        keep: list[str] = []
        postings = 0
        for term in present:
            postings += freqs[term]
            if len(keep) >= MIN_TERMS and postings > min(POSTINGS_BUDGET * total, MAX_POSTINGS):
                break
            keep.append(term)
        return keep

    def _plan(self, question: str) -> _Plan | None:
        """The FTS5 query to run, its column weights and, on a large index, the kept terms
        that gather the pool and every term of the question by column for ranking it."""
        exact_terms, folded_terms = query_terms(question)
        if not folded_terms:
            return None
        if not is_accented(question):
            weights = (0.0, 1.0, 0.0, 0.4)
            folded = self._prune(folded_terms, "folded")
            if not folded:
                return None
            match = f"{{folded title_folded}} : ({_or(folded)})"
            if self.count() < PRUNE_MIN_PASSAGES:
                return _Plan(match, weights, None)
            return _Plan(match, weights, {"folded": folded_terms}, {"folded": folded})
        if self.count() >= PRUNE_MIN_PASSAGES:
            # Large index: the exact form decides; the folded form only stands in for words
            # the articles never spell the way the question does.
            exact = self._prune(exact_terms, "exact")
            freqs = self.doc_freqs(exact_terms, "exact")
            missing = {fold(t) for t in exact_terms if freqs[t] == 0}
            folded = self._prune([t for t in folded_terms if t in missing], "folded")
            parts = []
            if exact:
                parts.append(f"{{exact title_exact}} : ({_or(exact)})")
            if folded:
                parts.append(f"{{folded title_folded}} : ({_or(folded)})")
            if not parts:
                return None
            full = {"exact": exact_terms, "folded": [t for t in folded_terms if t in missing]}
            kept = {"exact": exact, "folded": folded}
            return _Plan(" OR ".join(parts), (1.0, 0.35, 0.4, 0.15), full, kept)
        match = (
            f"{{exact title_exact}} : ({_or(exact_terms)}) OR "
            f"{{folded title_folded}} : ({_or(folded_terms)})"
        )
        return _Plan(match, (1.0, 0.35, 0.4, 0.15), None)

    def articles_mentioning(self, name: str, article_ids: Collection[str]) -> set[str]:
        """Which of these articles contain a folded name ("lai chau") anywhere, title included:
        a passage may give a place's figure without naming the place its article is about."""
        syllables = name.split()
        ids = list(article_ids)
        if not syllables or not ids:
            return set()
        # The name as the index holds it: one syllable, or every pair of neighbouring ones.
        pairs = [f"{a}_{b}" for a, b in itertools.pairwise(syllables)]
        terms = pairs or syllables
        match = f"{{folded title_folded}} : ({' AND '.join(_quoted(t) for t in terms)})"
        if min(self.doc_freqs(terms).values()) <= _POSTINGS_PER_RANGE * len(ids):
            # A rare name: walk its postings (a few hundred rows) and keep the asked articles.
            rows = self.conn.execute(
                "SELECT DISTINCT c.article_id FROM lexical JOIN chunks c ON c.id = lexical.rowid "
                f"WHERE lexical MATCH ? AND c.article_id IN ({','.join('?' * len(ids))})",
                [match, *ids],
            )
            return {str(row[0]) for row in rows}
        # A common one ("thuong" is in 20,000 passages at 100k: 250 ms that way): look inside
        # each article's range of row ids, which FTS5 seeks to instead of reading the postings.
        ranges = self.conn.execute(
            "SELECT article_id, MIN(id), MAX(id) FROM chunks "
            f"WHERE article_id IN ({','.join('?' * len(ids))}) GROUP BY article_id",
            ids,
        ).fetchall()
        found: set[str] = set()
        for article_id, low, high in ranges:
            hit = self.conn.execute(
                "SELECT 1 FROM lexical JOIN chunks c ON c.id = lexical.rowid WHERE lexical "
                "MATCH ? AND lexical.rowid BETWEEN ? AND ? AND c.article_id = ? LIMIT 1",
                [match, low, high, article_id],
            ).fetchone()
            if hit is not None:
                found.add(str(article_id))
        return found

    def search(
        self, question: str, k: int = 10, article_ids: Collection[str] | None = None
    ) -> list[LexicalHit]:
        plan = self._plan(question)
        if plan is None:
            return []
        if plan.kept is not None and article_ids is None:
            return self._rescore(self._gather(plan.kept, max(k, RESCORE_POOL)), plan, k)
        match, weights = plan.match, plan.weights
        params: list[object] = [*weights, match]
        if article_ids is None:
            # Rank inside FTS5 and look up only the k best rows: joining first would fetch the
            # passage row of every match (10,000 at 100k passages) before sorting.
            sql = (
                "SELECT c.chunk_id, r.rank FROM (SELECT rowid, bm25(lexical, ?, ?, ?, ?) AS rank "
                "FROM lexical WHERE lexical MATCH ? ORDER BY rank LIMIT ?) r "
                "JOIN chunks c ON c.id = r.rowid ORDER BY r.rank"
            )
        else:
            ids = list(article_ids)
            if not ids:
                return []
            sql = (
                "SELECT c.chunk_id, bm25(lexical, ?, ?, ?, ?) AS rank FROM lexical "
                "JOIN chunks c ON c.id = lexical.rowid WHERE lexical MATCH ? "
                f"AND c.article_id IN ({','.join('?' * len(ids))}) ORDER BY rank LIMIT ?"
            )
            params.extend(ids)
        if plan.full is None:
            params.append(k)
            return [LexicalHit(row[0], -float(row[1])) for row in self.conn.execute(sql, params)]
        sql = sql.replace("SELECT c.chunk_id,", "SELECT c.chunk_id, c.id,", 1)
        params.append(max(k, RESCORE_POOL))
        pool = [(str(row[0]), int(row[1])) for row in self.conn.execute(sql, params)]
        return self._rescore(pool, plan, k)

    def _gather(self, kept: dict[str, list[str]], limit: int) -> list[tuple[str, int]]:
        """(chunk id, rowid) of the ``limit`` passages holding the most weight (IDF summed) of
        the kept terms, a stand-in for BM25 that ``_rescore`` corrects.

        ``bm25()`` reads the positions of every matched row (~2 us each, 10,000 rows at 100k);
        a row id per term and posting, summed in SQLite, costs a third of that.
        """
        total = max(1, self.count())
        selects: list[str] = []
        params: list[object] = []
        for group, terms in kept.items():
            columns = "{exact title_exact}" if group == "exact" else "{folded title_folded}"
            for term, n in self.doc_freqs(terms, group).items():
                if n:
                    selects.append("SELECT rowid, ? AS w FROM lexical WHERE lexical MATCH ?")
                    params += [_idf(total, n), f"{columns} : {_quoted(term)}"]
        if not selects:
            return []
        sql = (
            "SELECT c.chunk_id, c.id FROM (SELECT rowid, SUM(w) AS s FROM "
            f"({' UNION ALL '.join(selects)}) GROUP BY rowid ORDER BY s DESC, rowid LIMIT ?) r "
            "JOIN chunks c ON c.id = r.rowid ORDER BY r.s DESC, r.rowid"
        )
        return [(str(row[0]), int(row[1])) for row in self.conn.execute(sql, [*params, limit])]

    def _rescore(self, pool: list[tuple[str, int]], plan: _Plan, k: int) -> list[LexicalHit]:
        """BM25 as FTS5 computes it, over every term of the question, for the pool's passages
        (their indexed terms read back by rowid, the terms' passage counts maintained)."""
        if not pool or plan.full is None:
            return []
        total = max(1, self.count())
        # Per column group ("exact": body and title columns 0 and 2, "folded": 1 and 3), the
        # IDF of each of the question's terms the index holds.
        groups: list[tuple[int, int, dict[str, float]]] = []
        for group, terms in plan.full.items():
            idf = {term: _idf(total, n) for term, n in self.doc_freqs(terms, group).items() if n}
            if idf:
                groups.append((0, 2, idf) if group == "exact" else (1, 3, idf))
        if not groups:
            return []
        rowids = [rowid for _, rowid in pool]
        wanted = sorted({c for body, title, _ in groups for c in (body, title)})
        contents = {
            int(row[0]): row[1:]
            for row in self.conn.execute(
                f"SELECT rowid, {', '.join(_COLUMNS[c] for c in wanted)} FROM lexical "
                f"WHERE rowid IN ({','.join('?' * len(rowids))})",
                rowids,
            )
        }
        position = {c: i for i, c in enumerate(wanted)}
        w = plan.weights
        # Only the question's terms are counted; a passage's length still counts all its terms.
        asked = {term for _, _, idf in groups for term in idf}
        docs: list[tuple[str, int, dict[int, Counter[str]]]] = []
        for chunk_id, rowid in pool:
            columns = contents.get(rowid)
            if columns is None:
                continue
            length = 0
            counts: dict[int, Counter[str]] = {}
            for c in wanted:
                tokens = str(columns[position[c]] or "").split()
                length += len(tokens)
                counts[c] = Counter([t for t in tokens if t in asked])
            docs.append((chunk_id, length, counts))
        if not docs:
            return []
        average = sum(length for _, length, _ in docs) / len(docs) or 1.0
        scored: list[LexicalHit] = []
        for chunk_id, length, counts in docs:
            norm = _K1 * (1 - _B + _B * length / average)
            score = 0.0
            for body, title, idf in groups:
                in_body, in_title = counts[body], counts[title]
                for word, weight in idf.items():
                    tf = w[body] * in_body.get(word, 0) + w[title] * in_title.get(word, 0)
                    if tf:
                        score += weight * tf * (_K1 + 1) / (tf + norm)
            scored.append(LexicalHit(chunk_id, score))
        scored.sort(key=lambda h: -h.score)
        return scored[:k]


def _idf(total: int, n: int) -> float:
    """FTS5's BM25 IDF of a term found in ``n`` of ``total`` passages (never below 1e-6)."""
    return max(1e-6, math.log((total - n + 0.5) / (n + 0.5)))
