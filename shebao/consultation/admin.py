"""The knowledge base in the back office: questions with their legal basis.

Consultants edit the wording and the citations here. The status moves only
through the services (the actions below); saving a published question
rebuilds its search terms at once, and so does publishing it again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from shebao.accounts.roles import can
from shebao.audit.services import audit_record
from shebao.consultation import selectors, services
from shebao.consultation.models import LegalBasis, Question, QuestionStatus, Topic
from shebao.consultation.search import index_question
from shebao.core.admin_base import ShebaoAdmin, actor_of, area_code_of
from shebao.core.errors import DomainError


class LegalBasisInline(admin.StackedInline):
    model = LegalBasis
    extra = 0
    fields = [
        "order",
        ("law_zh", "law_en"),
        ("article_zh", "article_en"),
        "text_zh",
        "text_en",
        "is_summary",
    ]

    def _may_edit(self, request: HttpRequest) -> bool:
        return can(actor_of(request), "question.answer")

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_edit(request)


def _basis_of(question: Question) -> list[services.Basis]:
    return [
        services.Basis(
            law_zh=row.law_zh,
            law_en=row.law_en,
            article_zh=row.article_zh,
            article_en=row.article_en,
            text_zh=row.text_zh,
            text_en=row.text_en,
            is_summary=row.is_summary,
        )
        for row in question.legal_basis.all()
    ]


@admin.register(Question)
class QuestionAdmin(ShebaoAdmin):
    change_capability = "question.answer"
    area_field = None
    list_display = ["id", "__str__", "topic", "area", "status", "asked_by", "published_at"]
    list_filter = ["status", "topic"]
    search_fields = ["title_zh", "title_en", "key"]
    readonly_fields = [
        "status",
        "area",
        "asked_by",
        "answered_by",
        "answered_at",
        "published_at",
        "created_at",
        "updated_at",
    ]
    fields = [
        "key",
        "topic",
        ("status", "area"),
        ("title_zh", "title_en"),
        "question_zh",
        "question_en",
        "analysis_zh",
        "analysis_en",
        ("asked_by", "answered_by"),
        ("answered_at", "published_at"),
        ("created_at", "updated_at"),
    ]
    inlines = [LegalBasisInline]
    actions = ["publish", "withdraw"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Question]:
        return selectors.questions_for(request.user)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # questions are asked on the portal or come from the knowledge file

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return can(actor_of(request), "question.answer")

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        question = form.instance
        audit_record(
            actor=actor_of(request),
            action="question.legal_basis.admin",
            subject=question,
            area_code=area_code_of(question),
            after={"legal_basis": [str(row) for row in question.legal_basis.all()]},
        )
        if question.status == QuestionStatus.PUBLISHED:
            index_question(question)

    @admin.action(description=_("Publish (answered questions; republishing rebuilds the index)"))
    def publish(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        actor = actor_of(request)
        for question in queryset:
            try:
                if question.status == QuestionStatus.ASKED:
                    services.question_answer(
                        actor=actor,
                        question=question,
                        analysis_zh=question.analysis_zh,
                        analysis_en=question.analysis_en,
                        legal_basis=_basis_of(question),
                    )
                services.question_publish(actor=actor, question=question)
            except DomainError as error:
                self.message_user(request, f"{question}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, _("Published: %s") % question, messages.SUCCESS)

    @admin.action(description=_("Withdraw"))
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Question]) -> None:
        for question in queryset:
            try:
                services.question_withdraw(actor=actor_of(request), question=question)
            except DomainError as error:
                self.message_user(request, f"{question}: {error.message}", messages.ERROR)


@admin.register(Topic)
class TopicAdmin(ShebaoAdmin):
    change_capability = "question.publish"
    area_field = None
    list_display = ["code", "name_zh", "name_en", "order"]
