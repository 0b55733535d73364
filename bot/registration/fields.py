"""Reading one registration field from what a person typed, in their own words ("tên nó là Trần
Văn Hùng", "nó sinh năm 98", "sdt của tui là 0987 654 321", "dạ tui đồng ý", "thôi khỏi"). Each
reader returns the value, raises `Invalid` with the catalog key of a kind explanation of what is
expected, or returns None when the reply does not say (then the question is asked again, once,
with an example).

The word lists below are the understanding of typed replies (accent-free, as `fold` gives them),
not texts shown to anyone: what the bot says is in the catalogs."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Literal

from bot.nlu.normalize import clean, fold
from bot.nlu.numbers import calendar_year, full_year, says_unknown
from bot.nlu.spoken import spelled_numbers


class Invalid(ValueError):
    """The text does not fit the field; `key` names the message that explains why."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values  # for the message, e.g. the length limit


NAME_WORD = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*$")
PHONE = re.compile(r"^(?:\+?84|0)(\d{9})$")
YEAR = re.compile(r"\b(19\d\d|20\d\d)\b")
MAX_FREE_TEXT = 300
MAX_AGE = 100  # an older year of birth is a typing slip


_WORD = re.compile(r"\d+|[^\W\d_]+")


def _words(text: str) -> list[str]:
    """Accent-free lower-case words and numbers, punctuation dropped."""
    return _WORD.findall(fold(text))


def _phrase_in(words: list[str], phrases: Iterable[str]) -> bool:
    padded = f" {' '.join(words)} "
    return any(f" {p} " in padded for p in phrases)


# -- who is speaking: fillers that carry no answer --------------------------------------------------

PRONOUNS = frozenset({"toi", "tui", "minh", "em", "con", "chau", "tao", "to", "anh", "chi", "bac", "co", "chu", "ta"})
PARTICLES = frozenset({
    "a", "ak", "ah", "nha", "nhe", "nhen", "ne", "ha", "luon", "roi", "ma", "thi", "chu", "di", "vay", "lam", "oi",
    "xin", "vui", "long", "giup", "dum", "ho", "cung", "da", "se", "nhi", "hen", "nghe", "y", "the",
})


# -- names ----------------------------------------------------------------------------------------------

# A lead-in before the name: "tên tôi là", "tên nó là", "em tên", "tôi là", "con tên", "họ tên:",
# "dạ tên cháu là". Matched on accent-free words; only at the start of the reply.
_POLITE = r"(?:(?:da|vang|thua|xin chao|chao ban|de|xin phep)\s+)*"
_WHO = r"(?:toi|tui|minh|em|con|chau|no|anh|chi|ban|ong|ba|co|chu|bac|nguoi vay|nguoi can vay|nguoi do|be|thang be|thang nho)"
_NAME_LEAD = re.compile(
    rf"^{_POLITE}(?:"
    rf"(?:ho va ten|ho ten|ten day du|ten)(?:\s+(?:cua\s+)?{_WHO})?(?:\s+(?:la|:))?"  # tên nó là, họ tên:, tên của tôi là
    rf"|{_WHO}(?:\s+(?:ten\s+la|ten|la|co\s+ten\s+la|co\s+ten|ho\s+ten\s+la|ho\s+ten|ho\s+va\s+ten\s+la))"  # em tên, tôi là, nó tên là
    rf")\s+"
)
# Particles after the name, compared with their accents ("Hà" is a name, "hả" is not).
_TRAILING = frozenset({"ạ", "à", "nhé", "nha", "nhe", "nhen", "nè", "hả", "đó", "đấy", "nhỉ"})
# Words no name is made of — a question, a sentence, a pronoun left over ("Má Nó", "Không Biết").
# Compared with their accents ("Minh", "Thị", "Hà", "Bảo" are names; "mình", "thì", "hả", "bao" are
# not), and, typed without accents, only words that are never names.
_NOT_NAME_ACCENTED = frozenset({
    "không", "biết", "hỏi", "gì", "sao", "nào", "nhiêu", "vay", "tiền", "đăng", "ký", "tên", "của", "tôi", "tui", "mình",
    "nó", "ơi", "được", "chưa", "muốn", "cần", "giúp", "làm", "xin", "chào", "ok", "ai", "đâu", "thì", "rồi", "với",
    "cho", "nhà", "hả", "nhé", "là", "má", "bố", "mẹ", "vợ", "chồng", "con", "hiểu", "nhớ", "quên", "ra", "tù", "cai",
    "nghiện", "ạ", "vâng", "dạ", "ừ", "hông", "hổng", "phải", "gõ", "sai", "nhầm", "thằng", "đứa",
})
_NOT_NAME_PLAIN = frozenset({
    "khong", "ko", "biet", "hoi", "gi", "sao", "nao", "nhieu", "vay", "cua", "toi", "tui", "oi", "chua", "muon", "giup",
    "xin", "chao", "ok", "dau", "roi", "voi", "nhe", "hieu", "quen", "nghien", "ten", "no", "ma", "hok",
})
_NOT_NAME_PHRASES = ("dang ky", "cam on", "bao nhieu", "the nao", "la gi", "ten la", "go lai", "ghi lai", "nhap lai", "viet lai")
MAX_NAME_SYLLABLE = 7  # the longest Vietnamese syllable ("nghiêng", "nguyễn") has 7 letters


def read_name(text: str) -> str:
    """'tên nó là trần văn hùng' → 'Trần Văn Hùng': the lead-in dropped, each word capitalised.
    1 to 7 words of letters; a number where a name is asked gets its own message."""
    if any(ch.isdigit() for ch in text):
        raise Invalid("registration.invalid_name_digits")
    words = re.sub(r"[:,;.!\"“”()]", " ", clean(text, lower=False)).split()
    folded = [fold(w) for w in words]
    lead = _NAME_LEAD.match(" ".join(folded) + " ")
    if lead:
        dropped = len(lead.group(0).split())
        if dropped < len(words):
            words, folded = words[dropped:], folded[dropped:]
    while len(words) > 1 and words[-1].lower() in _TRAILING:
        words, folded = words[:-1], folded[:-1]
    if not 1 <= len(words) <= 7 or not all(NAME_WORD.match(w) for w in words) or len(" ".join(words)) > 70:
        raise Invalid("registration.invalid_name")
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)


def name_looks_odd(name: str) -> bool:
    """A name to confirm before storing it: one word, a very long word, or words no name has."""
    words = clean(name).split()
    folded = [fold(w) for w in words]
    return (
        len(words) < 2 or len(words) > 5
        or any(len(w) > MAX_NAME_SYLLABLE for w in folded)
        or any(w in _NOT_NAME_ACCENTED or (w == p and p in _NOT_NAME_PLAIN) for w, p in zip(words, folded, strict=True))
        or _phrase_in(folded, _NOT_NAME_PHRASES)
    )


# -- years of birth -------------------------------------------------------------------------------

_AGE = re.compile(r"\b(\d{1,3})\s*(?:tuoi|t)\b")
_DATE = re.compile(r"\b\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*(\d{2}|\d{4})\b")
_YEAR_FILLERS = frozenset({"sinh", "sanh", "nam", "sn", "de", "nay", "ngay", "thang", "khoang", "tam", "chung", "la", "vao", "no", "thi",
                           "ra"})


def read_birth_year(text: str, today: date, *, min_age: int = 0) -> int:
    """'1998', 'năm 1998', 'sinh năm 98', 'nó sinh năm 98', 'đẻ năm 2000', 'sn 95', '98', '26 tuổi',
    '05/03/1998' → the year. Not in the future, at most 100 years ago, and — the rules' minimum
    age, when there is one — not younger than `min_age` on any day of this year."""
    folded = fold(text)
    date_match = _DATE.search(folded)
    year_match = YEAR.search(folded)
    age = _AGE.search(folded)
    if date_match:
        year = full_year(int(date_match.group(1)), today) if len(date_match.group(1)) == 2 else int(date_match.group(1))
    elif year_match:
        year = int(year_match.group(1))
    elif age:
        year = today.year - int(age.group(1))
    else:
        words = [w for w in _words(text) if w not in PRONOUNS and w not in PARTICLES and w not in _YEAR_FILLERS]
        if len(words) != 1 or not re.fullmatch(r"\d{2}", words[0]):
            raise Invalid("registration.invalid_birth_year")
        year = full_year(int(words[0]), today)
    if not today.year - MAX_AGE <= year <= today.year:
        raise Invalid("registration.invalid_birth_year_range")
    if today.year - year < min_age:
        # The oldest the person can be this year is still under the minimum.
        raise Invalid("registration.invalid_birth_year_young", min_age=min_age)
    return year


def is_plain_year(text: str) -> bool:
    """'1998' as typed: nothing was interpreted."""
    return bool(re.fullmatch(r"\s*(19|20)\d\d\s*", text or ""))


# -- phone and ID numbers ------------------------------------------------------------------------

_DIGIT_RUN = re.compile(r"(?:\(?\+)?\(?\d[\d\s.\-()]*\d\)?")


def _numbers(text: str, valid) -> set[str]:
    """Every number in the text that `valid` accepts (it returns the normalised value or None);
    a run of digits separated by spaces, dots, dashes or brackets is one number ('0987 654 321')."""
    found: set[str] = set()
    for match in _DIGIT_RUN.finditer(clean(text)):
        run = match.group(0)
        value = valid(re.sub(r"[^\d+]", "", run))
        if value is not None:
            found.add(value)
            continue
        for part in run.split():  # two numbers side by side: "0912345678 0987654321"
            value = valid(re.sub(r"[^\d+]", "", part))
            if value is not None:
                found.add(value)
    return found


def _phone(digits: str) -> str | None:
    match = PHONE.match(digits)
    return "0" + match.group(1) if match and match.group(1)[0] in "35789" else None


def read_phone(text: str) -> str:
    """'0912 345 678', '0912.345.678', '+84 912345678', 'sdt của tui là 0987 654 321',
    'đt: 0987654321' → '0912345678'-style. Two different numbers: ask which one."""
    found = _numbers(text, _phone)
    if len(found) > 1:
        raise Invalid("registration.two_phones")
    if not found:
        raise Invalid("registration.invalid_phone")
    return found.pop()


def read_national_id(text: str) -> str:
    """The 12-digit personal identification number (CCCD), spaces and dots allowed, after a lead-in
    ('số CCCD là 001 088 012 345')."""
    found = _numbers(text, lambda digits: digits if re.fullmatch(r"\d{12}", digits) else None)
    if len(found) != 1:
        raise Invalid("registration.invalid_id")
    return found.pop()


def read_event_year(text: str, today: date) -> int:
    """The year of the post-rehab decision or of release: '2021', 'năm 2021', 'năm 21', 'năm
    ngoái', 'năm ni', 'tháng trước', '2 năm trước'."""
    match = YEAR.search(fold(text))
    relative = calendar_year(" ".join(fold(clean(text)).split()), today)
    if match:
        year = int(match.group(1))
    elif relative is not None:
        year = relative
    else:
        words = [w for w in _words(text) if w not in PRONOUNS and w not in PARTICLES and w not in _YEAR_FILLERS]
        if len(words) != 1 or not re.fullmatch(r"\d{2}", words[0]):
            raise Invalid("registration.invalid_event_year")
        year = full_year(int(words[0]), today)
    if not today.year - 60 <= year <= today.year:
        raise Invalid("registration.invalid_event_year")
    return year


def read_free_text(text: str, *, limit: int = MAX_FREE_TEXT) -> str:
    """A short description or a village name: kept as typed, at most `limit` characters."""
    value = clean(text, lower=False)
    if len(value) < 2:
        raise Invalid("registration.invalid_short")
    if len(value) > limit:
        raise Invalid("registration.invalid_long", limit=limit)
    return value


# -- yes, no, skip, back ------------------------------------------------------------------------------

# Accented first: "đúng" (right) and "đừng" (don't) fold to the same word.
_YES = frozenset({"có", "ừ", "ừm", "ừa", "ờ", "uh", "uhm", "um", "vâng", "dạ", "đúng", "được", "đc", "dc", "ok", "oke", "okê",
                  "okay", "oki", "okie", "yes", "chắc", "phải"})
_NO = frozenset({"không", "ko", "k", "kg", "kh", "khg", "hông", "hổng", "hong", "hok", "chưa", "đừng", "no", "khỏi", "thôi"})
_YES_PLAIN = frozenset({"co", "u", "um", "uh", "vang", "da", "dung", "duoc", "dc", "ok", "oke", "okay", "oki", "okie", "yes", "chac",
                        "chuan"})
_NO_PLAIN = frozenset({"khong", "ko", "k", "kg", "kh", "khg", "hong", "hok", "chua", "no", "khoi", "thoi"})
_YES_PHRASES = ("dong y", "chac chan", "tat nhien", "nhat tri", "duoc roi", "dung roi")
_NO_PHRASES = ("tu choi", "khong dong y", "khong muon", "khong can")
_YES_NO_FILLERS = PRONOUNS | PARTICLES | frozenset({"roi", "r",  # "đúng r", "dc r": rồi
                                                     "dong", "y", "chan", "tat", "nhien", "nhat", "tri", "muon", "can", "tu", "choi", "nua",
                                                     "dau", "van", "ban", "oi", "nhe", "voi", "sao", "het", "ca",
                                                     # "tui hông muốn đưa thông tin", "đồng ý cung cấp": what is agreed to
                                                     "dua", "thong", "tin", "cung", "cap", "khai"})


def _marks(text: str) -> tuple[set[str], list[str]]:
    """The yes/no marks of each word ('yes', 'no', 'filler', 'other'), and the folded words."""
    marks: set[str] = set()
    raw = re.findall(r"[^\W\d_]+", clean(text))
    folded = [fold(w) for w in raw]
    for word, plain in zip(raw, folded, strict=True):
        accented = word != plain
        if word in _NO or (not accented and plain in _NO_PLAIN):
            marks.add("no")
        elif word in _YES or (not accented and plain in _YES_PLAIN):
            marks.add("yes")
        elif plain in _YES_NO_FILLERS:
            marks.add("filler")
        else:
            marks.add("other")
    if _phrase_in(folded, _NO_PHRASES):
        marks.add("no")
    if _phrase_in(folded, _YES_PHRASES):
        marks.add("yes")
    return marks, folded


_RETYPE_PHRASES = ("go lai", "ghi lai", "nhap lai", "viet lai", "sua lai", "lam lai", "sai roi", "nham roi", "khong phai", "hong phai",
                   "ko phai", "chua dung", "khong dung", "sai ten", "nham ten")
_RETYPE_WORDS = PRONOUNS | PARTICLES | frozenset({"go", "ghi", "nhap", "viet", "sua", "lam", "lai", "sai", "nham", "roi", "khong", "ko",
                                                 "hong", "hok", "k", "phai", "chua", "dung", "ten", "cai", "do", "di", "de", "cho"})


def says_retype(text: str) -> bool:
    """'hông phải, gõ lại', 'sai rồi', 'ghi lại tên': where a value is read back, a no and a wish to type it again."""
    words = _words(text)
    return bool(words) and _phrase_in(words, _RETYPE_PHRASES) and all(w in _RETYPE_WORDS for w in words)


def read_yes_no(text: str) -> bool | None:
    """'dạ', 'ừ', 'ok', 'được', 'đồng ý', 'tui đồng ý', 'vâng em đồng ý ạ', 'oke' → True; 'không',
    'ko', 'không đồng ý', 'thôi', 'dạ không', 'từ chối' → False; a question, 'không biết', or
    anything more than a yes or a no → None."""
    if not text or text.strip().endswith("?") or says_unknown(text):
        return None
    marks, folded = _marks(text)
    if "other" in marks or not folded:
        return None
    if "no" in marks:
        return False
    return True if "yes" in marks else None


_SKIP_PHRASES = ("bo qua", "khong co", "ko co", "k co", "khong can", "ko can", "khoi", "thoi khoi", "khong muon",
                 "khong cung cap", "khong ghi", "chua co", "khong nho", "khong biet", "de sau", "skip", "khong", "ko", "k",
                 "kg", "hong", "hok")
_SKIP_WORDS = frozenset({"bo", "qua", "co", "can", "cung", "cap", "ghi", "muon", "sau", "skip", "nho", "biet", "de", "nua",
                         "lam", "gi", "dau", "thoi", "khoi", "khong", "ko", "k", "kg", "hong", "chua", "so", "cccd", "thon",
                         "xom", "ap", "ban", "to", "mo", "ta", "dinh", "danh"})


def says_skip(text: str) -> bool:
    """'thôi khỏi', 'không có', 'ko', 'khỏi', 'bỏ qua', 'không cần', 'chưa có', 'không muốn ghi':
    an optional field left out."""
    words = _words(text)
    if not words or any(w.isdigit() for w in words):
        return False
    if not _phrase_in(words, _SKIP_PHRASES):
        return False
    return all(w in _SKIP_WORDS or w in PRONOUNS or w in PARTICLES for w in words)


_BACK = ("quay lai", "tro lai", "cau truoc", "buoc truoc", "sua cau truoc", "lui lai", "back", "sua lai", "quay lai cau truoc",
         "quay lai buoc truoc", "sua cau tren", "lam lai cau truoc", "nham cau truoc", "ghi nham cau truoc", "lui")
_BACK_WORDS = frozenset({"quay", "lai", "tro", "cau", "buoc", "truoc", "sua", "lui", "back", "tren", "nham", "ghi", "lam",
                         "mot", "cho", "muon", "can"})


def says_back(text: str) -> bool:
    """'quay lại', 'sửa câu trước', 'trở lại', 'lùi lại', 'cho tôi sửa câu trước': one step back."""
    words = _words(text)
    return bool(words) and _phrase_in(words, _BACK) and all(w in _BACK_WORDS or w in PRONOUNS or w in PARTICLES for w in words)


# -- the summary ------------------------------------------------------------------------------------

SummaryChoice = Literal["confirm", "change", "cancel"]
_SEND = ("gui", "gui di", "xac nhan", "send", "nop", "nop di")
_CHANGE = ("sua", "doi", "thay doi", "chinh", "chinh sua", "sai", "sai roi", "chua dung", "khong dung")
_CANCEL = ("huy", "huy dang ky", "huy bo", "khong gui", "ko gui", "thoi khong gui", "khong dang ky nua", "bo di")
_SUMMARY_WORDS = frozenset({"gui", "xac", "nhan", "send", "nop", "dang", "ky", "thong", "tin", "sua", "doi", "thay", "chinh",
                            "sai", "huy", "bo", "nua", "muc", "lai", "mot", "di", "luon", "roi", "dung", "khong", "ko", "chua",
                            "giup", "cho", "nhe", "nha"})


def read_summary(text: str) -> SummaryChoice | None:
    """At the summary: 'gửi đi', 'ừ gửi', 'ok gửi', 'gửi', 'đúng rồi gửi đi', 'xác nhận', 'ok' →
    confirm; 'sửa', 'sai rồi', 'không' → change; 'hủy', 'không gửi' → cancel (which is confirmed
    before anything is dropped)."""
    if not text or text.strip().endswith("?"):
        return None
    words = _words(text)
    marks, _ = _marks(text)
    if not words or not all(w in _SUMMARY_WORDS or w in _YES_NO_FILLERS or w in _YES_PLAIN or w in _NO_PLAIN for w in words):
        return None
    if _phrase_in(words, _CANCEL) or "đừng" in clean(text):  # "đừng gửi"; "đúng, gửi đi" folds alike
        return "cancel"
    if _phrase_in(words, _CHANGE):
        return "change"
    if _phrase_in(words, _SEND):
        return None if "no" in marks and not _phrase_in(words, ("gui di",)) else "confirm"
    answer = read_yes_no(text)
    if answer is True:
        return "confirm"
    if answer is False:
        return "change"
    return None


# -- who registers, and the relationship -----------------------------------------------------------------

# The relationship stored is the registrant's to the person who needs the loan ("tui là má nó":
# parent). "cho thằng con trai tui" names the person (my son), so the registrant is the parent:
# the inverse below.
INVERSE = {"parent": "child", "child": "parent", "spouse": "spouse", "sibling": "sibling", "other": "other"}
# Kin words that are also pronouns ("anh", "em", "con"…): they count only with a direction
# ("cho con tôi", "tôi là chị nó", "em trai").
_PRONOUN_KIN = frozenset({"anh", "chi", "em", "con", "chau", "co", "chu", "bac", "ong", "ba", "cau", "di", "u", "mo"})  # "mo": also "mở"
_SELF = ("cho toi", "chinh toi", "toi", "ban than", "cho ban than", "cho minh", "chinh minh", "minh", "tui", "cho tui", "chinh tui",
         "toi tu dang ky", "tu dang ky", "cua toi", "la toi", "toi vay", "toi can vay", "toi muon vay", "cho chinh toi",
         "chinh ban than", "ban than toi", "dang ky cho toi", "tao", "cho tao", "minh toi", "ca nhan", "tau", "cho tau", "chinh tau")
_SELF_WORDS = frozenset({"cho", "chinh", "toi", "tui", "minh", "tao", "tau", "ban", "than", "tu", "dang", "ky", "cua", "la", "vay",
                         "can", "muon", "ca", "nhan", "a", "da", "nha", "nhe", "thi"})
_RELATIVE = ("nguoi than", "nguoi nha", "nguoi khac", "ho hang", "giup nguoi", "dang ky giup", "dang ky ho", "cho nguoi")
# A business registering ("cho cơ sở của tôi", "công ty tui", "hợp tác xã"): it borrows as a business.
_BUSINESS = ("co so", "cong ty", "cty", "doanh nghiep", "hop tac xa", "htx", "ho kinh doanh", "to hop tac", "xuong",
             "co so san xuat", "co so kinh doanh", "cua hang", "nha xuong", "trang trai")
_OWNER = frozenset({"toi", "tui", "minh", "tao", "tau", "em", "con", "chau"})  # "con tôi": my child (the person)
_OF_PERSON = frozenset({"no", "ay", "do", "anh", "chi", "em", "chau", "ong", "ba"})  # "má nó", "vợ anh ấy"
_SPEAKER = ("toi la", "tui la", "minh la", "em la", "con la", "chau la", "tao la", "toi lam", "tui lam")
_FOR = frozenset({"cho", "giup", "ho", "dum", "ve"})
# Words that hold a kin word but name no kin: "chào cán bộ" is not "bố", "bà con nói" is not
# "bà" (folks), "bộ đội", "công bố".
# "nuôi bò" (cattle) is not "nuôi bố".
_NOT_KIN = ("can bo", "bo doi", "cong bo", "bo luat", "bo cong an", "bo lao dong", "ba con", "co quan", "chu y", "co so",
            "nuoi bo", "con bo", "bo sua", "bo thit", "thit bo", "chan bo", "dan bo", "trai bo",
            "mua bo", "ban bo", "bo giong", "chi phi", "chi tieu")


_KIN_PHRASES: dict[int, tuple[object, list[tuple[str, str]]]] = {}  # id(choices) → (choices, phrases)


def _kin_phrases(choices) -> list[tuple[str, str]]:
    """(accent-free phrase, relationship value), longest first, from content/registration.yaml
    (worked out once per content: every message a relative writes is read for kin words)."""
    kept = _KIN_PHRASES.get(id(choices))
    if kept is not None and kept[0] is choices:
        return kept[1]
    pairs = [(fold(c.label), c.value) for c in choices]
    pairs += [(phrase, c.value) for c in choices for phrase in c.also]
    phrases = sorted(set(pairs), key=lambda p: (-len(p[0].split()), p[0]))
    if len(_KIN_PHRASES) >= 8:  # one content in a process (a few in tests): bounded all the same
        _KIN_PHRASES.clear()
    _KIN_PHRASES[id(choices)] = (choices, phrases)
    return phrases


# Southern "he, she" ("cho ảnh", "ổng ra tù"): the folded word is a kin word ("anh", "ông"), the accented one is not.
_THIRD_PERSON = frozenset({"ảnh", "ổng", "bả", "ẻm"})


def _kin_mentions(words: list[str], choices, asked: str, raw: list[str] | None = None) -> set[str]:
    """The relationship each kin word in the reply gives, with its direction decided by the words
    around it: the speaker's own ("tui là má nó") or the person's ("cho con trai tui"). `raw`: the
    same words as typed (with accents), when known."""
    found: set[str] = set()
    typed = raw if raw is not None and len(raw) == len(words) else [""] * len(words)
    used = [word in _THIRD_PERSON for word in typed]
    padded = f" {' '.join(words)} "
    for phrase in _NOT_KIN:
        if f" {phrase} " in padded:
            size = len(phrase.split())
            for i in range(len(words) - size + 1):
                if " ".join(words[i:i + size]) == phrase:
                    used[i:i + size] = [True] * size
    for phrase, value in _kin_phrases(choices):
        if phrase and f" {phrase} " not in padded:
            continue  # not in the text at all (most phrases): no position can match it
        size = len(phrase.split())
        for i in range(len(words) - size + 1):
            if any(used[i:i + size]) or " ".join(words[i:i + size]) != phrase:
                continue
            before = " ".join(words[max(0, i - 2):i])
            after = words[i + size] if i + size < len(words) else ""
            owner = words[i + size + 1] if after == "cua" and i + size + 1 < len(words) else after  # "mẹ của nó"
            if size == 1 and phrase in _PRONOUN_KIN and after in ("ay", "do", "kia"):
                continue  # "anh ấy", "chị ấy": he, she
            speaker = any(before.endswith(s) for s in _SPEAKER) or (owner in _OF_PERSON and owner != "em")
            person = (i > 0 and words[i - 1] in _FOR) or owner in _OWNER
            if size == 1 and phrase in _PRONOUN_KIN and not (speaker or person or len(words) == 1):
                continue
            for j in range(i, i + size):
                used[j] = True
            if speaker:
                found.add(value)
            elif person:
                found.add(INVERSE[value])
            else:
                # A bare kin word answers the question asked: "Ai là người cần vay?" names the person,
                # "Bạn là gì của người cần vay?" the registrant.
                found.add(INVERSE[value] if asked == "who" else value)
    return found


def _kin_in_parts(text: str, choices, asked: str) -> set[str]:
    """The kin mentions of each clause: "cho chồng chị, anh ấy cai xong" — the comma ends "chồng
    chị", so "chị, anh ấy" is not "chị of him". A number in words is no kin: "vay ba trăm triệu"."""
    parts = re.split(r"[,.;!?\n]", spelled_numbers(clean(text)))
    return set().union(*(_kin_mentions(_words(part), choices, asked, _WORD.findall(part.lower())) for part in parts))


def read_relationship(text: str, choices, *, asked: Literal["who", "relationship"] = "relationship") -> str | None:
    """'tui là má nó', 'tôi là mẹ nó', 'mẹ' → parent; 'vợ tôi' → spouse; 'con trai tôi' (the person
    is my son) → parent; 'mẹ chồng tôi' → other. None when unclear or contradictory."""
    words = _words(text)
    if not words:
        return None
    found = _kin_in_parts(text, choices, asked)
    if len(found) == 1:
        return found.pop()
    if not found and asked == "relationship" and _phrase_in(words, ("khac", "nguoi khac", "ho hang", "nguoi than khac")):
        return "other"
    return None


def read_who(text: str, choices) -> tuple[str, str | None] | None:
    """Who registers: ('self', None) for 'cho tôi', 'chính tôi'; ('relative', relationship) for
    'cho thằng con trai tui', 'đăng ký cho con tôi', 'tui là má nó'; ('relative', None) for
    'cho người nhà'; ('business', None) for 'cho cơ sở của tôi', 'công ty tui'. None when the
    reply does not say."""
    words = _words(text)
    if not words or text.strip().endswith("?"):
        return None
    if _phrase_in(words, _BUSINESS):
        return "business", None
    relationship = read_relationship(text, choices, asked="who")
    if relationship is not None:
        return "relative", relationship
    if _kin_in_parts(text, choices, "who"):
        return "relative", None  # kin words that disagree: a relative, the relationship asked
    typed = _WORD.findall(text.lower())
    if _phrase_in(words, _RELATIVE) or any(a == "cho" and b in _THIRD_PERSON for a, b in zip(typed, typed[1:], strict=False)):
        return "relative", None  # "cho người nhà", "đăng ký cho ảnh": a relative, the relationship asked
    if _phrase_in(words, _SELF) and all(w in _SELF_WORDS for w in words):
        return "self", None
    return None


# -- places typed exactly ------------------------------------------------------------------------------

_PLACE_LEAD = re.compile(r"^(?:(?:da|toi|tui|minh|em|no|chau|con|nha)\s+)?(?:(?:o|tai|song o|que|que o)\s+)")


def place_key(text: str) -> str:
    """The typed place name as the official list's search key ('ở xã Quỳ Hợp' → 'quy hop')."""
    from bot.places import name_key

    return name_key(_PLACE_LEAD.sub("", fold(text).strip()))


def exact_province(places, text: str):
    """The province whose name (or short name) is exactly what was typed, or None."""
    key = place_key(text)
    if key in places.aliases:
        return places.province(places.aliases[key])
    found = places.search_provinces(key)
    return found[0] if len(found) == 1 and found[0].key == key else None


PLACE_PARTS = re.compile(r"[,;/\n]|\s-\s")


MAX_PROVINCE_WORDS = 4  # "Thành phố Hồ Chí Minh", "Bà Rịa - Vũng Tàu"


def place_in_parts(places, text: str):
    """'xã Quỳ Hợp, Nghệ An': the province named exactly by one of the parts the person separated,
    and the commune of that province named exactly by another (or None); (None, None) when no
    part is a province, or the text has one part only (a province alone is `exact_province`)."""
    parts = [p.strip() for p in PLACE_PARTS.split(text) if p.strip()]
    if len(parts) < 2:
        # "phường Hải Châu Đà Nẵng" (speech-to-text puts no comma): the province is its last words.
        if exact_province(places, text) is not None:
            return None, None  # "ba ria vung tau" is one province, not a commune of Vũng Tàu
        words = text.split()
        for size in range(min(MAX_PROVINCE_WORDS, len(words) - 1), 0, -1):
            province = exact_province(places, " ".join(words[-size:]))
            if province is not None:
                return province, exact_commune(places, province.code, " ".join(words[:-size]))
        return None, None
    for i, part in enumerate(parts):
        province = exact_province(places, part)
        if province is not None:
            communes = (exact_commune(places, province.code, other) for j, other in enumerate(parts) if j != i)
            return province, next((c for c in communes if c is not None), None)
    return None, None


def exact_commune(places, province_code: int, text: str):
    """The commune of the province whose name is exactly what was typed (only one such), or None."""
    key = place_key(text)
    found = places.search_communes(province_code, key)
    return found[0] if len(found) == 1 and found[0].key == key else None


def mask_id(value: str) -> str:
    """Only the last four digits of an ID number are ever shown back."""
    return "•" * (len(value) - 4) + value[-4:]


def show_phone(value: str) -> str:
    """'0912345678' → '0912 345 678' (easier to check by eye)."""
    return f"{value[:4]} {value[4:7]} {value[7:]}"


def pick_choice(text: str, choices) -> str | None:
    """The choice whose words a typed reply names ("xưởng anh là hộ kinh doanh" → household_business):
    the phrase that starts first wins, then the longest; None when none is named."""
    padded = f" {' '.join(_words(text))} "
    hits = [(-padded.find(f" {p} "), len(p), c.value) for c in choices for p in (*c.also, " ".join(_words(c.label))) if f" {p} " in padded]
    return max(hits)[2] if hits else None
