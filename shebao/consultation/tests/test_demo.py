"""The demo area comes with questions waiting in the consultant's queue."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from shebao.accounts.models import User
from shebao.consultation.models import QuestionStatus
from shebao.consultation.selectors import my_questions, question_queue

pytestmark = pytest.mark.django_db


def test_the_demo_consultant_has_a_queue_of_asked_questions():
    call_command("demo", "--persons", "60", "--employers", "6", "--seed", "5")
    queue = list(question_queue(User.objects.get(username="consultant")))
    asked = [q for q in queue if q.status == QuestionStatus.ASKED and q.area_id == "320100"]
    assert len(asked) >= 2
    assert my_questions(User.objects.get(username="person")).count() >= 2
    assert my_questions(User.objects.get(username="employer")).exists()
