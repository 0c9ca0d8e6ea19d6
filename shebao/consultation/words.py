"""Words of a text for the search index, and the same words marked in a text.

Chinese is written without spaces, so Chinese runs are segmented with jieba
in its search mode (a long word also yields the shorter words inside it:
社会保障卡 → 社会, 保障, 保障卡, 社会保障卡), with the domain's own words
added to its dictionary. Latin runs are split on anything but letters and
digits, lower-cased and lightly stemmed (plurals, -ing, -ed, a final e), so
that "upgrading cards" and "upgrade a card" meet. Common words of either
language are dropped, and a few everyday short forms are indexed as the
full form (社保卡 as 社会保障卡), in the documents and the query alike.

jieba's dictionary takes a second to load, so it is loaded once per
process, on first use, and its logger is kept at warnings.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Words of this domain jieba's general dictionary does not know as words.
DOMAIN_WORDS = (
    "社保卡",
    "社会保障卡",
    "电子社保卡",
    "一类卡",
    "二类卡",
    "三类卡",
    "一类账户",
    "二类账户",
    "三类账户",
    "滞纳金",
    "临时挂失",
    "正式挂失",
    "补卡",
    "换卡",
    "缴费基数",
    "缴费年限",
    "个人账户",
    "记账利率",
    "个人权益记录",
    "权益记录单",
    "灵活就业",
    "失业保险金",
    "失业金",
    "工伤认定",
    "生育津贴",
    "法定退休年龄",
    "延迟退休",
    "转移接续",
    "社会保险登记",
    "代扣代缴",
    "养老保险",
    "医疗保险",
    "工伤保险",
    "失业保险",
    "生育保险",
)

# Short forms people type, indexed and searched as the full form.
SYNONYMS = {
    "社保卡": "社会保障卡",
    "社保": "社会保险",
    "医保": "医疗保险",
    "养老金": "基本养老金",
    "失业金": "失业保险金",
    "一类户": "一类账户",
    "二类户": "二类账户",
    "三类户": "三类账户",
}

_STOP_ZH = """
的 了 吗 呢 吧 啊 是 在 和 与 及 或 为 被 把 对 就 都 也 还 又 要 会 能 可 可以 能否 是否
我 你 他 她 它 我们 你们 他们 自己 本人 这 那 这个 那个 一个 什么 怎么 怎样 如何 哪些 多少
有 没有 不 请问 请
"""
_STOP_EN = """
a an the and or of to in on for at by with from as into than then
is are was were be been being am do does did can could should would will shall may might
i me my we our you your he she it its they them their this that these those there
how what when where who which why if not no so
"""
STOP_WORDS_ZH = frozenset(_STOP_ZH.split())
STOP_WORDS_EN = frozenset(_STOP_EN.split())

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
RUNS = re.compile(rf"[{CJK}]+|[A-Za-z0-9]+")
LATIN_WORD = re.compile(r"[A-Za-z0-9]+")
HAS_CJK = re.compile(rf"[{CJK}]")

_lock = threading.Lock()
_segmenter: Any = None


def segmenter() -> Any:
    """The jieba tokenizer with the domain words, loaded on first use."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import jieba

                logging.getLogger("jieba").setLevel(logging.WARNING)
                tokenizer = jieba.Tokenizer()
                tokenizer.initialize()
                for word in DOMAIN_WORDS:
                    tokenizer.add_word(word)
                _segmenter = tokenizer
    return _segmenter


def _undouble(word: str) -> str:
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        return word[:-1]
    return word


def stem(word: str) -> str:
    """A light English stem: cards → card, classes → class, upgrading/upgraded/upgrade → upgrad."""
    word = word.lower()
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith(("ies", "ied")) and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "ches", "shes", "zes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    elif word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3])
    elif word.endswith("ed") and len(word) > 4:
        word = _undouble(word[:-2])
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def _latin_terms(run: str) -> Iterator[str]:
    for match in LATIN_WORD.finditer(run):
        word = match.group().lower()
        if word in STOP_WORDS_EN or (len(word) == 1 and not word.isdigit()):
            continue
        yield stem(word)


SHORT_FORMS = re.compile("|".join(sorted(SYNONYMS, key=len, reverse=True)))


def _chinese_terms(run: str) -> Iterator[str]:
    # The short forms are written out before segmenting, so that 社保卡 and
    # 社会保障卡 give the same words, down to the shorter ones inside.
    run = SHORT_FORMS.sub(lambda match: SYNONYMS[match.group()], run)
    for word in segmenter().cut_for_search(run):
        if word in STOP_WORDS_ZH or not HAS_CJK.search(word):
            continue
        yield word


def terms(text: str) -> list[str]:
    """The index terms of `text`, in order, with repeats."""
    found: list[str] = []
    for run in RUNS.findall(text or ""):
        if HAS_CJK.match(run):
            found.extend(_chinese_terms(run))
        else:
            found.extend(_latin_terms(run))
    return [term[:64] for term in found]


@dataclass(frozen=True)
class Query:
    """What was searched for: the distinct terms, and the Chinese words to mark."""

    text: str
    terms: tuple[str, ...]
    chinese_marks: frozenset[str]

    def __bool__(self) -> bool:
        return bool(self.terms)


def parse_query(text: str, *, max_terms: int = 32) -> Query:
    text = (text or "").strip()[:200]
    distinct = tuple(dict.fromkeys(terms(text)))[:max_terms]
    marks = {term for term in distinct if HAS_CJK.search(term)}
    # A full form found also marks the short forms that stand for it.
    marks |= {short for short, full in SYNONYMS.items() if full in marks}
    return Query(text=text, terms=distinct, chinese_marks=frozenset(marks))


def _spans(text: str, query: Query) -> list[tuple[int, int]]:
    wanted = set(query.terms)
    spans = [
        match.span()
        for match in LATIN_WORD.finditer(text)
        if stem(match.group()) in wanted and match.group().lower() not in STOP_WORDS_EN
    ]
    for word in query.chinese_marks:
        start = text.find(word)
        while start != -1:
            spans.append((start, start + len(word)))
            start = text.find(word, start + len(word))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, query: Query) -> SafeString:
    """`text`, escaped, with the searched words in <mark>."""
    out: list[str] = []
    position = 0
    for start, end in _spans(text, query):
        out.append(escape(text[position:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        position = end
    out.append(escape(text[position:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece is escaped above


def matched_words(texts: Iterable[str], query: Query) -> list[str]:
    """The words of `texts` that the query matched, each once, in order of appearance."""
    seen: dict[str, None] = {}
    for text in texts:
        for start, end in _spans(text, query):
            seen.setdefault(text[start:end].lower(), None)
    return list(seen)


def snippet(text: str, query: Query, *, width: int = 120) -> SafeString:
    """About `width` characters of `text` around its first match, highlighted."""
    text = " ".join(text.split())
    if len(text) <= width:
        return highlight(text, query)
    spans = _spans(text, query)
    first = spans[0][0] if spans else 0
    start = max(0, first - width // 4)
    end = min(len(text), start + width)
    start = max(0, end - width)
    piece = highlight(text[start:end], query)
    return mark_safe(("…" if start else "") + piece + ("…" if end < len(text) else ""))  # noqa: S308
