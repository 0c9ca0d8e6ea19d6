"""Searching the knowledge base: segmentation, stemming, BM25 ranking in SQL, marks."""

from __future__ import annotations

import math
from collections import defaultdict

import pytest

from shebao.consultation import search, words
from shebao.consultation.models import Question, QuestionStatus, SearchTerm
from shebao.consultation.selectors import question_search
from shebao.consultation.testing import SEED_QUESTION

pytestmark = pytest.mark.django_db


def keys(hits):
    return [hit.question.key for hit in hits]


# --- the required searches --------------------------------------------------------------


def test_it_ranks_the_seed_question_first_for_the_chinese_query():
    hits = question_search("社保卡 一类卡 升级", language="zh")
    assert keys(hits)[0] == SEED_QUESTION
    first = hits[0]
    assert str(first.title) == (
        "<mark>社会保障卡</mark>可以<mark>升级</mark>为<mark>一类卡</mark>吗？"
    )
    assert {"社保卡", "一类卡", "升级"} <= set(first.matched)
    assert "<mark>" in first.snippet
    assert first.score > hits[1].score


def test_it_ranks_the_seed_question_first_for_the_english_query():
    hits = question_search("upgrade first-class card", language="en")
    assert keys(hits)[0] == SEED_QUESTION
    title = str(hits[0].title)
    assert "<mark>upgraded</mark>" in title
    assert "<mark>first</mark>-<mark>class</mark> <mark>card</mark>" in title
    assert {"upgraded", "first", "class", "card"} <= set(hits[0].matched)


def test_it_finds_the_late_fee_question_for_its_chinese_name():
    hits = question_search("滞纳金", language="zh")
    assert keys(hits)[0] == "late-fee"
    assert "<mark>滞纳金</mark>" in hits[0].title
    assert "滞纳金" in hits[0].matched


def test_it_stems_english_words_so_other_forms_still_find_the_answer():
    hits = question_search("upgrading cards", language="en")
    assert keys(hits)[0] == SEED_QUESTION
    assert "<mark>upgraded</mark>" in hits[0].title
    assert "<mark>card</mark>" in hits[0].title


def test_a_short_form_finds_the_full_form_and_the_other_way_round():
    # 失业金 is how people say 失业保险金, the word the answers use.
    assert keys(question_search("失业金 领多久", language="zh"))[0] == "unemployment-duration"
    hits = question_search("社会保障卡 挂失", language="zh")
    assert keys(hits)[0] == "card-loss-temporary-formal"
    assert "<mark>社保卡</mark>" in hits[0].title


def test_the_results_come_in_the_readers_language():
    chinese = question_search("upgrade first-class card", language="zh")[0]
    assert str(chinese.title).startswith("社会保障卡")
    english = question_search("社保卡 一类卡 升级", language="en")[0]
    assert str(english.title).startswith("Can the social security card")


def test_the_topic_filter_keeps_only_that_topic():
    assert SEED_QUESTION in keys(question_search("一类卡 升级", language="zh", topic="cards"))
    assert SEED_QUESTION not in keys(question_search("一类卡 升级", language="zh", topic="pension"))
    assert question_search("一类卡", language="zh", topic="no-such-topic") == []


def test_a_query_of_only_common_words_finds_nothing():
    assert question_search("the of and 的 吗", language="en") == []
    assert question_search("   ", language="zh") == []


def test_withdrawn_questions_are_not_found():
    question = Question.objects.get(key=SEED_QUESTION)
    question.status = QuestionStatus.WITHDRAWN
    question.save()
    search.index_question(question)
    assert not SearchTerm.objects.filter(question=question).exists()
    assert SEED_QUESTION not in keys(question_search("社保卡 一类卡 升级", language="zh"))


# --- the ranking is BM25 ------------------------------------------------------------------


def python_bm25(query_terms):
    """The same score computed row by row in Python, as a reference for the SQL."""
    published = set(
        Question.objects.filter(status=QuestionStatus.PUBLISHED).values_list("pk", flat=True)
    )
    rows = [r for r in SearchTerm.objects.all() if r.question_id in published]
    length: defaultdict[tuple[int, str], int] = defaultdict(int)
    for r in rows:
        length[(r.question_id, r.language)] += r.weight
    documents: defaultdict[str, list[int]] = defaultdict(list)
    for (_pk, language), size in length.items():
        documents[language].append(size)
    frequency: defaultdict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r.term in query_terms:
            frequency[(r.language, r.term)] += 1
    scores: defaultdict[int, float] = defaultdict(float)
    for r in rows:
        if r.term not in query_terms:
            continue
        n = len(documents[r.language])
        average = sum(documents[r.language]) / n
        df = frequency[(r.language, r.term)]
        idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
        dl = length[(r.question_id, r.language)]
        tf = r.weight
        scores[r.question_id] += (
            idf * tf * (search.K1 + 1) / (tf + search.K1 * (1 - search.B + search.B * dl / average))
        )
    return scores


@pytest.mark.parametrize("text", ["社保卡 一类卡 升级", "upgrade first-class card", "养老金 15年"])
def test_the_sql_score_is_bm25(text):
    query = words.parse_query(text)
    expected = python_bm25(set(query.terms))
    ranked = search.rank(query, limit=50)
    assert ranked, text
    for pk, score in ranked:
        assert score == pytest.approx(expected[pk], rel=1e-6)
    best = sorted(expected.items(), key=lambda item: (-item[1], item[0]))[: len(ranked)]
    assert [pk for pk, _ in ranked] == [pk for pk, _ in best]


def test_title_words_weigh_more_than_words_of_the_analysis():
    question = Question.objects.get(key="late-fee")
    weights = {
        term: weight for language, term, weight in search.index_rows(question) if language == "zh"
    }
    # 滞纳金: once in the title (3), once in the question (2), several times in the analysis.
    analysis_count = words.terms(question.analysis_zh).count("滞纳金")
    assert weights["滞纳金"] == 3 + 2 + analysis_count


# --- words ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("forms", "stem"),
    [
        (["card", "cards"], "card"),
        (["upgrade", "upgrades", "upgraded", "upgrading"], "upgrad"),
        (["class", "classes"], "class"),
        (["policy", "policies"], "policy"),
        (["apply", "applied", "applies"], "apply"),
        (["transfer", "transferred", "transferring"], "transfer"),
        (["loss", "losses"], "loss"),
        (["status"], "status"),
        (["basis"], "basis"),
        (["2030"], "2030"),
    ],
)
def test_it_stems_english_lightly(forms, stem):
    assert {words.stem(form) for form in forms} == {stem}


def test_it_segments_chinese_with_the_domain_words_and_short_forms():
    terms = words.terms("社保卡可以升级为一类卡吗？")
    assert "社会保障卡" in terms  # 社保卡, indexed as the full form
    assert "一类卡" in terms and "升级" in terms
    assert "吗" not in terms and "可以" not in terms  # common words are dropped
    assert "？" not in terms


def test_it_reads_mixed_text():
    assert words.terms("PIN 锁定 after 6 wrong entries") == [
        "pin",
        "锁定",
        "after",
        "6",
        "wrong",
        "entry",
    ]


def test_marks_are_escaped():
    query = words.parse_query("card")
    assert str(words.highlight("<b>card</b> & cards", query)) == (
        "&lt;b&gt;<mark>card</mark>&lt;/b&gt; &amp; <mark>cards</mark>"
    )


def test_a_snippet_is_cut_around_the_first_match():
    text = "开头" * 100 + "滞纳金按日加收万分之五" + "结尾" * 100
    snippet = str(words.snippet(text, words.parse_query("滞纳金"), width=40))
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "<mark>滞纳金</mark>" in snippet
    assert len(snippet.replace("<mark>", "").replace("</mark>", "")) <= 42
