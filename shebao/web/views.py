"""Portal pages. Thin: every read goes through a selector (which scopes and
logs access), every write through a service."""

from __future__ import annotations

from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shebao.accounts.models import User
from shebao.accounts.roles import STAFF, Role, can
from shebao.audit.services import access_record
from shebao.cards import services as card_services
from shebao.cards.models import CardState
from shebao.cards.selectors import card_state, cards_for
from shebao.core.errors import DomainError, NotFound
from shebao.registry import selectors, services
from shebao.registry.area_settings import CATALOGUE
from shebao.registry.identifiers import mask_identity_number
from shebao.registry.models import Outlet
from shebao.web.forms import (
    EmployerForm,
    EmploymentEndForm,
    EmploymentForm,
    PersonForm,
    attach_error,
)
from shebao.web.staff_contrib_views import person_contributions


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _found(getter: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return getter(*args, **kwargs)
    except NotFound as error:
        raise Http404(error.message) from None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role == Role.INDIVIDUAL and user.person_id:
        return redirect("web:my_home")
    if user.role == Role.EMPLOYER and user.employer_id:
        return redirect("web:employer_home")
    areas = selectors.areas_for(user).annotate(
        outlet_count=Count("outlets", distinct=True),
    )
    context = {
        "can_register_person": can(user, "person.register"),
        "can_register_employer": can(user, "employer.register"),
        "areas": areas,
        "person_count": selectors.persons_for(user).count(),
        "employer_count": selectors.employers_for(user).count(),
        "late_employers": selectors.employers_for(user).filter(late_registration=True).count(),
        "late_employments": selectors.employments_for(user)
        .filter(late_registration=True, end_date__isnull=True)
        .count(),
    }
    return render(request, "web/home.html", context)


@login_required
def search(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if user.role not in STAFF:
        raise Http404
    query = request.GET.get("q", "").strip()
    persons = selectors.person_search(user, query) if query else []
    employers = []
    if query:
        text = query.upper()
        employers = list(
            selectors.employers_for(user)
            .filter(Q(credit_code=text) | Q(name__contains=query))
            .order_by("name")[:20]
        )
    rows = [{"person": p, "id_number": mask_identity_number(p.id_number)} for p in persons]
    return render(
        request, "web/search.html", {"query": query, "rows": rows, "employers": employers}
    )


class TemporaryCardForm(django_forms.Form):
    """The outlet issuing a temporary card at the counter (the person page)."""

    outlet = django_forms.ModelChoiceField(
        label=gettext_lazy("Outlet"), queryset=Outlet.objects.none(), empty_label=None
    )

    def __init__(self, *args: Any, area_code: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        outlet = self.fields["outlet"]
        assert isinstance(outlet, django_forms.ModelChoiceField)
        outlet.queryset = Outlet.objects.filter(area_id=area_code, active=True).order_by("code")


@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    """The person's record, employments and cards; card officers issue a temporary
    card here (POST) and find the links to the card pages; those who read pension
    accounts see the account and the months paid, and the way to the estimate."""
    user = _user(request)
    person = _found(selectors.person_get, user, person_id)
    counter = can(user, "card.operate") and user.area_id == person.area_id
    if request.method == "POST" and not counter:
        raise Http404
    temporary = (
        TemporaryCardForm(request.POST or None, area_code=person.area_id, prefix="temporary")
        if counter
        else None
    )
    if temporary is not None and temporary.is_bound and temporary.is_valid():
        try:
            card = card_services.card_issue_temporary(
                actor=user, person=person, outlet=temporary.cleaned_data["outlet"]
            )
        except DomainError as error:
            attach_error(temporary, error)
        else:
            messages.success(
                request,
                _("Temporary card %(number)s is issued, valid until %(to)s.")
                % {"number": card.card_number, "to": card.valid_to},
            )
            return redirect(reverse("web:person", args=[person.pk]) + "#cards")
    employments = selectors.employments_for(user).filter(person=person).order_by("-start_date")
    cards = []
    for card in (
        cards_for(user)
        .filter(person=person)
        .select_related("outlet")
        .order_by("-submitted_at", "-pk")
    ):
        state = card_state(card)
        cards.append({"card": card, "state": state, "state_label": CardState(state).label})
    return render(
        request,
        "web/person.html",
        {
            "person": person,
            "id_number": selectors.display_id_number(user, person),
            "employments": employments,
            "today": timezone.localdate(),
            "cards": cards,
            "counter": counter,
            "temporary_form": temporary,
            "contributions": person_contributions(user, person),
        },
        status=400 if temporary is not None and temporary.is_bound else 200,
    )


@login_required
def employer_detail(request: HttpRequest, employer_id: int) -> HttpResponse:
    user = _user(request)
    employer = _found(selectors.employer_get, user, employer_id)
    current = (
        selectors.employments_for(user)
        .filter(employer=employer, end_date__isnull=True)
        .order_by("person__name")
    )
    show_people = user.role != Role.INDIVIDUAL
    rows: list[dict[str, Any]] = (
        [
            {"employment": e, "id_number": mask_identity_number(e.person.id_number)}
            for e in current[:500]
        ]
        if show_people
        else []
    )
    if rows:
        access_record(
            actor=user,
            action="employer.staff_list",
            area_code=employer.area_id,
            person_ids=[r["employment"].person_id for r in rows],
            employer=employer.pk,
        )
    return render(
        request,
        "web/employer.html",
        {
            "employer": employer,
            "rows": rows,
            "staff_count": current.count(),
            "show_people": show_people,
            "can_register": can(user, "employment.register"),
            "can_declare": can(user, "declaration.submit"),
        },
    )


@login_required
def area_detail(request: HttpRequest, code: str) -> HttpResponse:
    user = _user(request)
    if user.role not in STAFF:
        raise Http404
    area = _found(selectors.area_get, user, code)
    settings_rows = [
        {"spec": spec, "value": selectors.area_setting(area.code, spec.key)}
        for spec in CATALOGUE.values()
    ]
    context = {
        "area": area,
        "outlets": area.outlets.order_by("code"),
        "person_count": area.persons.count(),
        "employer_count": area.employers.count(),
        "late_employers": area.employers.filter(late_registration=True).order_by("-registered_on")[
            :20
        ],
        "settings_rows": settings_rows,
    }
    return render(request, "web/area.html", context)


# --- registration forms ------------------------------------------------------


def _form_page(
    request: HttpRequest,
    form: django_forms.Form,
    heading: str,
    submit_label: str,
    cancel_url: str,
    subtitle: str = "",
) -> HttpResponse:
    return render(
        request,
        "web/form.html",
        {
            "form": form,
            "heading": heading,
            "submit_label": submit_label,
            "cancel_url": cancel_url,
            "subtitle": subtitle,
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def person_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not can(user, "person.register") or user.area is None:
        raise Http404
    form = PersonForm(request.POST or None)
    if form.is_valid():
        try:
            person = services.person_register(actor=user, area=user.area, **form.cleaned_data)
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, _("%(name)s is registered.") % {"name": person.name})
            return redirect("web:person", person_id=person.pk)
    return _form_page(request, form, _("Register a person"), _("Register"), reverse("web:home"))


@login_required
def employer_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not can(user, "employer.register") or user.area is None:
        raise Http404
    form = EmployerForm(request.POST or None)
    if form.is_valid():
        try:
            employer = services.employer_register(actor=user, area=user.area, **form.cleaned_data)
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, _("%(name)s is registered.") % {"name": employer.name})
            return redirect("web:employer", employer_id=employer.pk)
    return _form_page(
        request,
        form,
        _("Register an employer"),
        _("Register"),
        reverse("web:home"),
        _("Registration is due within 30 days of establishment (SIL art. 57)."),
    )


@login_required
def employment_new(request: HttpRequest, employer_id: int) -> HttpResponse:
    user = _user(request)
    employer = _found(selectors.employer_get, user, employer_id)
    if not can(user, "employment.register"):
        raise Http404
    form = EmploymentForm(request.POST or None)
    if form.is_valid():
        try:
            services.employment_register(actor=user, employer=employer, **form.cleaned_data)
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, _("The employment is registered."))
            return redirect("web:employer", employer_id=employer.pk)
    return _form_page(
        request,
        form,
        _("Register an employee of %(employer)s") % {"employer": employer.name},
        _("Register"),
        reverse("web:employer", args=[employer.pk]),
        _("Registration is due within 30 days of the start of work (SIL art. 58)."),
    )


@login_required
def employment_end(request: HttpRequest, employment_id: int) -> HttpResponse:
    user = _user(request)
    employment = _found(selectors.employment_get, user, employment_id)
    if not can(user, "employment.end"):
        raise Http404
    form = EmploymentEndForm(request.POST or None)
    if form.is_valid():
        try:
            services.employment_end(
                actor=user,
                employment=employment,
                end_date=form.cleaned_data["end_date"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            attach_error(form, error)
        else:
            messages.success(request, _("The employment has ended."))
            return redirect("web:employer", employer_id=employment.employer_id)
    return _form_page(
        request,
        form,
        _("End the employment of %(name)s") % {"name": employment.person.name},
        _("End employment"),
        reverse("web:employer", args=[employment.employer_id]),
    )
