"""The Vietnamese (and English) words tinbot reads meaning from, as data in one place.

Every consumer — question analysis, the answer ranker's features, fact extraction, the composer —
reads its cues from these tables instead of keeping a list of its own. Cues are written folded
(no diacritics, đ→d) unless a table says otherwise, because questions often arrive without accents.
Nothing here names a particular article's places or people: the tables describe the language of
party-building reports in general, so they hold for articles nobody has read yet.

The module is long because it is word tables, not logic: they are kept together so the cues are
tuned in one place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# --- administrative levels and organisations --------------------------------------------------

# Levels a fact's place is named with, as written (longest first): those ``ingest.facts`` reads.
FACT_PLACE_LEVELS: tuple[str, ...] = (
    "Khối các cơ quan tỉnh",
    "Khối doanh nghiệp tỉnh",
    "thành phố",
    "thị xã",
    "thị trấn",
    "huyện",
    "quận",
    "tỉnh",
    "phường",
    "xã",
)
# How wide each of those levels is (0 = a commune), to tell the unit a question asks about from
# its parent: "huyện Thới Lai (TP Cần Thơ)". A "thành phố" is a district's town or a city of
# province rank, so it sits between the two.
PLACE_LEVEL_RANK: dict[str, float] = {
    "xã": 0, "phường": 0, "thị trấn": 0,
    "huyện": 1, "quận": 1, "thị xã": 1, "Khối các cơ quan tỉnh": 1, "Khối doanh nghiệp tỉnh": 1,
    "thành phố": 1.5, "TP": 1.5,
    "tỉnh": 2,
    # the committees, named after their place: "Huyện ủy Tuần Giáo"
    "xã ủy": 0, "huyện ủy": 1, "quận ủy": 1, "thị ủy": 1, "thành ủy": 1.5, "tỉnh ủy": 2,
}  # fmt: skip
# Words that introduce a place's name, as written (longest first where one contains another):
# the fact levels and the villages below a commune, which facts do not resolve to.
LEVEL_WORDS: tuple[str, ...] = (
    *FACT_PLACE_LEVELS,
    "thôn",
    "bản",
    "làng",
    "ấp",
    "buôn",
    "bon",
    "xóm",
    "tổ dân phố",
)
# Kinds of organisation written before their names ("Trường Đại học Hùng Vương", "Công ty
# Ngân Long"): in a question they belong to the name, not to what it asks about the organisation.
ORG_KINDS: tuple[str, ...] = (
    "trường đại học",
    "trường cao đẳng",
    "trường trung học phổ thông",
    "trường thpt",
    "trường thcs",
    "trường chính trị",
    "trường",
    "đại học",
    "học viện",
    "công ty",
    "tập đoàn",
    "bệnh viện",
    "ngân hàng",
)
# Level words that, typed without accents or capitals, still name a place ("tinh quang ngai"),
# and the syllables that cannot start the name after one (besides the stopwords): the words a
# question goes on with ("xa da kết nạp"), and those making a common word with the level ("tình
# hình", "phương án", "xã hội", "tỉnh giao").
TYPED_PLACE_LEVELS: tuple[str, ...] = (
    "thanh pho",
    "thi xa",
    "thi tran",
    "huyen",
    "tinh",
    "phuong",
    "xa",
    "tp",
)
NOT_TYPED_NAME_START: frozenset[str] = frozenset(
    "ket nap dang vien chi bo uy nam hoi hinh phap an than thuc huong tien hanh doi dan "
    "giao".split()
)
# How a report says a figure is the whole country's ("Trên phạm vi cả nước, …", "toàn Đảng kết
# nạp …"), lower-case; such a figure's place is ``NATIONAL``, not the article's.
NATIONAL_SCOPES: tuple[str, ...] = ("cả nước", "toàn quốc", "toàn đảng")
NATIONAL = "cả nước"
# Capitalised words (lower-cased, with accents) that after a level word never start a place's
# name ("Đảng bộ tỉnh Đảng …"), and those that start the name of an organ instead unless the next
# syllable is capitalised too: "huyện Đại hội" is not a place, "huyện Đại Lộc" and "TP. Nhà Bè" are.
NOT_PLACE_NAMES: frozenset[str] = frozenset({"đảng", "ủy", "uỷ"})
ORGAN_WORDS: frozenset[str] = frozenset("nhà nước ban nghị quyết đại hội".split())
# Folded words before a capitalised name that make it a place or an organisation, not a person.
PLACE_CUES: frozenset[str] = frozenset(
    """
    huyen xa tinh thanh pho tp thi xa thi tran quan phuong thon ban lang ap buon bon xom khoi
    to truong cong ty tap doan chi bo dang bo dang uy huyen uy tinh uy thanh uy thi uy quan uy
    vung mien dao song nui tai o ve tu den
    """.split()
)

# --- people ------------------------------------------------------------------------------------

# Words right before a person's name ("đồng chí Vũ Văn Tuân", "chị Đặng Thị Hoa"), lower-case
# with diacritics: folded, "bác" would be "Bắc" (Giang) and "cô" "có".
PERSON_CUES: frozenset[str] = frozenset(
    """
    đồng_chí đ/c ông bà anh chị em cô thầy chú bác cháu bạn già
    """.split()
)
# Common Vietnamese family names, lower-case with diacritics: folded, "Đặng" would be "Đảng" (the
# Party: "Đảng Cộng sản" read as a name) and "Đoàn" "Doan". Text without diacritics (a question
# typed without them) is matched against their folded forms.
SURNAMES: frozenset[str] = frozenset(
    """
    nguyễn trần lê phạm hoàng huỳnh phan vũ võ đặng bùi đỗ hồ ngô dương lý lộc lương lâm mai
    trịnh đinh đoàn cao chu la lã hà kiều tăng thái tống quách vương tạ lưu giang lại mạc nông
    thạch sơn lò hứa châu tôn khúc giáp bạch an kim sùng vàng thào mùa y h
    """.split()
)
# --- documents ---------------------------------------------------------------------------------

# "20-ĐA/TU", "722-CV/HU", "05-NQ/TU", "Quy định số 123-QĐ/TW", "Nghị quyết 28".
DOCUMENT_CODE_RE = re.compile(r"\b\d{1,5}\s*[-–]\s*[A-ZĐ]{1,5}(?:/[A-ZĐ0-9]{1,6})+")
DOCUMENT_NAME_RE = re.compile(
    r"\b(?:Nghị quyết|Chỉ thị|Quyết định|Kết luận|Quy định|Đề án|Công văn|Kế hoạch|Hướng dẫn)"
    r"\s+(?:số\s+)?\d{1,5}\b"
)
DOCUMENT_RE = re.compile(f"{DOCUMENT_CODE_RE.pattern}|{DOCUMENT_NAME_RE.pattern}")
# A document with the date it was issued ("Quy định số 126-QĐ/TW, ngày 28/2/2018"): that year
# dates the document, not the period a sentence reports on.
DOCUMENT_DATED_RE = re.compile(
    rf"(?:{DOCUMENT_RE.pattern})(?:\s*\([^)]{{0,40}}\))?\s*,?\s*(?:ngày\s+)?"
    r"\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*(?:19|20)\d\d"
)

# --- abbreviations -----------------------------------------------------------------------------

# Abbreviations that reports write for words a question spells out ("13 ĐV mới" for "bao nhiêu
# đảng viên mới"): read as those words when a sentence is matched against a question. ("%" is
# not spelled out: "phần trăm" in a question asks for a share, which the answer type covers, and
# spelling it out made every sentence with a share look like the answer.)
SPELLED_OUT: dict[str, str] = {
    "ĐV": "đảng viên",
    "TCCS": "tổ chức cơ sở",
    "QCƯT": "quần chúng ưu tú",
    "DTTS": "dân tộc thiểu số",
    "HĐND": "hội đồng nhân dân",
    "UBND": "ủy ban nhân dân",
}
SPELLED_OUT_RE = re.compile(rf"(?<!\w)(?:{'|'.join(map(re.escape, SPELLED_OUT))})(?!\w)")

# --- what a question asks for ------------------------------------------------------------------

# Capitalised words that start a Vietnamese question or are generic titles, not places or names
# (as written; compared by ``ingest.vietnamese.key``).
QUESTION_GENERIC_WORDS: tuple[str, ...] = tuple(
    """
    Ai Nhiêu Có Các Những Tỷ Tỉ Năm Trong Từ Đến Theo Số Mỗi Tính Sau Khi Ở Tại Liệt Kê So
    Sánh Bài Viết Nơi Nào Là Gì Đảng Đảng bộ Đảng ủy Huyện Huyện ủy Quận Quận ủy Thị ủy Thành
    Thành ủy Thành phố Tỉnh Tỉnh ủy Ban No Nghị quyết Đại hội Khối Chi bộ Phường Xã TP How What
    Which Who When Where Why Did Does Do Is Are In The Of Party District City Province Ward Bí
    thư Bí Thư Trưởng Phó Ủy Hội Nghị Quyết Đại Giá Hôm Nay Còn Thì Sao Vậy Hiện Tổng January
    February March April May June July August September October November December Hamlet
    Commune Committee Trường Công ty Tập đoàn Lớp Lễ Chi đoàn Đoàn
    """.split()
)
# Words besides the administrative levels that name a place's level: a place's party committee
# ("Thành ủy Hà Nội"), in both spellings of "ủy".
PARTY_LEVELS: tuple[str, ...] = (
    "tp",
    "thành phố",
    "tỉnh ủy",
    "huyện ủy",
    "quận ủy",
    "thị ủy",
    "thành ủy",
    "tỉnh uỷ",
    "huyện uỷ",
    "quận uỷ",
    "thị uỷ",
    "thành uỷ",
)
# Folded words that end the counted noun after "bao nhiêu / mấy / số": those that cannot be it
# ("bao nhiêu người là …") and those the question goes on with past it ("thôn chưa có", "số mấy
# về …", "tiền một lít"). None is counted when one comes first.
COUNTED_NOUN_ENDS: frozenset[str] = frozenset(
    "nguoi la co duoc thi vao cua trong o the did do does ve de voi chua cho tai tren mot "
    "of".split()
)
# Where students are "sinh viên" (folded): the glossary renders English "students" as both.
HIGHER_EDUCATION: tuple[str, ...] = ("dai hoc", "cao dang")
# Folded words that cannot make the focus a "… gì / nào" question asks about.
FOCUS_STOP: frozenset[str] = frozenset("la the nhu ra lam co duoc bang vao cua voi cho".split())
# Folded words near a question word that are not what it asks for.
NOT_COUNTED: frozenset[str] = frozenset(("%", "phan", "percent", "nam", "so", "year"))
# The question words (folded, pairs joined by "_") around which a question's slot is read.
SLOT_QUESTION_WORDS: frozenset[str] = frozenset(
    "bao_nhieu may ai gi nao dau sao the_nao how_many how_much who what which when where "
    "why".split()
)


# Answer types a question can ask for, each with the folded cues that mark it. Checked in this
# order; a question may ask for several ("bao nhiêu … đạt bao nhiêu %").
# How the question words are written, for a question typed without diacritics: articles state
# answers, so the corpus rarely holds "bao nhiêu" or "thế nào" and cannot tell their spelling.
QUESTION_WORDS: dict[str, str] = {
    "bao nhieu": "bao nhiêu", "may": "mấy", "phan tram": "phần trăm", "the nao": "thế nào",
    "ra sao": "ra sao", "la gi": "là gì", "lam gi": "làm gì", "nhung gi": "những gì",
    "nao": "nào", "o dau": "ở đâu", "bao gio": "bao giờ", "khi nao": "khi nào",
    "tai sao": "tại sao", "vi sao": "vì sao", "khong": "không",
}  # fmt: skip
ANSWER_TYPE_CUES: dict[str, tuple[str, ...]] = {
    "share": (
        "ty le",
        "ti le",
        "phan tram",
        "bao nhieu %",
        "percent",
        "percentage",
        "what share",
        "what proportion",
        "proportion",
    ),
    "date": (
        "ngay nao",
        "ngay may",
        "khi nao",
        "bao gio",
        "luc nao",
        "thoi gian nao",
        "thang nao",
        "tu ngay",
        "den ngay nao",
        "when",
        "what date",
        "which date",
        "what day",
    ),
    "year": ("nam nao", "nam bao nhieu", "what year", "which year", "since when"),
    "person": (" ai ", "la ai", "nhung ai", "who ", "whom", "who's", "whose"),
    "document": (
        "so may",
        "so bao nhieu",
        "so hieu",
        "so nao",
        "which resolution",
        "which directive",
        "which project",
        "document number",
        "what number",
        "which document",
    ),
    "place": (
        "o dau",
        "tai dau",
        "dia diem",
        "noi nao",
        "where",
        "which venue",
        "truc thuoc",
        "thuoc dang bo nao",
    ),
    "name": (
        "ten goi",
        "ten la gi",
        "ten gi",
        "goi la gi",
        "goi tat",
        "what is the name",
        "what is it called",
        "called",
        "nhung xa nao",
        "nhung don vi nao",
        "dang bo nao",
        "don vi nao",
        "truong nao",
        "which unit",
        "which units",
    ),
    "count": (
        "bao nhieu",
        "may ",
        "so luong",
        "tong so",
        "how many",
        "how much",
        "number of",
        "tong cong",
        "cong lai",
    ),
    "practice": (
        "the nao",
        "nhu the nao",
        "lam gi",
        "lam the nao",
        "bang cach nao",
        "cach nao",
        "cach lam",
        "giai phap",
        "bien phap",
        "kho khan",
        "han che",
        "vuong mac",
        "tro ngai",
        "nguyen nhan",
        "vi sao",
        "tai sao",
        "de lam gi",
        "nham muc dich gi",
        "muc dich",
        "y nghia",
        "vai tro",
        "doi tuong nao",
        "nhung doi tuong",
        "nhung gi",
        "noi dung gi",
        "nhung noi dung",
        "dia ban nao",
        "nhung dia ban",
        "chu trong",
        "uu tien",
        "tap trung",
        "kinh nghiem",
        "bai hoc",
        "mo hinh",
        "how did",
        "how does",
        "how do",
        "how is",
        "how are",
        "how was",
        "how were",
        "what measures",
        "what steps",
        "what did",
        "what does",
        "what do",
        "what are",
        "what were",
        "why",
        "what difficulties",
        "what challenges",
        "what solutions",
        "which groups",
    ),
}
# Words that make a question ask about a plan or quota, not results.
TARGET_CUES: tuple[str, ...] = (
    "muc tieu",
    "chi tieu",
    "phan dau",
    "ke hoach",
    "du kien",
    "target",
    "goal",
    "plan",
    "quota",
)
# Folded phrases that mark a question asking for a number, and for a share.
FIGURE_MARKERS: tuple[str, ...] = (
    "bao nhieu",
    "ty le",
    "ti le",
    "phan tram",
    "may ",
    "so luong",
    "tong so",
    "how many",
    "how much",
    "what percentage",
    "what share",
    "percent",
)
PERCENT_MARKERS: tuple[str, ...] = (
    "ty le",
    "ti le",
    "phan tram",
    "percent",
    "percentage",
    "share",
    "rate",
    "%",
)
# "đạt/vượt chỉ tiêu" asks for a result, "đặt mục tiêu" for a target: both fold to "dat", so an
# accented question is read with its accents.
# A share of the plan ("đạt bao nhiêu % chỉ tiêu", "vượt 100% kế hoạch") is a result too;
# folded, "dat" is also "đặt" (to set a plan), so only a share or "vượt" marks one.
ACHIEVED_ACCENTED_RE = re.compile(
    r"\b(?:vượt|đạt)\s+(?:[\w%,.]+\s*){0,4}?(?:chỉ tiêu|kế hoạch|mục tiêu)\b"
)
ACHIEVED_FOLDED_RE = re.compile(
    r"\bvuot (?:\w+ ){0,3}(?:chi tieu|ke hoach|muc tieu)\b"
    r"|\b(?:dat|vuot) (?:\w+ ){0,3}?(?:phan tram|%) (?:\w+ ){0,2}?(?:chi tieu|ke hoach|muc tieu)\b"
)
# Words that mark a sentence's figure as a plan or quota rather than a result.
TARGET_SENTENCE_RE = re.compile(
    r"\b(?:(?:dat ra|de ra|giao|dat) (?:muc tieu|chi tieu)|muc tieu|chi tieu|phan dau|du kien"
    r"|ke hoach (?:de ra|dat ra)|nghi quyet de ra|phai dat|it nhat)\b"
)
PER_YEAR_CUES: tuple[str, ...] = (
    "moi nam",
    "hang nam",
    "binh quan",
    "per year",
    "each year",
    "a year",
)

# What a figure question counts, for the fact table: (folded pattern, kind of figure), the first
# that matches wins; kinds are the keys of ``ingest.facts.KINDS``.
KIND_CUES: tuple[tuple[str, str], ...] = (
    (
        r"\bvuot (?:\d+ )?(?:chi tieu|ke hoach)|\b(?:phan tram|ty le|ti le) (?:\w+ ){0,3}chi tieu",
        "ty_le_dat_chi_tieu",
    ),
    (
        r"\bchi tieu\b.*\b(?:phan tram|ty le)\b|\bdat (?:bao nhieu|may) phan tram\b",
        "ty_le_dat_chi_tieu",
    ),
    (r"\blop\b", "lop_boi_duong"),
    (r"\bchua co chi bo\b|\b(?:thon|ban) chua\b|\bsinh hoat ghep\b", "thon_ban"),
    (r"\bchi bo doc lap\b|\bchi bo thon\b|\bchi bo\b", "chi_bo"),
    (r"\bto chuc co so\b|\btccs|\bto chuc dang\b|\bdang bo co so\b", "to_chuc_dang"),
    (r"\bxuat sac\b", "xuat_sac"),
    (r"\bhoan thanh tot\b", "hoan_thanh_tot"),
    (r"\bdu bi\b.*\bchinh thuc\b|\bchuyen chinh thuc\b", "chuyen_chinh_thuc"),
    (r"\bchuyen sinh hoat\b", "chuyen_sinh_hoat"),
    (r"\bcan bo\b|\bcong chuc\b", "can_bo"),
    (r"\bket nap\b|\bdang vien moi\b|\bphat trien dang vien\b|\bquan chung uu tu\b", "ket_nap"),
    (r"\bdang vien\b", "tong_dang_vien"),
)
# Which part of those counted a question asks about: (folded pattern, segment).
SEGMENT_CUES: tuple[tuple[str, str], ...] = (
    (r"\bdoan vien\b", "doan_vien"),
    (r"\bdan toc\b", "dan_toc_thieu_so"),
    (r"\bco dao\b|\bton giao\b", "co_dao"),
    (r"\btai cho\b", "tai_cho"),
    # Not "đại học" or "trung học" alone: those name schools ("Trường Đại học Cần Thơ").
    (r"\btrinh do\b|\bhoc van\b|\b(?:dai hoc|cao dang|thac si) tro len\b", "trinh_do"),
    (r"\bnu\b", "nu"),
)

# How a comparison or a total is worded around its places, as written with accents (a question
# typed without them is read with their folded forms): the words joining two places ("A và B",
# "A hay B"), those opening the question ("So sánh …", "Cộng lại, …"), the comparatives before
# "hơn", the words of a measure ("bao nhiêu", "số"), those asking which place ("nơi nào") and
# those opening the closing clause ("…, tổng cộng là bao nhiêu?").
PLACE_JOINS: tuple[str, ...] = ("và", "với", "so với", "còn", "hay", "hoặc")
MULTI_LEADS: tuple[str, ...] = ("so sánh", "cộng cả", "cộng lại", "cộng", "tính tổng")
COMPARATIVES: tuple[str, ...] = ("nhiều", "ít", "cao", "thấp", "lớn", "nhỏ")
FIGURE_WORDS: tuple[str, ...] = ("bao nhiêu", "mấy", "tỷ lệ", "tỉ lệ")
MEASURE_WORDS: tuple[str, ...] = (*FIGURE_WORDS, "số")
WHICH_PLACE: tuple[str, ...] = ("nơi nào", "bên nào", "địa phương nào", "đơn vị nào")
CLOSING_WORDS: tuple[str, ...] = ("tổng cộng", "cộng lại", "thì")
# Words between a place's name and what came before it: "… ở", "… của Đảng bộ".
LOCATIVES: tuple[str, ...] = ("ở", "của", "tại")
PARTY_UNITS: tuple[str, ...] = ("đảng bộ", "đảng ủy", "đảng uỷ")

# --- follow-up questions -----------------------------------------------------------------------

# A short question that varies the previous one ("còn năm 2023 thì sao?", "ở Lai Châu thì
# sao?"), folded word by word: strong markers opening it, weak ones closing it, particles closing
# it that mean nothing, and the words and pairs that make a question complete on its own.
FOLLOWUP_OPENINGS: tuple[tuple[str, ...], ...] = (
    ("the", "con"),
    ("vay", "con"),
    ("the", "thi"),
    ("con",),
    ("what", "about"),
    ("how", "about"),
    ("and",),
)
FOLLOWUP_CLOSINGS: tuple[tuple[str, ...], ...] = (
    ("thi", "the", "nao"),
    ("thi", "ra", "sao"),
    ("thi", "sao"),
    ("the", "nao"),
    ("ra", "sao"),
)
FOLLOWUP_PARTICLES: frozenset[str] = frozenset("a nhi vay nua the".split())
SELF_STANDING_WORDS: frozenset[str] = frozenset(
    "gi ai may khong nhieu how what which who why when where".split()
)
SELF_STANDING_PAIRS: frozenset[tuple[str, str]] = frozenset(
    {("bao", "nhieu"), ("nhu", "the"), ("la", "gi"), ("o", "dau")}
)
# Words introducing a follow-up's place ("ở Lai Châu", "in Lai Chau"), folded.
SLOT_LOCATIVES: frozenset[str] = frozenset("o tai in at of cua".split())
# Words around a year in a question, as written with accents (their folded forms are read too):
# before the year itself ("năm 2023"), before a time ("từ năm 2016", "tính đến 2018"), and
# between the two ends of a stretch ("2016 đến 2018").
YEAR_WORDS: tuple[str, ...] = ("trong năm", "năm", "year", "in")
TIME_PREPOSITIONS: tuple[str, ...] = (
    "tính đến",
    "trong",
    "vào",
    "từ",
    "đến",
    "in",
    "since",
    "from",
)
STRETCH_WORDS: tuple[str, ...] = ("đến", "to")
# English words that make the previous question English, so a swapped year reads "in 2023".
FOLLOWUP_ENGLISH: frozenset[str] = frozenset("how what did does many which in".split())

# Folded phrases that make a question about several places a comparison or a total.
COMPARE_CUES: tuple[str, ...] = (
    " so sanh ",
    " nhieu hon ",
    " it hon ",
    " cao hon ",
    " thap hon ",
    " lon hon ",
    " nho hon ",
    " noi nao ",
    " ben nao ",
    " compare ",
    " more ",
    " fewer ",
    " higher ",
    " lower ",
)
TOTAL_CUES: tuple[str, ...] = (
    " tat ca ",
    " cong lai ",
    " cong ca ",
    " cong so ",
    " tong cong ",
    " gop lai ",
    " combined ",
    " in total ",
    " altogether ",
    " add up ",
)

# Counting nouns (folded) that count people. Members: admitted "quần chúng ưu tú" are the new
# members. Recruits: people counted by what they are, who join the Party from among them ("kết
# nạp 5 học sinh", "lên 47 em"). Anyone: "bao nhiêu người", "bao nhiêu học viên".
MEMBER_NOUNS: frozenset[str] = frozenset(
    {"dang vien", "quan chung uu tu", "quan chung", "dong chi"}
)
RECRUIT_NOUNS: frozenset[str] = frozenset({"hoc sinh", "sinh vien", "cong nhan", "em"})
ANY_PERSON_NOUNS: frozenset[str] = frozenset({"nguoi", "hoc vien"})
PERSON_NOUNS: frozenset[str] = (
    MEMBER_NOUNS
    | RECRUIT_NOUNS
    | ANY_PERSON_NOUNS
    | frozenset({"can bo", "dan quan", "chuyen vien", "hoi vien", "doan vien"})
)
# A comparison or a total sets figures side by side only when they count the same thing: those
# of one group, or any people when the question counts people in general.
COUNTED_ALIKE: tuple[frozenset[str], ...] = (MEMBER_NOUNS, frozenset({"hoc sinh", "em"}))

# "Tổng số đảng viên của A và B": a total asked of two places.
TOTAL_OF_BOTH_RE = re.compile(r"\btong so\b.* cua .* va ")
# The opening of an item of a list written as paragraphs: "Thứ nhất, …", "Hai là, …" (not the
# weekday of a dateline, "Thứ Ba, 15/05/2007").
ORDINAL_ITEM_RE = re.compile(
    r"^\s*(?:thứ\s+(?:nhất|hai|ba|tư|năm|sáu|bảy|tám|chín|mười)"
    r"|(?:một|hai|ba|bốn|năm|sáu|bảy|tám|chín|mười)\s+là)\s*[,:](?!\s*\d)",
    re.IGNORECASE,
)
# Questions that ask for every place or article with a figure.
LIST_CUES: tuple[str, ...] = (
    " liet ke ",
    " tung bai ",
    " tung dia phuong ",
    " cac dia phuong ",
    " nhung dia phuong ",
    " dia phuong nao ",
    " nhung noi ",
    " noi nao ",
    " list ",
    " which places ",
)


def alternation(phrases: Iterable[str]) -> str:
    """A regex alternation of these phrases, escaped, longest first: "so với" is tried before
    "so", "trong năm" before "trong"."""
    return "|".join(re.escape(p) for p in sorted(dict.fromkeys(phrases), key=len, reverse=True))


def phrase_re(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """A pattern matching any of these folded phrases as whole words."""
    return re.compile(r"\b(?:" + "|".join(re.escape(p.strip()) for p in phrases) + r")\b")


# --- periods -----------------------------------------------------------------------------------

YEAR_RE = re.compile(r"\b(?:19|20)\d\d\b")
# "2020-2025", "2020 – 2025": a span of years.
YEAR_SPAN_RE = re.compile(r"\b((?:19|20)\d\d)\s*[-–—]\s*((?:19|20)\d\d)\b")
# "từ năm 2017 đến nay": open to the article's date.
SINCE_RE = re.compile(
    r"\btu (?:dau )?(?:nam |nhiem ky |giai doan )?((?:19|20)\d\d)\b.{0,20}?\bnay\b"
)

# --- English → Vietnamese ---------------------------------------------------------------------

# An English question is searched and matched through these Vietnamese terms. Longest phrases
# first (the order they are replaced in); keys are lower-case English.
GLOSSARY: dict[str, str] = dict(
    sorted(
        {
            "new party members": "đảng viên mới",
            "new members": "đảng viên mới",
            "party members": "đảng viên",
            "party member": "đảng viên",
            "party membership": "đảng viên",
            "members": "đảng viên",
            "member": "đảng viên",
            "party cells": "chi bộ",
            "party cell": "chi bộ",
            "cells": "chi bộ",
            "cell": "chi bộ",
            "party committee": "đảng ủy",
            "party committees": "đảng ủy",
            "party organisations": "tổ chức đảng",
            "party organizations": "tổ chức đảng",
            "party organisation": "tổ chức đảng",
            "party organization": "tổ chức đảng",
            "grassroots party organisations": "tổ chức cơ sở đảng",
            "grassroots party organizations": "tổ chức cơ sở đảng",
            "grassroots": "cơ sở",
            "party chapter": "chi bộ",
            "party unit": "đảng bộ",
            "party": "đảng",
            "provincial party committee": "tỉnh ủy",
            "district party committee": "huyện ủy",
            "city party committee": "thành ủy",
            "municipal party committee": "thành ủy",
            "commune party committee": "đảng ủy xã",
            "standing committee": "ban thường vụ",
            "party secretary": "bí thư",
            "secretary": "bí thư",
            "deputy secretary": "phó bí thư",
            "chairman": "chủ tịch",
            "chairwoman": "chủ tịch",
            "chair": "chủ tịch",
            "president": "chủ tịch",
            "head": "trưởng",
            "director": "giám đốc",
            "principal": "hiệu trưởng",
            "ethnic minorities": "dân tộc thiểu số",
            "ethnic minority": "dân tộc thiểu số",
            "ethnic": "dân tộc",
            "minority": "thiểu số",
            "youth union members": "đoàn viên thanh niên",
            "youth union": "đoàn thanh niên",
            "union members": "đoàn viên",
            "trade union": "công đoàn",
            "youth": "thanh niên",
            "young people": "thanh niên",
            "outstanding individuals": "quần chúng ưu tú",
            "outstanding people": "quần chúng ưu tú",
            "outstanding": "ưu tú",
            "elite": "ưu tú",
            "candidates": "đối tượng",
            "candidate": "đối tượng",
            "religious followers": "người có đạo",
            "religious people": "người có đạo",
            "religious": "có đạo",
            "religion": "tôn giáo",
            "followers": "tín đồ",
            "believers": "tín đồ",
            "catholics": "công giáo",
            "catholic": "công giáo",
            "buddhist": "phật giáo",
            "dignitaries": "chức sắc",
            "parishes": "giáo xứ",
            "parish": "giáo xứ",
            "admitted": "kết nạp",
            "admit": "kết nạp",
            "admits": "kết nạp",
            "admitting": "kết nạp",
            "admission": "kết nạp",
            "admissions": "kết nạp",
            "recruited": "kết nạp",
            "recruit": "kết nạp",
            "recruitment": "kết nạp",
            "joined": "vào đảng",
            "join": "vào đảng",
            "inducted": "kết nạp",
            "developed": "phát triển",
            "develop": "phát triển",
            "development": "phát triển",
            "district": "huyện",
            "districts": "huyện",
            "province": "tỉnh",
            "provincial": "tỉnh",
            "provinces": "tỉnh",
            "city": "thành phố",
            "municipal": "thành phố",
            "town": "thị xã",
            "ward": "phường",
            "wards": "phường",
            "commune": "xã",
            "communes": "xã",
            "hamlets": "thôn xóm ấp",
            "hamlet": "thôn xóm ấp",
            "villages": "thôn bản",
            "village": "thôn bản",
            "women": "nữ",
            "woman": "nữ",
            "female": "nữ",
            "target": "chỉ tiêu",
            "targets": "chỉ tiêu",
            "quota": "chỉ tiêu",
            "plan": "kế hoạch",
            "goal": "mục tiêu",
            "aim": "mục tiêu",
            "percentage": "tỷ lệ",
            "percent": "phần trăm",
            "proportion": "tỷ lệ",
            "share": "tỷ lệ",
            "rate": "tỷ lệ",
            "total": "tổng số",
            "in total": "tổng cộng",
            "classes": "lớp",
            "class": "lớp",
            "course": "lớp",
            "courses": "lớp",
            "training": "bồi dưỡng",
            "trained": "bồi dưỡng",
            "awareness": "nhận thức",
            "political theory": "lý luận chính trị",
            "students": "học sinh sinh viên",
            "student": "học sinh sinh viên",
            "pupils": "học sinh",
            "high school": "trường THPT",
            "university": "đại học",
            "teachers": "giáo viên",
            "workers": "công nhân",
            "worker": "công nhân",
            "enterprises": "doanh nghiệp",
            "enterprise": "doanh nghiệp",
            "businesses": "doanh nghiệp",
            "business owners": "chủ doanh nghiệp",
            "companies": "công ty",
            "company": "công ty",
            "private": "tư nhân",
            "non-state": "ngoài nhà nước",
            "state-owned": "nhà nước",
            "cooperatives": "hợp tác xã",
            "cooperative": "hợp tác xã",
            "non-public": "ngoài công lập",
            "units": "đơn vị",
            "unit": "đơn vị",
            "soldiers": "chiến sĩ",
            "soldier": "chiến sĩ",
            "recruits": "tân binh",
            "military service": "nghĩa vụ quân sự",
            "army": "quân đội",
            "enlist": "nhập ngũ",
            "enlisted": "nhập ngũ",
            "enlistment": "nhập ngũ",
            "police": "công an",
            "people": "người",
            "households": "hộ",
            "household": "hộ",
            "population": "dân số",
            "resolution": "nghị quyết",
            "directive": "chỉ thị",
            "decision": "quyết định",
            "project": "đề án",
            "regulation": "quy định",
            "congress": "đại hội",
            "term": "nhiệm kỳ",
            "years": "năm",
            "year": "năm",
            "first half": "6 tháng đầu năm",
            "months": "tháng",
            "month": "tháng",
            "difficulties": "khó khăn",
            "difficulty": "khó khăn",
            "challenges": "khó khăn",
            "obstacles": "trở ngại",
            "limitations": "hạn chế",
            "shortcomings": "hạn chế",
            "solutions": "giải pháp",
            "measures": "giải pháp",
            "source": "nguồn",
            "sources": "nguồn",
            "model": "mô hình",
            "established": "thành lập",
            "set up": "thành lập",
            "founded": "thành lập",
            "merged": "sáp nhập",
            "issued": "ban hành",
            "issue": "ban hành",
            "excellent": "xuất sắc",
            "completed": "hoàn thành",
            "complete": "hoàn thành",
            "finished": "hoàn thành",
            "finish": "hoàn thành",
            "chaired": "chủ trì",
            "presided": "chủ trì",
            "held": "tổ chức",
            "organized": "tổ chức",
            "organised": "tổ chức",
            "early": "đầu",
            "beginning": "đầu",
            "end of": "cuối",
            "late": "cuối",
            "mid": "giữa",
            "among": "trong số",
            "teacher": "giáo viên",
            "protestant": "tin lành",
            "ratio": "tỷ lệ",
            "branch": "chi bộ",
            "branches": "chi bộ",
            "mission": "phái bộ",
            "official": "chính thức",
            "probationary": "dự bị",
            "reviewed": "rà soát",
            "removed": "đưa ra khỏi đảng",
            "expelled": "khai trừ",
            "ceremony": "lễ",
            "opening": "khai giảng",
            "opened": "khai giảng",
            "closing": "bế giảng",
            "attended": "tham gia",
            "participants": "học viên",
            "trainees": "học viên",
            "learners": "học viên",
            "farmers": "nông dân",
            "coffee": "cà phê",
            "universities": "đại học",
            "colleges": "cao đẳng",
            "college": "cao đẳng",
            "schools": "trường",
            "school": "trường",
            "nationwide": "cả nước",
            "whole country": "cả nước",
            "country": "cả nước",
            "annual": "hằng năm",
            "annually": "hằng năm",
            "each year": "mỗi năm",
            "per year": "mỗi năm",
            "aged": "độ tuổi",
            "age": "tuổi",
            "study": "học",
            "studying": "học",
            "live": "sinh sống",
            "living": "sinh sống",
            "registered": "đăng ký",
            "register": "đăng ký",
            "reached": "đạt",
            "reach": "đạt",
            "achieved": "đạt",
            "exceeded": "vượt",
            "since the start of the term": "từ đầu nhiệm kỳ",
            "start of the term": "đầu nhiệm kỳ",
            "as of": "tính đến",
            "by the end of": "đến cuối",
            "first nine months": "9 tháng đầu năm",
            "first six months": "6 tháng đầu năm",
            "first quarter": "quý I",
            "training class": "lớp bồi dưỡng",
            "training course": "lớp bồi dưỡng",
            "admission candidates": "đối tượng kết nạp",
            "roughly": "khoảng",
            "approximately": "khoảng",
            "around": "khoảng",
            "new recruits": "tân binh",
            "conscripts": "tân binh",
            "military": "quân sự",
            "hold": "giữ",
            "positions": "chức vụ",
            "position": "chức vụ",
            "key positions": "chức danh chủ chốt",
            "leaders": "lãnh đạo",
            "leader": "lãnh đạo",
            "youngest": "trẻ nhất",
            "oldest": "lớn tuổi nhất",
            "graduated": "tốt nghiệp",
            "january": "tháng 1",
            "february": "tháng 2",
            "march": "tháng 3",
            "april": "tháng 4",
            "june": "tháng 6",
            "july": "tháng 7",
            "august": "tháng 8",
            "september": "tháng 9",
            "october": "tháng 10",
            "november": "tháng 11",
            "december": "tháng 12",
            "peacekeeping": "gìn giữ hòa bình",
            "vietnamese": "việt nam",
            "vietnam": "việt nam",
            # Names keep their capitals: the question still names the place or people.
            "hanoi": "Hà Nội",
            "ho chi minh city": "thành phố Hồ Chí Minh",
            "saigon": "thành phố Hồ Chí Minh",
            "hue": "Huế",
            "mong": "Mông",
            "hmong": "Mông",
            "khmer": "Khmer",
            "recruiting": "kết nạp",
            "screening": "sàng lọc",
            "screened": "sàng lọc",
            "screen": "sàng lọc",
            "review": "rà soát",
            "reviewing": "rà soát",
            "removal": "đưa ra khỏi đảng",
            "expel": "khai trừ",
            "expulsion": "khai trừ",
            "disciplined": "kỷ luật",
            "discipline": "kỷ luật",
            "quality": "chất lượng",
            "improve": "nâng cao",
            "improving": "nâng cao",
            "improvement": "nâng cao",
            "implement": "thực hiện",
            "implementing": "thực hiện",
            "implementation": "thực hiện",
            "report": "báo cáo",
            "reported": "báo cáo",
            "conference": "hội nghị",
            "meeting": "hội nghị",
            "mid-term": "giữa nhiệm kỳ",
            "results": "kết quả",
            "result": "kết quả",
            "increase": "tăng",
            "increased": "tăng",
            "decrease": "giảm",
            "decreased": "giảm",
            "compared with": "so với",
            "compared to": "so với",
            "average": "bình quân",
            "same period": "cùng kỳ",
            "previous year": "năm trước",
            "number": "số",
            "border guard": "biên phòng",
            "border guards": "biên phòng",
            "border": "biên giới",
            "militia": "dân quân",
            "armed forces": "lực lượng vũ trang",
            "public security": "công an",
            "veterans": "cựu chiến binh",
            "intellectuals": "trí thức",
            "entrepreneurs": "doanh nhân",
            "private sector": "kinh tế tư nhân",
            "residential group": "tổ dân phố",
            "residential groups": "tổ dân phố",
            "neighbourhood": "khu phố",
            "neighborhood": "khu phố",
            "village elders": "già làng",
            "elders": "già làng",
            "prestigious people": "người có uy tín",
            "prestigious": "uy tín",
            "priest": "linh mục",
            "priests": "linh mục",
            "lecturers": "giảng viên",
            "lecturer": "giảng viên",
            "doctors": "bác sĩ",
            "hospital": "bệnh viện",
            "women's union": "hội phụ nữ",
            "fatherland front": "mặt trận tổ quốc",
            "mass organisations": "đoàn thể",
            "mass organizations": "đoàn thể",
            "political system": "hệ thống chính trị",
            "abroad": "nước ngoài",
            "overseas": "nước ngoài",
            "migrant workers": "lao động làm ăn xa",
            "labour export": "xuất khẩu lao động",
            "labor export": "xuất khẩu lao động",
            "poor households": "hộ nghèo",
            "poverty": "nghèo",
            "income": "thu nhập",
            "economic": "kinh tế",
            "economy": "kinh tế",
            "emulation": "thi đua",
            "commended": "khen thưởng",
            "commendation": "khen thưởng",
            "certificate of merit": "bằng khen",
            "certificates of merit": "bằng khen",
            "badge": "huy hiệu",
            "dossier": "hồ sơ",
            "dossiers": "hồ sơ",
            "procedures": "thủ tục",
            "verification": "thẩm tra",
            "verify": "thẩm tra",
            "background": "lý lịch",
            "criteria": "tiêu chuẩn",
            "standards": "tiêu chuẩn",
            "eligible": "đủ điều kiện",
            "mobilise": "vận động",
            "mobilize": "vận động",
            "persuade": "vận động",
            "propaganda": "tuyên truyền",
            "lessons": "bài học",
            "lessons learned": "bài học kinh nghiệm",
            "experience": "kinh nghiệm",
            "reasons": "nguyên nhân",
            "reason": "nguyên nhân",
            "causes": "nguyên nhân",
            "tasks": "nhiệm vụ",
            "task": "nhiệm vụ",
            "guidance": "hướng dẫn",
            "guideline": "hướng dẫn",
            "guidelines": "hướng dẫn",
            "instruction": "hướng dẫn",
            "programme": "chương trình",
            "program": "chương trình",
            "phase": "giai đoạn",
            "period": "giai đoạn",
            "stage": "giai đoạn",
            "quarter": "quý",
            "second quarter": "quý II",
            "tenure": "nhiệm kỳ",
            "officials": "cán bộ",
            "cadres": "cán bộ",
            "civil servants": "công chức",
            "public employees": "viên chức",
            "agencies": "cơ quan",
            "agency": "cơ quan",
            "bloc": "khối",
            "organisation department": "ban tổ chức",
            "organization department": "ban tổ chức",
            "central": "trung ương",
            "politburo": "bộ chính trị",
            "secretariat": "ban bí thư",
            "residents": "người dân",
            "locals": "người dân",
            "ethnic groups": "dân tộc",
            "mountainous": "miền núi",
            "remote areas": "vùng sâu vùng xa",
            "coastal": "ven biển",
            "fishermen": "ngư dân",
        }.items(),
        key=lambda item: -len(item[0]),
    )
)
# Common English words: a question made mostly of these (and glossary words) is English, even
# when it spells a Vietnamese name with its accents.
ENGLISH_MARKERS: frozenset[str] = frozenset(
    """
    how many much what which who when where why does did do is are was were the of in and
    a an to for by on at from with as its their his her has have had been be that this there
    party members member people under into since during about than more most
    """.split()
)
