"""`{% flexible_section person %}`: the flexible employment section of the person page."""

from __future__ import annotations

from typing import Any

from django import template

from shebao.registry.models import Person
from shebao.web.flexible_views import person_section

register = template.Library()


@register.inclusion_tag("web/contributions/flexible_section.html", takes_context=True)
def flexible_section(context: template.Context, person: Person) -> dict[str, Any]:
    user = context.get("user")
    section = person_section(user, person) if user is not None and user.is_authenticated else None
    return {"section": section, "csrf_token": context.get("csrf_token")}
