"""The consultation pages: the public knowledge base, asking, the consultant's queue."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from shebao.consultation.models import Question, QuestionStatus
from shebao.consultation.testing import (
    SEED_QUESTION,
    answer_housing_fund,
    ask_housing_fund,
    make_consultant,
    make_individual,
)

pytestmark = pytest.mark.django_db


def signed_in(user, language=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    if language:
        client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


@pytest.fixture
def consultant(area):
    return make_consultant(area)


def test_anyone_searches_the_knowledge_base_and_sees_the_matches_marked():
    page = Client().get(reverse("web:consultation"), {"q": "社保卡 一类卡 升级"})
    assert page.status_code == 200
    first = page.context["hits"][0]["hit"]
    assert first.question.key == SEED_QUESTION
    html = page.content.decode()
    assert "<mark>社会保障卡</mark>可以<mark>升级</mark>为<mark>一类卡</mark>吗？" in html
    assert reverse("web:question", args=[first.question.pk]) in html


def test_the_topic_filter_and_the_list_without_a_query():
    everything = Client().get(reverse("web:consultation"))
    assert len(everything.context["entries"]) >= 30
    cards = Client().get(reverse("web:consultation"), {"topic": "cards"})
    assert {e["question"].topic.code for e in cards.context["entries"]} == {"cards"}
    assert "社会保障卡可以升级为一类卡吗？" in cards.content.decode()


def test_the_question_page_shows_the_analysis_and_the_legal_basis_in_chinese_by_default():
    question = Question.objects.get(key="late-fee")
    html = Client().get(reverse("web:question", args=[question.pk])).content.decode()
    assert question.title_zh in html
    assert "第八十六条" in html and "中华人民共和国社会保险法" in html
    assert "按日加收万分之五的滞纳金" in html


def test_the_question_page_in_english_when_switched():
    question = Question.objects.get(key="late-fee")
    client = signed_in(None, "en")
    with translation.override("en"):
        html = client.get(reverse("web:question", args=[question.pk])).content.decode()
        assert question.title_en in html
        assert "Art. 86" in html and "Social Insurance Law" in html
        assert "Legal basis" in html
        assert "translations for reference" in html


def test_a_person_asks_follows_and_the_consultant_answers_and_publishes(individual, consultant):
    client = signed_in(individual)
    form = client.get(reverse("web:question_ask"))
    assert form.status_code == 200
    sent = client.post(
        reverse("web:question_ask"),
        {
            "topic": "",
            "title": "住房公积金可以用来还房贷吗？",
            "question": "能不能提取公积金还贷？",
        },
    )
    assert sent.status_code == 302 and sent["Location"] == reverse("web:my_questions")
    asked = Question.objects.get(asked_by=individual)
    mine = client.get(reverse("web:my_questions"))
    assert [e["question"] for e in mine.context["entries"]] == [asked]
    assert "state-asked" in mine.content.decode()

    desk = signed_in(consultant)
    queue = desk.get(reverse("web:question_queue"))
    assert asked in [e["question"] for e in queue.context["entries"]]
    answer_url = reverse("web:question_answer", args=[asked.pk])
    assert desk.get(answer_url).status_code == 200
    posted = desk.post(
        answer_url,
        {
            "topic": "contributions",
            "title_zh": "住房公积金可以用来还房贷吗？",
            "title_en": "Can the housing provident fund repay a mortgage?",
            "question_zh": "能不能提取公积金还贷？",
            "question_en": "Can I withdraw the housing fund to repay my loan?",
            "analysis_zh": "住房公积金不属于社会保险，可以按规定提取偿还购房贷款。",
            "analysis_en": "The housing fund is not social insurance; withdrawals for a home "
            "loan are allowed as its rules prescribe.",
            "basis-TOTAL_FORMS": "1",
            "basis-INITIAL_FORMS": "0",
            "basis-MIN_NUM_FORMS": "1",
            "basis-MAX_NUM_FORMS": "1000",
            "basis-0-law_zh": "住房公积金管理条例",
            "basis-0-law_en": "Regulations on the Administration of Housing Provident Fund",
            "basis-0-article_zh": "第二十四条",
            "basis-0-article_en": "Art. 24",
            "basis-0-text_zh": "（概述）偿还购房贷款本息的，可以提取住房公积金。",
            "basis-0-text_en": "(Summary) The fund may be withdrawn to repay a home loan.",
            "basis-0-is_summary": "on",
            "publish": "1",
        },
    )
    assert posted.status_code == 302, posted.context and posted.context["form"].errors
    published = Question.objects.get(pk=asked.pk)
    assert published.status == QuestionStatus.PUBLISHED
    assert published.legal_basis.get().is_summary

    found = Client().get(reverse("web:consultation"), {"q": "公积金 房贷"})
    assert found.context["hits"][0]["hit"].question == published
    page = Client().get(reverse("web:question", args=[asked.pk])).content.decode()
    assert "第二十四条" in page


def test_an_answer_without_a_legal_basis_is_refused_at_the_form(individual, consultant):
    asked = ask_housing_fund(individual)
    response = signed_in(consultant).post(
        reverse("web:question_answer", args=[asked.pk]),
        {
            "topic": "contributions",
            "title_zh": "标题",
            "title_en": "Title",
            "question_zh": "问题",
            "question_en": "Question",
            "analysis_zh": "分析",
            "analysis_en": "Analysis",
            "basis-TOTAL_FORMS": "1",
            "basis-INITIAL_FORMS": "0",
            "basis-MIN_NUM_FORMS": "1",
            "basis-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 200
    assert response.context["formset"].non_form_errors()
    assert Question.objects.get(pk=asked.pk).status == QuestionStatus.ASKED


def test_an_unpublished_question_is_hidden_from_others(individual, area, consultant):
    asked = ask_housing_fund(individual)
    url = reverse("web:question", args=[asked.pk])
    neighbour = make_individual(area, "neighbour", "320102199003070025", "王芳")
    assert signed_in(neighbour).get(url).status_code == 404
    assert Client().get(url).status_code == 404
    assert signed_in(individual).get(url).status_code == 200
    assert signed_in(consultant).get(url).status_code == 200
    answer_housing_fund(consultant, asked, publish=True)
    assert Client().get(url).status_code == 200


def test_the_asker_withdraws_from_the_question_page(individual):
    asked = ask_housing_fund(individual)
    client = signed_in(individual)
    assert client.get(reverse("web:question", args=[asked.pk])).context["may_withdraw"]
    response = client.post(reverse("web:question_withdraw", args=[asked.pk]))
    assert response.status_code == 302
    assert Question.objects.get(pk=asked.pk).status == QuestionStatus.WITHDRAWN


def test_pages_that_are_not_public_are_refused(individual, owner):
    for name in ("web:question_ask", "web:my_questions", "web:question_queue"):
        response = Client().get(reverse(name))
        assert response.status_code == 302 and reverse("web:login") in response["Location"]
    assert signed_in(individual).get(reverse("web:question_queue")).status_code == 404
    assert signed_in(owner).get(reverse("web:question_ask")).status_code == 404
    seed = Question.objects.get(key=SEED_QUESTION)
    assert (
        signed_in(individual).get(reverse("web:question_answer", args=[seed.pk])).status_code == 404
    )
    assert (
        signed_in(individual).post(reverse("web:question_publish", args=[seed.pk])).status_code
        == 404
    )


def test_the_navigation_links_to_the_knowledge_base(individual):
    html = signed_in(individual).get(reverse("web:consultation")).content.decode()
    assert f'href="{reverse("web:consultation")}"' in html
    assert reverse("web:question_ask") in html
