"""Consultation endpoints: anyone searches and reads the published answers; asking,
answering and publishing need the right person, and unpublished questions stay
with their asker and the area's consultants."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import api_client, make_user
from shebao.accounts.roles import Role
from shebao.api.api import api
from shebao.api.tests.test_api import call, fill, fill_payload
from shebao.consultation.models import Question, QuestionStatus
from shebao.consultation.testing import (
    HOUSING_FUND_ANSWER,
    SEED_QUESTION,
    answer_housing_fund,
    ask_housing_fund,
    make_consultant,
    make_individual,
)

pytestmark = pytest.mark.django_db

BASIS = {
    "law_zh": "住房公积金管理条例",
    "law_en": "Regulations on the Administration of Housing Provident Fund",
    "article_zh": "第二十四条",
    "article_en": "Art. 24",
    "text_zh": "（概述）偿还购房贷款本息的，可以提取住房公积金。",
    "text_en": "(Summary) The fund may be withdrawn to repay a home loan.",
    "is_summary": True,
}
ANSWER = {**HOUSING_FUND_ANSWER, "legal_basis": [BASIS]}


@pytest.fixture
def world(area, other_area, individual):
    asked = ask_housing_fund(individual)
    return {
        "asked": asked.pk,
        "seed": Question.objects.get(key=SEED_QUESTION).pk,
    }


# Every consultation operation. `public` ones are open to anyone, signed in or
# not. For the others a stranger gets a refusal, except where the operation
# answers with the stranger's own part: `mine` (their own questions: none),
# `ask` (a person of area B asks in area B), `queue` (a consultant of area B
# sees B's and the national queue, not A's question).
OPERATIONS = [
    ("GET", "/consultation/search", None, "public"),
    ("GET", "/consultation/questions/{seed}", None, "public"),
    ("POST", "/consultation/questions", {"title": "问", "question": "问题"}, "ask"),
    ("GET", "/consultation/my-questions", None, "mine"),
    ("POST", "/consultation/questions/{asked}/withdraw", {}, "refused"),
    ("GET", "/consultation/queue", None, "queue"),
    ("POST", "/consultation/questions/{asked}/answer", ANSWER, "refused"),
    ("POST", "/consultation/questions/{asked}/publish", None, "refused"),
]
PRIVATE = [op for op in OPERATIONS if op[3] != "public"]


def strangers(other_area):
    """The house stranger (a registrar of area B), a consultant of area B and an
    insured person of area B."""
    return [
        make_user("stranger", Role.REGISTRAR, other_area),
        make_consultant(other_area, "consultant-bj"),
        make_individual(other_area, "holder-bj", "11010519491231002X", "李秀英"),
    ]


@pytest.mark.parametrize(("method", "path", "payload", "kind"), PRIVATE)
def test_a_stranger_is_refused(world, other_area, method, path, payload, kind):
    for someone in strangers(other_area):
        response = call(
            api_client(someone), method, fill(path, world), fill_payload(payload, world)
        )
        if kind == "mine":
            assert (response.status_code, response.json()) == (200, [])
        elif kind == "ask" and someone.role == Role.INDIVIDUAL:
            assert response.status_code == 201
            assert response.json()["area"] == other_area.code
        elif kind == "queue" and someone.role == Role.CONSULTANT:
            assert response.status_code == 200
            assert world["asked"] not in [item["id"] for item in response.json()]
        else:
            assert response.status_code in (403, 404), (someone, response.content)
            assert response.json()["code"] in ("forbidden", "not_found")
    assert Question.objects.get(pk=world["asked"]).status == QuestionStatus.ASKED


@pytest.mark.parametrize(("method", "path", "payload", "kind"), PRIVATE)
def test_an_anonymous_caller_is_refused(world, method, path, payload, kind):
    response = call(Client(), method, fill(path, world), fill_payload(payload, world))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_the_public_endpoints_say_so_in_the_api_document():
    paths = api.get_openapi_schema()["paths"]
    for path in ("/api/v1/consultation/search", "/api/v1/consultation/questions/{question_id}"):
        operation = paths[path]["get"]
        assert "public" in operation["summary"]
        assert not operation.get("security")


def test_anyone_searches_and_gets_the_seed_question_first_with_marks(world):
    chinese = call(Client(), "GET", "/consultation/search?q=社保卡 一类卡 升级").json()
    assert chinese[0]["key"] == SEED_QUESTION
    assert chinese[0]["title"] == "社会保障卡可以升级为一类卡吗？"
    assert "<mark>一类卡</mark>" in chinese[0]["title_html"]
    assert "<mark>" in chinese[0]["snippet_html"]
    english = call(
        Client(),
        "GET",
        "/consultation/search?q=upgrade first-class card",
        HTTP_ACCEPT_LANGUAGE="en",
    ).json()
    assert english[0]["key"] == SEED_QUESTION
    assert english[0]["title"].startswith("Can the social security card")
    assert "<mark>upgraded</mark>" in english[0]["title_html"]
    assert {"upgraded", "card"} <= set(english[0]["matched"])


def test_anyone_reads_a_published_question_with_its_legal_basis(world):
    body = call(Client(), "GET", f"/consultation/questions/{world['seed']}").json()
    assert body["status"] == "published" and body["area"] is None
    assert body["analysis_zh"] and body["analysis_en"]
    assert body["legal_basis"][0]["article_zh"]
    assert {"law_zh", "law_en", "article_en", "text_zh", "text_en", "is_summary"} <= set(
        body["legal_basis"][0]
    )


def test_an_unpublished_question_is_not_shown_to_strangers_or_found(world, other_area, area):
    url = f"/consultation/questions/{world['asked']}"
    assert call(Client(), "GET", url).status_code == 404
    neighbour = make_individual(area, "neighbour", "320102199003070025", "王芳")
    for someone in [*strangers(other_area)[1:], neighbour]:
        client = Client()
        client.force_login(someone)
        assert call(client, "GET", url).status_code == 404
    assert call(Client(), "GET", "/consultation/search?q=公积金 房贷").json() == []


def test_ask_answer_publish_through_the_api(area, individual):
    asker = api_client(individual)
    asked = call(
        asker,
        "POST",
        "/consultation/questions",
        {"title": "住房公积金可以用来还房贷吗？", "question": "能不能提取公积金还贷？"},
    )
    assert asked.status_code == 201, asked.content
    question_id = asked.json()["id"]
    assert asked.json()["status"] == "asked"

    desk = api_client(make_consultant(area))
    queue = call(desk, "GET", "/consultation/queue").json()
    assert question_id in [item["id"] for item in queue]
    answered = call(desk, "POST", f"/consultation/questions/{question_id}/answer", ANSWER)
    assert answered.status_code == 200, answered.content
    assert answered.json()["status"] == "answered"
    mine = call(asker, "GET", "/consultation/my-questions").json()
    assert mine[0]["analysis_en"] == HOUSING_FUND_ANSWER["analysis_en"]

    published = call(desk, "POST", f"/consultation/questions/{question_id}/publish")
    assert published.json()["status"] == "published"
    hits = call(Client(), "GET", "/consultation/search?q=公积金 房贷").json()
    assert hits[0]["id"] == question_id


def test_the_answer_is_refused_without_a_legal_basis_or_by_the_asker(area, individual):
    question = ask_housing_fund(individual)
    desk = api_client(make_consultant(area))
    refused = call(
        desk, "POST", f"/consultation/questions/{question.pk}/answer", {**ANSWER, "legal_basis": []}
    )
    assert refused.status_code == 400
    assert refused.json()["field"] == "legal_basis"
    by_asker = call(
        api_client(individual), "POST", f"/consultation/questions/{question.pk}/answer", ANSWER
    )
    assert by_asker.status_code == 403


def test_the_asker_withdraws_an_open_question(area, individual):
    question = ask_housing_fund(individual)
    response = call(
        api_client(individual),
        "POST",
        f"/consultation/questions/{question.pk}/withdraw",
        {"reason": "已解决"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    published = answer_housing_fund(
        make_consultant(area), ask_housing_fund(individual), publish=True
    )
    again = call(
        api_client(individual), "POST", f"/consultation/questions/{published.pk}/withdraw", {}
    )
    assert again.status_code == 409
