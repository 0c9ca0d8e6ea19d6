"""REST endpoints: the consultation knowledge base (SIL arts. 4, 74).

Searching and reading published questions is public, without sign-in, on
purpose: consultation is free and the answers are published for everyone.
Asking needs a signed-in person or employer; answering and publishing a
consultant. Texts come in both languages; search results in the request's
language (Accept-Language), with the matched words in <mark>.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import translation
from ninja import Field, Query, Router, Schema, Status

from shebao.api.registry import actor, responses
from shebao.consultation import selectors, services
from shebao.consultation.models import TEXT_MAX, TITLE_MAX, Question
from shebao.consultation.search import Hit

router = Router(tags=["consultation"])


class BasisOut(Schema):
    order: int
    law_zh: str
    law_en: str
    article_zh: str = Field(description="e.g. 第四条")
    article_en: str = Field(description="e.g. Art. 4")
    text_zh: str
    text_en: str
    is_summary: bool = Field(description="true: the text states the rule in other words")


class QuestionOut(Schema):
    id: int
    key: str
    topic: str | None = Field(None, alias="topic.code")
    area: str | None = Field(None, alias="area_id", description="Empty for a national question")
    status: str = Field(description="asked, answered, published or withdrawn")
    title_zh: str
    title_en: str
    question_zh: str
    question_en: str
    analysis_zh: str
    analysis_en: str
    legal_basis: list[BasisOut]
    created_at: dt.datetime
    answered_at: dt.datetime | None
    published_at: dt.datetime | None

    @staticmethod
    def resolve_legal_basis(obj: Question) -> list[Any]:
        return list(obj.legal_basis.all())


class HitOut(Schema):
    id: int
    key: str
    topic: str | None
    title: str = Field(description="In the request's language")
    title_html: str = Field(description="The title, HTML-escaped, matched words in <mark>")
    snippet_html: str = Field(description="A passage, HTML-escaped, matched words in <mark>")
    matched: list[str] = Field(description="The words of the question the query matched")
    score: float = Field(description="BM25 relevance; higher is better")

    @staticmethod
    def from_hit(hit: Hit, language: str) -> HitOut:
        question = hit.question
        return HitOut(
            id=question.pk,
            key=question.key,
            topic=question.topic.code if question.topic else None,
            title=question.text("title", language),
            title_html=str(hit.title),
            snippet_html=str(hit.snippet),
            matched=hit.matched,
            score=round(hit.score, 4),
        )


class SearchQuery(Schema):
    q: str = Field("", description="Words to look for, Chinese or English", max_length=200)
    topic: str | None = Field(None, description="Only this topic's questions (its code)")
    limit: int = Field(20, ge=1, le=100)


class AskIn(Schema):
    title: str = Field(max_length=TITLE_MAX)
    question: str = Field(max_length=TEXT_MAX)
    topic: str | None = Field(None, description="A topic code, if you know it")
    language: str | None = Field(
        None, description="zh or en; by default Chinese when the text has Chinese characters"
    )


class BasisIn(Schema):
    law_zh: str
    law_en: str
    article_zh: str
    article_en: str
    text_zh: str
    text_en: str
    is_summary: bool = False


class AnswerIn(Schema):
    analysis_zh: str = Field(description="The legal analysis in plain words, Chinese")
    analysis_en: str = Field(description="The legal analysis in plain words, English")
    legal_basis: list[BasisIn] = Field(description="At least one: law, article and its text")
    title_zh: str | None = Field(None, description="Omit to keep the asker's wording")
    title_en: str | None = None
    question_zh: str | None = None
    question_en: str | None = None
    topic: str | None = None


class WithdrawIn(Schema):
    reason: str = Field("", max_length=200)


def _language() -> str:
    return selectors.language_of(translation.get_language())


# --- public --------------------------------------------------------------------


@router.get(
    "/consultation/search",
    auth=None,
    response=responses(200, list[HitOut]),
    summary="Search the published knowledge base, best first (public, no sign-in)",
)
def question_search(request: HttpRequest, query: Query[SearchQuery]) -> Any:
    language = _language()
    found = selectors.question_search(
        query.q, language=language, topic=query.topic, limit=query.limit
    )
    return [HitOut.from_hit(hit, language) for hit in found]


@router.get(
    "/consultation/questions/{question_id}",
    auth=None,
    response=responses(200, QuestionOut),
    summary="A question with its analysis and legal basis (public when published; "
    "no sign-in needed)",
)
def question_detail(request: HttpRequest, question_id: int) -> Any:
    return selectors.question_get(request.user, question_id)


# --- askers ------------------------------------------------------------------------


@router.post(
    "/consultation/questions",
    response=responses(201, QuestionOut),
    summary="Ask the agency a question, free of charge (person or employer)",
)
def question_ask(request: HttpRequest, payload: AskIn) -> Any:
    asked = services.question_ask(
        actor=actor(request),
        title=payload.title,
        question=payload.question,
        topic=payload.topic,
        language=payload.language,
    )
    return Status(201, asked)


@router.get(
    "/consultation/my-questions",
    response=responses(200, list[QuestionOut]),
    summary="My questions with their status and, once given, the answer",
)
def my_questions(request: HttpRequest) -> Any:
    return list(selectors.my_questions(actor(request))[:200])


@router.post(
    "/consultation/questions/{question_id}/withdraw",
    response=responses(200, QuestionOut),
    summary="Withdraw a question (the asker before publication, or a consultant)",
)
def question_withdraw(request: HttpRequest, question_id: int, payload: WithdrawIn) -> Any:
    user = actor(request)
    question = selectors.question_get(user, question_id)
    return services.question_withdraw(actor=user, question=question, reason=payload.reason)


# --- consultants ----------------------------------------------------------------------


@router.get(
    "/consultation/queue",
    response=responses(200, list[QuestionOut]),
    summary="Questions to answer or publish: the area's and the national ones (consultant)",
)
def question_queue(request: HttpRequest) -> Any:
    return list(selectors.question_queue(actor(request))[:500])


@router.post(
    "/consultation/questions/{question_id}/answer",
    response=responses(200, QuestionOut),
    summary="Answer in both languages with the legal basis, or edit an answer (consultant)",
)
def question_answer(request: HttpRequest, question_id: int, payload: AnswerIn) -> Any:
    user = actor(request)
    question = selectors.question_get(user, question_id)
    return services.question_answer(
        actor=user,
        question=question,
        analysis_zh=payload.analysis_zh,
        analysis_en=payload.analysis_en,
        legal_basis=[services.Basis(**row.dict()) for row in payload.legal_basis],
        title_zh=payload.title_zh,
        title_en=payload.title_en,
        question_zh=payload.question_zh,
        question_en=payload.question_en,
        topic=payload.topic,
    )


@router.post(
    "/consultation/questions/{question_id}/publish",
    response=responses(200, QuestionOut),
    summary="Publish an answered question to the knowledge base (consultant)",
)
def question_publish(request: HttpRequest, question_id: int) -> Any:
    user = actor(request)
    question = selectors.question_get(user, question_id)
    return services.question_publish(actor=user, question=question)
