"""Template helpers of statements: the person page's statements and display filters."""

from __future__ import annotations

from typing import Any

from django import template

from shebao.accounts.roles import can
from shebao.contributions.models import Insurance
from shebao.inquiry.history import STATUS_LABELS
from shebao.inquiry.selectors import statements_for
from shebao.inquiry.statements import display_code
from shebao.registry.models import Person

register = template.Library()


@register.simple_tag(takes_context=True)
def person_statements(context: dict[str, Any], person: Person) -> dict[str, Any] | None:
    """The person's statements for the person page, for whoever may see them (the
    holder, staff who read statements in the area); None for anyone else."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    holder = can(user, "statement.own") and user.person_id == person.pk
    reader = can(user, "statement.read") and user.area_id == person.area_id
    if not (holder or reader):
        return None
    return {
        "statements": list(
            statements_for(user).filter(person=person).order_by("-created_at", "-pk")[:20]
        ),
        "holder": holder,
        "can_issue": can(user, "statement.issue") and user.area_id == person.area_id,
    }


@register.filter
def statement_code(code: str | None) -> str:
    return display_code(code) if code else ""


@register.filter
def month_status(value: str) -> str:
    return str(STATUS_LABELS.get(value, value))


@register.filter
def insurance_label(value: str) -> str:
    try:
        return str(Insurance(value).label)
    except ValueError:
        return value
