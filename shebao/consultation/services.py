"""Writes to the knowledge base: ask, answer, publish, withdraw.

Each function checks the actor's right, moves the question along
`models.TRANSITIONS`, writes, rebuilds the question's search terms when it
is (or stops being) published, and appends the audit event in the same
transaction. National questions (no area) may be answered by a consultant
of any area; an area's question only by that area's consultants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shebao.accounts.models import User
from shebao.accounts.roles import Role, require
from shebao.audit.services import audit_record, snapshot
from shebao.consultation.models import (
    TEXT_MAX,
    TITLE_MAX,
    TRANSITIONS,
    Language,
    LegalBasis,
    Question,
    QuestionStatus,
    Topic,
)
from shebao.consultation.search import index_question
from shebao.consultation.words import HAS_CJK
from shebao.core.errors import Conflict, Forbidden, InvalidInput
from shebao.core.text import required_text

ASKER_ROLES = (Role.INDIVIDUAL, Role.EMPLOYER)
AUDITED_FIELDS = (
    "status",
    "topic_id",
    "area_id",
    "title_zh",
    "title_en",
    "question_zh",
    "question_en",
    "analysis_zh",
    "analysis_en",
    "answered_by_id",
    "published_at",
    "withdrawn_reason",
)


@dataclass(frozen=True)
class Basis:
    """One citation of an answer: the law, the article and its text, both languages."""

    law_zh: str
    law_en: str
    article_zh: str
    article_en: str
    text_zh: str
    text_en: str
    is_summary: bool = False


def _audit(actor: User, action: str, question: Question, before: dict[str, Any] | None) -> None:
    after = snapshot(question, AUDITED_FIELDS)
    after["legal_basis"] = [f"{row.law_zh} {row.article_zh}" for row in question.legal_basis.all()]
    audit_record(
        actor=actor,
        action=action,
        subject=question,
        area_code=question.area_id,
        before=before,
        after=after,
    )


def _locked(question: Question) -> Question:
    return Question.objects.select_for_update().get(pk=question.pk)


def _next(question: Question, operation: str) -> str:
    try:
        return TRANSITIONS[(QuestionStatus(question.status), operation)]
    except KeyError:
        raise Conflict(
            _("A question that is %(status)s cannot be %(operation)s."),
            code="question_state",
            params={
                "status": question.get_status_display(),
                "operation": {
                    "answer": _("answered"),
                    "publish": _("published"),
                    "withdraw": _("withdrawn"),
                }[operation],
            },
        ) from None


def _topic(code: str | None) -> Topic | None:
    if not code:
        return None
    try:
        return Topic.objects.get(code=code)
    except Topic.DoesNotExist:
        raise InvalidInput(
            _("There is no topic %(code)s."),
            code="unknown_topic",
            field="topic",
            params={"code": code},
        ) from None


@transaction.atomic
def question_ask(
    *,
    actor: User,
    title: str,
    question: str,
    topic: str | None = None,
    language: str | None = None,
) -> Question:
    """A person or an employer asks the agency (SIL art. 4: free of charge).

    The question is kept in the language it was written in (`language`, or
    Chinese when the text has Chinese characters); the consultant adds the
    other language when answering.
    """
    require(actor, "question.ask", employer_id=actor.employer_id)
    title = required_text(title, "title", max_length=TITLE_MAX)
    body = required_text(question, "question", max_length=TEXT_MAX)
    if language is None:
        language = Language.ZH if HAS_CJK.search(title + body) else Language.EN
    if language not in Language.values:
        raise InvalidInput(
            _("The language is zh or en."), code="unknown_language", field="language"
        )
    asked = Question.objects.create(
        topic=_topic(topic),
        area_id=actor.area_id,
        asked_by=actor,
        **{f"title_{language}": title, f"question_{language}": body},
    )
    _audit(actor, "question.ask", asked, None)
    return asked


def _clean_basis(rows: Sequence[Basis]) -> list[Basis]:
    if not rows:
        raise InvalidInput(
            _("Cite at least one legal basis: the law, the article and its text."),
            code="legal_basis_required",
            field="legal_basis",
        )
    cleaned = []
    for number, row in enumerate(rows, start=1):
        values = {}
        for name, value in asdict(row).items():
            if name == "is_summary":
                continue
            limit = TEXT_MAX if name.startswith("text_") else (50 if "article" in name else 200)
            values[name] = required_text(value, f"legal_basis.{number}.{name}", max_length=limit)
        cleaned.append(Basis(**values, is_summary=bool(row.is_summary)))
    return cleaned


@transaction.atomic
def question_answer(
    *,
    actor: User,
    question: Question,
    analysis_zh: str,
    analysis_en: str,
    legal_basis: Sequence[Basis],
    title_zh: str | None = None,
    title_en: str | None = None,
    question_zh: str | None = None,
    question_en: str | None = None,
    topic: str | None = None,
) -> Question:
    """Answer in both languages, with the legal basis; or edit a published answer.

    Texts left as None keep their value (the asker's wording); the answer
    needs the title, the question and the analysis in both languages.
    """
    question = _locked(question)
    require(actor, "question.answer", area_code=question.area_id)
    new_status = _next(question, "answer")
    before = snapshot(question, AUDITED_FIELDS)
    given = {
        "title_zh": title_zh,
        "title_en": title_en,
        "question_zh": question_zh,
        "question_en": question_en,
        "analysis_zh": analysis_zh,
        "analysis_en": analysis_en,
    }
    for name, value in given.items():
        if value is None:
            value = getattr(question, name)
        limit = TITLE_MAX if name.startswith("title") else TEXT_MAX
        setattr(question, name, required_text(value, name, max_length=limit))
    basis = _clean_basis(legal_basis)
    if topic is not None:
        question.topic = _topic(topic)
    question.status = new_status
    question.answered_by = actor
    question.answered_at = timezone.now()
    question.save()
    LegalBasis.objects.filter(question=question).delete()
    LegalBasis.objects.bulk_create(
        LegalBasis(question=question, order=order, **asdict(row))
        for order, row in enumerate(basis, start=1)
    )
    # A published answer that is edited is searched by its new words at once.
    index_question(question)
    _audit(actor, "question.answer", question, before)
    return question


@transaction.atomic
def question_publish(*, actor: User, question: Question) -> Question:
    """Put an answered question into the public knowledge base (again: its index is rebuilt)."""
    question = _locked(question)
    require(actor, "question.publish", area_code=question.area_id)
    new_status = _next(question, "publish")
    if not question.legal_basis.exists():
        raise Conflict(
            _("An answer is published with its legal basis; add at least one article."),
            code="legal_basis_required",
            field="legal_basis",
        )
    before = snapshot(question, AUDITED_FIELDS)
    question.status = new_status
    question.published_at = question.published_at or timezone.now()
    question.save()
    index_question(question)
    _audit(actor, "question.publish", question, before)
    return question


@transaction.atomic
def question_withdraw(*, actor: User, question: Question, reason: str = "") -> Question:
    """Take a question out: the asker's own before it is published, or a consultant's."""
    question = _locked(question)
    require(actor, "question.withdraw", area_code=question.area_id, employer_id=actor.employer_id)
    if actor.role in ASKER_ROLES:
        if question.asked_by_id != actor.pk:
            raise Forbidden(_("You may withdraw only your own questions."))
        if question.status == QuestionStatus.PUBLISHED:
            raise Conflict(
                _("A published question belongs to the knowledge base; ask a consultant."),
                code="question_published",
            )
    new_status = _next(question, "withdraw")
    before = snapshot(question, AUDITED_FIELDS)
    question.status = new_status
    question.withdrawn_reason = (reason or "").strip()[:200]
    question.save()
    index_question(question)
    _audit(actor, "question.withdraw", question, before)
    return question
