"""The seed knowledge base: there on every fresh install, complete, and citing the law."""

from __future__ import annotations

import re

import pytest

from shebao.consultation.knowledge import knowledge, knowledge_load
from shebao.consultation.models import LegalBasis, Question, QuestionStatus, SearchTerm, Topic
from shebao.consultation.testing import SEED_QUESTION

pytestmark = pytest.mark.django_db

NUMBERED_ZH = re.compile(r"^第[一二三四五六七八九十百]+条")
NUMBERED_EN = re.compile(r"^Art\. \d+")
BANK_ACCOUNT_QUESTIONS = {SEED_QUESTION, "card-downgrade"}


def seed_questions():
    return Question.objects.exclude(key="").prefetch_related("legal_basis")


def test_the_migration_publishes_every_question_of_the_file():
    keys = {row["key"] for row in knowledge()["questions"]}
    assert len(keys) >= 30
    assert set(seed_questions().values_list("key", flat=True)) == keys
    assert all(q.status == QuestionStatus.PUBLISHED and q.published_at for q in seed_questions())
    assert SearchTerm.objects.filter(question__key=SEED_QUESTION).exists()


def test_every_seed_question_is_complete_in_both_languages_with_a_numbered_article():
    for question in seed_questions():
        for field in ("title", "question", "analysis"):
            for language in ("zh", "en"):
                assert getattr(question, f"{field}_{language}").strip(), (question.key, field)
        basis = list(question.legal_basis.all())
        assert basis, question.key
        for row in basis:
            for name in ("law", "article", "text"):
                assert getattr(row, f"{name}_zh").strip() and getattr(row, f"{name}_en").strip()
            if row.is_summary:
                assert row.text_zh.startswith("（概述）") and row.text_en.startswith("(Summary)")
        if question.key in BANK_ACCOUNT_QUESTIONS:
            # The account classes are PBOC rules, cited by their part and item.
            assert any("中国人民银行" in row.law_zh for row in basis), question.key
        else:
            assert any(
                NUMBERED_ZH.match(row.article_zh) and NUMBERED_EN.match(row.article_en)
                for row in basis
            ), question.key
        assert question.topic is not None


def cited(key):
    return {
        (row.law_zh.split("（")[0], row.article_zh)
        for row in LegalBasis.objects.filter(question__key=key)
    }


SIL = "中华人民共和国社会保险法"


@pytest.mark.parametrize(
    ("key", "article"),
    [
        ("inquiry-free-of-charge", "第四条"),
        ("inquiry-free-of-charge", "第七十四条"),
        ("personal-rights-record-statement", "第七十四条"),
        ("late-fee", "第八十六条"),
        ("undeclared-month", "第六十二条"),
        ("employer-registration-deadline", "第五十七条第一款"),
        ("employee-registration-deadline", "第五十八条"),
        ("pension-minimum-years", "第十六条"),
        ("pension-transfer", "第十九条"),
        ("personal-account-interest", "第十四条"),
        ("unemployment-duration", "第四十六条"),
        ("work-injury-who-pays", "第三十三条"),
        ("maternity-benefits", "第五十四条"),
        ("flexible-workers", "第十条"),
        ("flexible-workers", "第二十三条"),
        ("complaints-and-reports", "第八十二条"),
        ("disputes", "第八十三条"),
        ("employer-withholding", "第六十条"),
        ("contribution-base", "第十二条"),
        ("medical-after-retirement", "第二十七条"),
    ],
)
def test_the_answers_cite_the_social_insurance_law(key, article):
    assert (SIL, article) in cited(key)


def test_the_quotations_say_what_the_law_says():
    text = {
        (row.article_zh, row.law_zh.split("（")[0]): row
        for row in LegalBasis.objects.filter(question__key__in=["late-fee", "undeclared-month"])
    }
    late_fee = text[("第八十六条", SIL)]
    assert "按日加收万分之五的滞纳金" in late_fee.text_zh and not late_fee.is_summary
    assert "0.05 per cent of the arrears a day" in late_fee.text_en
    assert "百分之一百一十" in text[("第六十二条", SIL)].text_zh
    articles = knowledge()["articles"]
    assert "免费寄送本人" in articles["sil-74"]["text_zh"]
    assert "有权查询缴费记录、个人权益记录" in articles["sil-4"]["text_zh"]
    assert "最长为二十四个月" in articles["sil-46"]["text_zh"]
    assert "由十五年逐步提高至二十年" in articles["retirement-2"]["text_zh"]


def test_the_seed_question_is_answered_by_the_rule_the_system_enforces():
    question = Question.objects.get(key=SEED_QUESTION)
    assert question.title_zh == "社会保障卡可以升级为一类卡吗？"
    assert question.title_en == "Can the social security card be upgraded to a first-class card?"
    analysis = question.analysis_en
    for rule in (
        "lowered on the same card",  # downgrade in place
        "cannot be upgraded on the same card",  # no upgrade in place
        "apply for a new card",  # the way up
        "the old card is cancelled",  # when the new one is handed over
        "only one class I account with one bank",  # PBOC 2016
        "in-place upgrades",  # the area setting
    ):
        assert rule in analysis, rule
    for rule in ("降级", "不能在原卡上升级", "原卡注销", "只能有一个一类账户", "原卡升级"):
        assert rule in question.analysis_zh, rule
    laws = [row.law_zh for row in question.legal_basis.all()]
    assert any("银发〔2016〕261号" in law for law in laws)


def test_loading_the_file_again_changes_nothing():
    before = (
        Question.objects.count(),
        LegalBasis.objects.count(),
        SearchTerm.objects.count(),
        Topic.objects.count(),
    )
    loaded = knowledge_load(
        topic_model=Topic, question_model=Question, basis_model=LegalBasis, term_model=SearchTerm
    )
    assert loaded == len(knowledge()["questions"])
    after = (
        Question.objects.count(),
        LegalBasis.objects.count(),
        SearchTerm.objects.count(),
        Topic.objects.count(),
    )
    assert after == before
