"""Asking, answering, publishing and withdrawing, and who sees what."""

from __future__ import annotations

from typing import Any

import pytest

from shebao.audit.models import AuditEvent
from shebao.consultation import selectors, services
from shebao.consultation.models import LegalBasis, Question, QuestionStatus, SearchTerm
from shebao.consultation.testing import (
    HOUSING_FUND_ANSWER,
    HOUSING_FUND_BASIS,
    answer_housing_fund,
    ask_housing_fund,
    make_consultant,
    make_individual,
)
from shebao.core.errors import Conflict, Forbidden, InvalidInput, NotFound

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultant(area):
    return make_consultant(area)


@pytest.fixture
def neighbour(area):
    """Another insured person of the same area."""
    return make_individual(area, "neighbour", "320102199003070025", "王芳")


def found(text, language="zh"):
    return [hit.question.pk for hit in selectors.question_search(text, language=language)]


def test_a_question_is_asked_answered_published_and_then_found(individual, consultant, area):
    asked = ask_housing_fund(individual)
    assert (asked.status, asked.area_id, asked.asked_by) == ("asked", area.code, individual)
    assert asked.title_zh and not asked.title_en  # kept in the language it was written in
    assert found("公积金 房贷") == []

    answered = answer_housing_fund(consultant, asked, publish=False)
    assert answered.status == QuestionStatus.ANSWERED
    assert answered.answered_by == consultant
    assert found("公积金 房贷") == []  # answered is not yet public

    published = services.question_publish(actor=consultant, question=answered)
    assert published.status == QuestionStatus.PUBLISHED and published.published_at
    assert found("公积金 房贷")[0] == asked.pk
    assert found("housing provident fund mortgage", "en")[0] == asked.pk
    hit = selectors.question_search("公积金", language="zh")[0]
    assert "<mark>公积金</mark>" in hit.title

    actions = list(
        AuditEvent.objects.filter(subject_id=str(asked.pk)).values_list("action", flat=True)
    )
    assert actions == ["question.ask", "question.answer", "question.publish"]


def test_the_asker_reads_the_answer_before_it_is_published(individual, consultant):
    asked = ask_housing_fund(individual)
    answer_housing_fund(consultant, asked, publish=False)
    mine = selectors.my_questions(individual).get()
    assert mine.status == QuestionStatus.ANSWERED
    assert mine.analysis_en == HOUSING_FUND_ANSWER["analysis_en"]
    assert [row.article_zh for row in mine.legal_basis.all()] == ["第二十四条"]


def test_a_person_cannot_see_another_persons_unpublished_question(
    individual, neighbour, consultant
):
    asked = ask_housing_fund(individual)
    with pytest.raises(NotFound):
        selectors.question_get(neighbour, asked.pk)
    with pytest.raises(NotFound):
        selectors.question_get(None, asked.pk)
    assert not selectors.my_questions(neighbour).exists()
    assert asked not in selectors.questions_for(neighbour)

    answer_housing_fund(consultant, asked, publish=True)
    assert selectors.question_get(neighbour, asked.pk) == asked
    assert selectors.question_get(None, asked.pk) == asked


def test_consultants_see_the_queue_of_their_area_and_the_national_one(
    individual, consultant, other_area
):
    asked = ask_housing_fund(individual)
    national = Question.objects.create(title_zh="全国性的问题", question_zh="问题内容")
    elsewhere = make_consultant(other_area, "consultant-bj")
    assert list(selectors.question_queue(consultant)) == [asked, national]
    assert list(selectors.question_queue(elsewhere)) == [national]
    with pytest.raises(NotFound):
        selectors.question_get(elsewhere, asked.pk)
    with pytest.raises(Forbidden):
        answer_housing_fund(elsewhere, asked, publish=False)
    with pytest.raises(Forbidden):
        selectors.question_queue(individual)


def test_a_consultant_of_any_area_answers_a_national_question(other_area):
    national = Question.objects.create(title_zh="全国性的问题", question_zh="问题内容")
    answered = answer_housing_fund(make_consultant(other_area, "bj"), national, publish=True)
    assert answered.status == QuestionStatus.PUBLISHED


def test_an_employer_asks_too_and_other_roles_do_not(employer_user, owner, consultant):
    asked = services.question_ask(
        actor=employer_user, title="How soon must we register?", question="We hired someone."
    )
    assert (asked.title_en, asked.title_zh) == ("How soon must we register?", "")
    for someone in (owner, consultant):
        with pytest.raises(Forbidden):
            ask_housing_fund(someone)


def test_an_answer_needs_both_languages_and_a_legal_basis(individual, consultant):
    asked = ask_housing_fund(individual)
    fields: dict[str, Any] = {**HOUSING_FUND_ANSWER, "legal_basis": [HOUSING_FUND_BASIS]}
    with pytest.raises(InvalidInput) as missing:
        services.question_answer(actor=consultant, question=asked, **{**fields, "title_en": None})
    assert missing.value.field == "title_en"
    with pytest.raises(InvalidInput) as no_basis:
        services.question_answer(actor=consultant, question=asked, **{**fields, "legal_basis": []})
    assert no_basis.value.field == "legal_basis"
    blank_article = HOUSING_FUND_BASIS.__class__(
        **{**HOUSING_FUND_BASIS.__dict__, "article_en": " "}
    )
    with pytest.raises(InvalidInput) as no_article:
        services.question_answer(
            actor=consultant, question=asked, **{**fields, "legal_basis": [blank_article]}
        )
    assert no_article.value.field == "legal_basis.1.article_en"
    assert Question.objects.get(pk=asked.pk).status == QuestionStatus.ASKED


def test_only_an_answered_question_is_published(individual, consultant):
    asked = ask_housing_fund(individual)
    with pytest.raises(Conflict) as refused:
        services.question_publish(actor=consultant, question=asked)
    assert refused.value.code == "question_state"
    with pytest.raises(Forbidden):
        services.question_publish(actor=individual, question=asked)


def test_editing_a_published_answer_rebuilds_its_index(individual, consultant):
    published = answer_housing_fund(consultant, ask_housing_fund(individual), publish=True)
    services.question_answer(
        actor=consultant,
        question=published,
        analysis_zh="住房公积金由住房公积金管理中心管理，可以按规定提取用于还贷。",
        analysis_en="The housing fund centre decides on withdrawals for repaying a loan.",
        legal_basis=[HOUSING_FUND_BASIS],
    )
    edited = Question.objects.get(pk=published.pk)
    assert edited.status == QuestionStatus.PUBLISHED
    assert found("centre decides withdrawals", "en")[0] == edited.pk
    assert not SearchTerm.objects.filter(question=edited, term="social").exists()
    assert LegalBasis.objects.filter(question=edited).count() == 1


def test_the_asker_withdraws_an_open_question_but_not_a_published_one(
    individual, neighbour, consultant
):
    asked = ask_housing_fund(individual)
    with pytest.raises(Forbidden):
        services.question_withdraw(actor=neighbour, question=asked)
    withdrawn = services.question_withdraw(actor=individual, question=asked, reason="已解决")
    assert (withdrawn.status, withdrawn.withdrawn_reason) == ("withdrawn", "已解决")
    assert withdrawn not in selectors.question_queue(consultant)

    published = answer_housing_fund(consultant, ask_housing_fund(individual), publish=True)
    with pytest.raises(Conflict):
        services.question_withdraw(actor=individual, question=published)
    services.question_withdraw(actor=consultant, question=published)
    assert found("公积金 房贷") == []
