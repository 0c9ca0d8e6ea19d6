"""Reads of the knowledge base, scoped to who is looking.

Published questions are public: everyone sees them, signed in or not. An
asker also sees their own questions in any state (and the answer as soon as
it is given, before it is published); a consultant sees the questions of
their area and the national ones; the ministry sees all.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from shebao.accounts.roles import Role, require
from shebao.consultation import search, words
from shebao.consultation.models import Language, Question, QuestionStatus, Topic
from shebao.core.errors import NotFound

OPEN_STATES = (QuestionStatus.ASKED, QuestionStatus.ANSWERED)


def language_of(code: str | None) -> str:
    """The knowledge base language for a Django language code: English or Chinese."""
    return Language.EN if (code or "").startswith("en") else Language.ZH


def topics() -> QuerySet[Topic]:
    return Topic.objects.all()


def questions_for(user: Any) -> QuerySet[Question]:
    rows = Question.objects.select_related("topic", "area")
    published = Q(status=QuestionStatus.PUBLISHED)
    if user is None or not user.is_authenticated:
        return rows.filter(published)
    if user.role == Role.MINISTRY_ADMIN:
        return rows
    if user.role == Role.CONSULTANT:
        return rows.filter(published | Q(area_id=user.area_id) | Q(area__isnull=True))
    return rows.filter(published | Q(asked_by_id=user.pk))


def question_get(user: Any, pk: int) -> Question:
    try:
        return questions_for(user).prefetch_related("legal_basis").get(pk=pk)
    except (Question.DoesNotExist, ValueError):
        raise NotFound(_("No question with that number is visible to you.")) from None


def published_questions(*, topic: str | None = None) -> QuerySet[Question]:
    rows = Question.objects.select_related("topic", "area").filter(status=QuestionStatus.PUBLISHED)
    if topic:
        rows = rows.filter(topic__code=topic)
    return rows.order_by("topic__order", "pk")


def my_questions(user: Any) -> QuerySet[Question]:
    """The questions the user asked, newest first (none for anyone not signed in)."""
    if user is None or not user.is_authenticated:
        return Question.objects.none()
    return (
        Question.objects.select_related("topic")
        .prefetch_related("legal_basis")
        .filter(asked_by_id=user.pk)
        .order_by("-created_at", "-pk")
    )


def question_queue(user: Any) -> QuerySet[Question]:
    """Questions waiting for an answer or for publication: the consultant's area and
    the national ones, oldest first."""
    require(user, "question.answer")
    rows = questions_for(user).filter(status__in=OPEN_STATES)
    if user.role != Role.MINISTRY_ADMIN:
        rows = rows.filter(Q(area_id=user.area_id) | Q(area__isnull=True))
    return (
        rows.select_related("asked_by").prefetch_related("legal_basis").order_by("created_at", "pk")
    )


def question_search(
    text: str, *, language: str, topic: str | None = None, limit: int = 20
) -> list[search.Hit]:
    """Published questions matching `text`, best first, with the matched words marked."""
    query = words.parse_query(text)
    topic_id = None
    if topic:
        topic_id = Topic.objects.filter(code=topic).values_list("pk", flat=True).first()
        if topic_id is None:
            return []
    return search.hits(query, language, topic_id=topic_id, limit=limit)
