"""Consultation pages: the public knowledge base, asking, answering.

Everyone, signed in or not, searches and reads the published questions, in
the language of the portal (Chinese unless switched to English): the
question, the legal analysis in plain words and the legal basis with the
law, the article and its text. Persons and employers ask questions and
follow them on "My questions"; consultants work the queue of their area and
the national questions, answer in both languages with the legal basis, and
publish. Reads go through `consultation.selectors`, writes through
`consultation.services`; a service's refusal is shown at the field it
concerns.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.forms import formset_factory
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from shebao.accounts.models import User
from shebao.accounts.roles import can
from shebao.consultation import selectors, services
from shebao.consultation.models import TEXT_MAX, TITLE_MAX, Question, QuestionStatus
from shebao.core.errors import DomainError
from shebao.web.forms import attach_error
from shebao.web.views import _found, _user

RESULTS = 20


def _language() -> str:
    return selectors.language_of(translation.get_language())


def _consultant(request: HttpRequest) -> User:
    user = _user(request)
    if not user.is_authenticated or not can(user, "question.answer"):
        raise Http404
    return user


def _offer_topics(form: forms.Form, language: str, *, empty: Any) -> None:
    field = form.fields["topic"]
    assert isinstance(field, forms.ChoiceField)
    field.choices = [("", empty)] + [(t.code, t.name(language)) for t in selectors.topics()]


def _entry(question: Question, language: str) -> dict[str, Any]:
    """A question's texts in the page's language, for the templates."""
    return {
        "question": question,
        "title": question.text("title", language),
        "body": question.text("question", language),
        "analysis": question.text("analysis", language),
        "topic": question.topic.name(language) if question.topic else "",
    }


# --- the public knowledge base -----------------------------------------------------


class SearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search the answers"),
        max_length=200,
        required=False,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "autofocus": True,
                "autocomplete": "off",
                "placeholder": gettext_lazy("e.g. 社保卡 一类卡 升级, late fee, pension 15 years"),
            }
        ),
    )
    topic = forms.ChoiceField(label=gettext_lazy("Topic"), required=False)

    def __init__(self, *args: Any, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_topics(self, language, empty=_("All topics"))


def knowledge_base(request: HttpRequest) -> HttpResponse:
    """Search box, topic filter and the results with the matched words marked (public)."""
    language = _language()
    form = SearchForm(request.GET or None, language=language)
    text, topic = "", ""
    if form.is_valid():
        text, topic = form.cleaned_data["q"].strip(), form.cleaned_data["topic"]
    user = _user(request)
    context: dict[str, Any] = {
        "form": form,
        "searched": text,
        "topic": topic,
        "may_ask": user.is_authenticated and can(user, "question.ask"),
        "consultant": user.is_authenticated and can(user, "question.answer"),
    }
    if text:
        context["hits"] = [
            {"hit": hit, "topic": hit.question.topic.name(language) if hit.question.topic else ""}
            for hit in selectors.question_search(
                text, language=language, topic=topic or None, limit=RESULTS
            )
        ]
    else:
        context["entries"] = [
            _entry(question, language)
            for question in selectors.published_questions(topic=topic or None)
        ]
    return render(request, "web/consultation/index.html", context)


def question_detail(request: HttpRequest, question_id: int) -> HttpResponse:
    """The question, the analysis and the legal basis; an unpublished one only for
    its asker and the consultants."""
    user = _user(request)
    language = _language()
    question = _found(selectors.question_get, user, question_id)
    consultant = user.is_authenticated and can(user, "question.answer")
    mine = user.is_authenticated and question.asked_by_id == user.pk
    basis = [
        {
            "law": row.law(language),
            "article": row.article(language),
            "text": row.text(language),
            "is_summary": row.is_summary,
        }
        for row in question.legal_basis.all()
    ]
    return render(
        request,
        "web/consultation/question.html",
        {
            **_entry(question, language),
            "basis": basis,
            "answered": question.status in (QuestionStatus.ANSWERED, QuestionStatus.PUBLISHED),
            "may_answer": consultant and question.status != QuestionStatus.WITHDRAWN,
            "may_publish": consultant and question.status == QuestionStatus.ANSWERED,
            "language": language,
            "may_withdraw": (consultant and question.status != QuestionStatus.WITHDRAWN)
            or (mine and question.status in (QuestionStatus.ASKED, QuestionStatus.ANSWERED)),
        },
    )


# --- asking ----------------------------------------------------------------------------


class AskForm(forms.Form):
    topic = forms.ChoiceField(label=gettext_lazy("Topic"), required=False)
    title = forms.CharField(
        label=gettext_lazy("Your question in one line"),
        max_length=TITLE_MAX,
        widget=forms.TextInput(attrs={"autofocus": True}),
    )
    question = forms.CharField(
        label=gettext_lazy("Details"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy(
            "Describe your situation. Do not write identity or bank account numbers: "
            "answers may be published without your name."
        ),
    )

    def __init__(self, *args: Any, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_topics(self, language, empty=_("I do not know"))


@login_required
def question_ask(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not can(user, "question.ask"):
        raise Http404
    form = AskForm(request.POST or None, language=_language())
    if request.method == "POST" and form.is_valid():
        try:
            asked = services.question_ask(
                actor=user,
                title=form.cleaned_data["title"],
                question=form.cleaned_data["question"],
                topic=form.cleaned_data["topic"] or None,
            )
        except DomainError as error:
            attach_error(form, error, fallback="question")
        else:
            messages.success(
                request,
                _("Your question is sent (number %(id)d). Consultation is free of charge.")
                % {"id": asked.pk},
            )
            return redirect("web:my_questions")
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "heading": _("Ask a question"),
            "subtitle": _(
                "The social insurance agency answers questions free of charge (Social "
                "Insurance Law, arts. 4 and 74). Look in the knowledge base first: your "
                "question may already be answered."
            ),
            "submit_label": _("Send the question"),
            "cancel_url": reverse("web:consultation"),
        },
    )


@login_required
def my_questions(request: HttpRequest) -> HttpResponse:
    language = _language()
    user = _user(request)
    return render(
        request,
        "web/consultation/mine.html",
        {
            "entries": [_entry(q, language) for q in selectors.my_questions(user)],
            "may_ask": can(user, "question.ask"),
        },
    )


@login_required
@require_POST
def question_withdraw(request: HttpRequest, question_id: int) -> HttpResponse:
    user = _user(request)
    question = _found(selectors.question_get, user, question_id)
    try:
        services.question_withdraw(
            actor=user, question=question, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("web:question", question_id=question.pk)
    messages.success(request, _("The question is withdrawn."))
    if can(user, "question.answer"):
        return redirect("web:question_queue")
    return redirect("web:my_questions")


# --- consultants ---------------------------------------------------------------------------


@login_required
def question_queue(request: HttpRequest) -> HttpResponse:
    user = _consultant(request)
    language = _language()
    return render(
        request,
        "web/consultation/queue.html",
        {"entries": [_entry(q, language) for q in selectors.question_queue(user)]},
    )


class AnswerForm(forms.Form):
    topic = forms.ChoiceField(label=gettext_lazy("Topic"))
    title_zh = forms.CharField(label=gettext_lazy("Title (Chinese)"), max_length=TITLE_MAX)
    title_en = forms.CharField(label=gettext_lazy("Title (English)"), max_length=TITLE_MAX)
    question_zh = forms.CharField(
        label=gettext_lazy("Question (Chinese)"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    question_en = forms.CharField(
        label=gettext_lazy("Question (English)"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    analysis_zh = forms.CharField(
        label=gettext_lazy("Legal analysis in plain words (Chinese)"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    analysis_en = forms.CharField(
        label=gettext_lazy("Legal analysis in plain words (English)"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args: Any, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _offer_topics(self, language, empty="—")


class BasisForm(forms.Form):
    law_zh = forms.CharField(label=gettext_lazy("Law (Chinese)"), max_length=200)
    law_en = forms.CharField(label=gettext_lazy("Law (English)"), max_length=200)
    article_zh = forms.CharField(
        label=gettext_lazy("Article (Chinese)"),
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "第四条"}),
    )
    article_en = forms.CharField(
        label=gettext_lazy("Article (English)"),
        max_length=50,
        widget=forms.TextInput(attrs={"placeholder": "Art. 4"}),
    )
    text_zh = forms.CharField(
        label=gettext_lazy("Text of the article (Chinese)"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    text_en = forms.CharField(
        label=gettext_lazy("Text of the article (English)"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    is_summary = forms.BooleanField(
        label=gettext_lazy("The text is a summary, not a quotation"), required=False
    )


BasisFormSet = formset_factory(BasisForm, extra=1, min_num=1, validate_min=True, can_delete=True)


def _basis_initial(question: Question) -> list[dict[str, Any]]:
    return [
        {
            "law_zh": row.law_zh,
            "law_en": row.law_en,
            "article_zh": row.article_zh,
            "article_en": row.article_en,
            "text_zh": row.text_zh,
            "text_en": row.text_en,
            "is_summary": row.is_summary,
        }
        for row in question.legal_basis.all()
    ]


def _basis_rows(formset: Any) -> list[services.Basis]:
    return [
        services.Basis(**{k: v for k, v in form.cleaned_data.items() if k != "DELETE"})
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


@login_required
def question_answer(request: HttpRequest, question_id: int) -> HttpResponse:
    """The answer form: texts in both languages and the legal basis rows; "Save and
    publish" answers and publishes in one go."""
    user = _consultant(request)
    language = _language()
    question = _found(selectors.question_get, user, question_id)
    if question.status == QuestionStatus.WITHDRAWN:
        raise Http404
    initial = {
        "topic": question.topic.code if question.topic else "",
        **{name: getattr(question, name) for name in AnswerForm.base_fields if name != "topic"},
    }
    data = request.POST if request.method == "POST" else None
    form = AnswerForm(data, initial=initial, language=language)
    formset = BasisFormSet(data, initial=_basis_initial(question), prefix="basis")
    if data is not None and form.is_valid() and formset.is_valid():
        fields = form.cleaned_data
        try:
            answered = services.question_answer(
                actor=user,
                question=question,
                topic=fields["topic"],
                title_zh=fields["title_zh"],
                title_en=fields["title_en"],
                question_zh=fields["question_zh"],
                question_en=fields["question_en"],
                analysis_zh=fields["analysis_zh"],
                analysis_en=fields["analysis_en"],
                legal_basis=_basis_rows(formset),
            )
            if "publish" in request.POST:
                services.question_publish(actor=user, question=answered)
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(
                request,
                _("The answer is published.")
                if "publish" in request.POST
                else _("The answer is saved."),
            )
            return redirect("web:question", question_id=question.pk)
    return render(
        request,
        "web/consultation/answer.html",
        {**_entry(question, language), "form": form, "formset": formset},
    )


@login_required
@require_POST
def question_publish(request: HttpRequest, question_id: int) -> HttpResponse:
    user = _consultant(request)
    question = _found(selectors.question_get, user, question_id)
    try:
        services.question_publish(actor=user, question=question)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The answer is published."))
    return redirect("web:question", question_id=question.pk)
