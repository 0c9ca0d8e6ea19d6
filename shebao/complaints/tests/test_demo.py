"""The demo logins show complaints: the demo person's, one under investigation
with evidence from their record, one resolved."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from shebao.accounts.models import User
from shebao.complaints.selectors import complaints_for

pytestmark = pytest.mark.django_db


def test_the_demo_person_has_complaints_to_follow(capsys):
    call_command("demo", "--persons", "200", "--employers", "10", "--seed", "5")
    person = User.objects.get(username="person")
    mine = list(complaints_for(person).order_by("pk"))
    assert [(c.kind, c.status) for c in mine] == [
        ("unpaid", "investigating"),
        ("card_service", "resolved"),
    ]
    # Demo bills are not paid: the months past their due day are the evidence.
    assert mine[0].evidence and all(row["flags"] for row in mine[0].evidence)
    staff = User.objects.get(username="areaadmin")
    assert complaints_for(staff).count() == 2
