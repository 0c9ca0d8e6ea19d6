"""People and answers for consultation tests."""

from __future__ import annotations

import datetime as dt

from shebao.accounts.models import User
from shebao.accounts.roles import Role
from shebao.accounts.services import user_create
from shebao.consultation.models import Question
from shebao.consultation.services import Basis, question_answer, question_ask, question_publish
from shebao.registry.models import Area, Person

PASSWORD = "correct horse battery staple"

SEED_QUESTION = "card-upgrade-to-class-i"

# A question about something the seed knowledge base does not answer, so that
# its words find only it.
HOUSING_FUND = {
    "title": "住房公积金可以用来还房贷吗？",
    "question": "我在南京工作，缴存住房公积金五年了，能不能提取公积金偿还商业房贷？",
}
HOUSING_FUND_ANSWER = {
    "title_en": "Can the housing provident fund repay a mortgage?",
    "question_en": "I have paid into the housing provident fund in Nanjing for five years. "
    "Can I withdraw it to repay a commercial mortgage?",
    "analysis_zh": "住房公积金不属于社会保险，由住房公积金管理中心管理。"
    "偿还购房贷款本息的，可以按规定提取住房公积金，请向公积金管理中心咨询。",
    "analysis_en": "The housing provident fund is not social insurance; the housing fund "
    "centre manages it. Withdrawals to repay a home loan are allowed as its rules prescribe; "
    "ask the housing fund centre.",
}
HOUSING_FUND_BASIS = Basis(
    law_zh="住房公积金管理条例",
    law_en="Regulations on the Administration of Housing Provident Fund",
    article_zh="第二十四条",
    article_en="Art. 24",
    text_zh="（概述）偿还购房贷款本息的，职工可以提取住房公积金账户内的存储余额。",
    text_en="(Summary) An employee may withdraw the balance of the account to repay the "
    "principal and interest of a home loan.",
    is_summary=True,
)


def make_consultant(area: Area, username: str = "consultant") -> User:
    return user_create(
        actor=None,
        username=username,
        password=PASSWORD,
        role=Role.CONSULTANT,
        area_code=area.code,
        check_password=False,
    )


def make_individual(area: Area, username: str, id_number: str, name: str) -> User:
    person = Person.objects.create(
        area=area,
        id_number=id_number,
        name=name,
        birth_date=dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14])),
        sex="F" if int(id_number[16]) % 2 == 0 else "M",
        registered_on=dt.date(2010, 1, 1),
    )
    return user_create(
        actor=None,
        username=username,
        password=PASSWORD,
        role=Role.INDIVIDUAL,
        area_code=area.code,
        check_password=False,
        person_id=person.pk,
    )


def ask_housing_fund(asker: User) -> Question:
    return question_ask(actor=asker, **HOUSING_FUND)


def answer_housing_fund(consultant: User, question: Question, *, publish: bool) -> Question:
    answered = question_answer(
        actor=consultant,
        question=question,
        legal_basis=[HOUSING_FUND_BASIS],
        topic="contributions",
        **HOUSING_FUND_ANSWER,
    )
    return question_publish(actor=consultant, question=answered) if publish else answered
