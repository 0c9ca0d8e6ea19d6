"""The staff portal: sign-in, search, person/employer/area pages, languages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from shebao.audit.models import AccessEvent

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_pages_need_a_sign_in(person):
    for url in [
        reverse("web:home"),
        reverse("web:search"),
        reverse("web:person", args=[person.pk]),
    ]:
        response = Client().get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("web:login"))


def test_the_login_page_is_chinese_even_for_an_english_browser():
    chinese = Client(HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").get(reverse("web:login"))
    assert '<html lang="zh-hans">' in chinese.content.decode()
    assert "登录" in chinese.content.decode()


def test_english_is_one_switch_away():
    client = Client()
    client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    english = client.get(reverse("web:login"))
    assert '<html lang="en">' in english.content.decode()
    assert "Sign in" in english.content.decode()


def test_the_language_switch_remembers_the_choice(owner):
    client = signed_in(owner)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Overview" in client.get(reverse("web:home")).content.decode()


def test_staff_search_by_id_suffix_shows_masked_numbers_and_is_logged(owner, person):
    response = signed_in(owner).get(reverse("web:search"), {"q": "3314"})
    page = response.content.decode()
    assert person.name in page
    assert "3201**********3314" in page
    assert person.id_number not in page
    assert AccessEvent.objects.filter(actor=owner, action="person.search").exists()


def test_the_person_page_shows_the_record_and_logs_the_read(owner, person, employment):
    response = signed_in(owner).get(reverse("web:person", args=[person.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    assert person.id_number in page  # registrars see the full number
    assert employment.employer.name in page
    assert AccessEvent.objects.get(actor=owner).person_ids == [person.pk]


def test_a_stranger_gets_404_for_another_areas_pages(stranger, person, employer, area):
    client = signed_in(stranger)
    assert client.get(reverse("web:person", args=[person.pk])).status_code == 404
    assert client.get(reverse("web:employer", args=[employer.pk])).status_code == 404
    assert client.get(reverse("web:area", args=[area.code])).status_code == 404
    results = client.get(reverse("web:search"), {"q": person.name})
    assert results.context["rows"] == []
    assert reverse("web:person", args=[person.pk]) not in results.content.decode()


def test_an_employer_user_lands_on_its_employer_page_with_masked_staff(employer_user, employment):
    client = signed_in(employer_user)
    response = client.get(reverse("web:home"), follow=True)
    page = response.content.decode()
    assert employment.employer.name in page
    assert "3201**********3314" in page
    assert client.get(reverse("web:search"), {"q": "张"}).status_code == 404


def test_an_individual_lands_on_their_own_page(individual, person):
    client = signed_in(individual)
    response = client.get(reverse("web:home"), follow=True)
    assert person.id_number in response.content.decode()
    assert not AccessEvent.objects.exists()


def test_the_area_page_lists_outlets_and_settings(area_admin, area):
    area.outlets.create(code="WD001", name="玄武区社保服务大厅")
    page = signed_in(area_admin).get(reverse("web:area", args=[area.code])).content.decode()
    assert "玄武区社保服务大厅" in page
    assert "temporary_loss_days" in page


def test_static_assets_are_served_locally(owner):
    page = signed_in(owner).get(reverse("web:home")).content.decode()
    assert "/static/shebao/app.css" in page
    assert "http://" not in page and "https://" not in page
    css = Client().get("/static/shebao/app.css")
    assert css.status_code == 200
    assert b"--accent" in b"".join(css.streaming_content)  # type: ignore[attr-defined]


def test_the_admin_shows_back_office_tables_to_area_admins_only(area_admin, owner, individual):
    assert signed_in(area_admin).get("/admin/registry/outlet/").status_code == 200
    assert signed_in(individual).get("/admin/").status_code == 302


def test_a_registrar_registers_a_person_from_the_portal(owner):
    client = signed_in(owner)
    assert client.get(reverse("web:person_new")).status_code == 200
    response = client.post(
        reverse("web:person_new"), {"id_number": "11010519491231002x", "name": "李秀英"}
    )
    assert response.status_code == 302
    person_page = client.get(response["Location"]).content.decode()
    assert "11010519491231002X" in person_page and "1949-12-31" in person_page


def test_a_bad_identity_number_is_shown_at_its_field_and_nothing_is_kept(owner):
    client = signed_in(owner)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    response = client.post(
        reverse("web:person_new"), {"id_number": "110105194912310021", "name": "李秀英"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["id_number"] == [
        "Identity number check character should be X, not 1."
    ]
    assert 'value="110105194912310021"' in response.content.decode()  # input kept to fix


def test_an_employer_registers_and_ends_an_employment_from_the_portal(employer_user, employer):
    client = signed_in(employer_user)
    response = client.post(
        reverse("web:employment_new", args=[employer.pk]),
        {"id_number": "11010519491231002X", "name": "李秀英", "start_date": "2024-02-01"},
    )
    assert response.status_code == 302
    employment = employer.employments.get()
    response = client.post(
        reverse("web:employment_end", args=[employment.pk]),
        {"end_date": "2025-01-31", "reason": "合同期满"},
    )
    assert response.status_code == 302
    employment.refresh_from_db()
    assert employment.end_date.isoformat() == "2025-01-31"


def test_registration_forms_are_refused_to_roles_without_the_right(colleague, stranger, employer):
    assert signed_in(colleague).get(reverse("web:person_new")).status_code == 404
    assert signed_in(colleague).get(reverse("web:employer_new")).status_code == 404
    response = signed_in(stranger).get(reverse("web:employment_new", args=[employer.pk]))
    assert response.status_code == 404
