"""The knowledge base in the back office: consultants edit a question and its legal
basis; saving a published question, or publishing it again, rebuilds its index."""

from __future__ import annotations

import pytest
from django.test import Client

from shebao.audit.models import AuditEvent
from shebao.consultation.models import Question, QuestionStatus
from shebao.consultation.selectors import question_search
from shebao.consultation.testing import (
    SEED_QUESTION,
    answer_housing_fund,
    ask_housing_fund,
    make_consultant,
)

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/consultation/question/"


def admin_client(user):
    client = Client()
    client.force_login(user)
    return client


def change_data(question, **changes):
    data = {
        name: getattr(question, name)
        for name in (
            "key",
            "title_zh",
            "title_en",
            "question_zh",
            "question_en",
            "analysis_zh",
            "analysis_en",
        )
    }
    data["topic"] = question.topic_id or ""
    rows = list(question.legal_basis.all())
    data.update(
        {
            "legal_basis-TOTAL_FORMS": str(len(rows)),
            "legal_basis-INITIAL_FORMS": str(len(rows)),
            "legal_basis-MIN_NUM_FORMS": "0",
            "legal_basis-MAX_NUM_FORMS": "1000",
        }
    )
    for i, row in enumerate(rows):
        prefix = f"legal_basis-{i}-"
        data[prefix + "id"] = row.pk
        data[prefix + "question"] = question.pk
        for name in ("order", "law_zh", "law_en", "article_zh", "article_en", "text_zh", "text_en"):
            data[prefix + name] = getattr(row, name)
        if row.is_summary:
            data[prefix + "is_summary"] = "on"
    data.update(changes)
    return data


def test_a_consultant_edits_a_published_question_and_it_is_searched_by_its_new_words(area):
    consultant = make_consultant(area)
    question = Question.objects.get(key=SEED_QUESTION)
    client = admin_client(consultant)
    url = f"{CHANGELIST}{question.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert "legal_basis-0-article_zh" in page.content.decode()

    title = "Can the social security card be upgraded to a premium first-class card?"
    data = change_data(question, title_en=title)
    data["legal_basis-0-article_en"] = "Part 1, item 1"
    saved = client.post(url, data)
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    question.refresh_from_db()
    assert question.title_en == title
    assert question.legal_basis.get(order=1).article_en == "Part 1, item 1"
    assert [hit.question.key for hit in question_search("premium", language="en")] == [
        SEED_QUESTION
    ]
    actions = set(
        AuditEvent.objects.filter(subject_id=str(question.pk)).values_list("action", flat=True)
    )
    assert {"question.update.admin", "question.legal_basis.admin"} <= actions


def test_the_publish_action_publishes_an_answered_question(area, individual):
    consultant = make_consultant(area)
    answered = answer_housing_fund(consultant, ask_housing_fund(individual), publish=False)
    response = admin_client(consultant).post(
        CHANGELIST, {"action": "publish", "_selected_action": [answered.pk]}
    )
    assert response.status_code == 302
    assert Question.objects.get(pk=answered.pk).status == QuestionStatus.PUBLISHED
    assert question_search("公积金", language="zh")[0].question.pk == answered.pk


def test_other_staff_read_but_do_not_edit(owner):
    question = Question.objects.get(key=SEED_QUESTION)
    client = admin_client(owner)
    url = f"{CHANGELIST}{question.pk}/change/"
    assert client.get(url).status_code == 200
    refused = client.post(url, change_data(question, title_en="Changed"))
    assert refused.status_code == 403
    assert Question.objects.get(pk=question.pk).title_en != "Changed"
