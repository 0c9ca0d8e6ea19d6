"""Complaints for the demo area, so that the demo logins show something: the
demo person's complaint about unpaid contributions (filed from their
supervision table, with the flagged months as evidence) under investigation,
and a card-service complaint they phoned in, resolved."""

from __future__ import annotations

from django.db import transaction

from shebao.accounts.models import User
from shebao.complaints import services
from shebao.complaints.models import Complaint
from shebao.complaints.selectors import supervision_for
from shebao.registry.models import Area, Employment, Person


@transaction.atomic
def demo_complaints(*, area: Area, person_user: User, officer: User) -> list[Complaint]:
    """Two cases of the demo person; nothing if the person has no employment."""
    person = Person.objects.get(pk=person_user.person_id or 0)
    employment = Employment.objects.filter(area=area, person=person).order_by("-start_date").first()
    if employment is None:
        return []
    employer = employment.employer
    flagged = supervision_for(person_user, person).flagged_of(employer.pk)
    unpaid = services.complaint_file(
        actor=person_user,
        kind=flagged[0].suggested_kind if flagged else "unpaid",
        text=(
            "工资条显示单位每月代扣了我的养老、医疗和失业保险费，"
            "但社保记录显示这几个月的费用没有缴纳，请核查。"
        ),
        employer=employer,
        months=[month.period for month in flagged],
    )
    services.complaint_accept(actor=officer, complaint=unpaid, note="属本区管辖，予以受理。")
    services.complaint_investigate(
        actor=officer, complaint=unpaid, note="已调取单位申报与缴费记录，约谈单位经办人。"
    )
    card = services.complaint_record(
        actor=officer,
        kind="card_service",
        text="来电反映：补领社保卡超过承诺时限仍未领到。",
        channel="phone",
        person=person,
    )
    services.complaint_accept(actor=officer, complaint=card)
    services.complaint_resolve(
        actor=officer,
        complaint=card,
        outcome="经查，卡片已制作完成并送达玄武区服务网点，已电话通知本人携带身份证领取。",
    )
    return [unpaid, card]
