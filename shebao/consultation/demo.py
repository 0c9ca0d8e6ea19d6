"""Questions for the demo area: asked on the portal and not yet answered, so
that the consultant's demo login finds a queue."""

from __future__ import annotations

from shebao.accounts.models import User
from shebao.consultation.models import Question
from shebao.consultation.services import question_ask

DEMO_QUESTIONS = [
    (
        "person",
        "cards",
        "社保卡在外地医院能用吗？",
        "我下个月去上海出差，如果生病了，能不能在上海的医院用南京的社保卡直接结算？"
        "需要提前办什么手续？",
    ),
    (
        "person",
        "pension",
        "中途换了几家单位，养老保险年限会不会断？",
        "我十年里换了三家单位，中间有两个月没有工作，也没有交社保。这两个月会影响我的缴费年限吗？",
    ),
    (
        "employer",
        "contributions",
        "Can we pay a new employee's contributions from next month?",
        "We hired someone on the 20th of this month. Is it enough to register and pay from next "
        "month, or must the current month be paid too?",
    ),
]


def demo_consultation(*, person_user: User, employer_user: User) -> list[Question]:
    askers = {"person": person_user, "employer": employer_user}
    return [
        question_ask(actor=askers[who], title=title, question=body, topic=topic)
        for who, topic, title, body in DEMO_QUESTIONS
    ]
