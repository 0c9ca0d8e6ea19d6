"""An employer sends a month's wages and sees each refused row with its reason."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from shebao.contributions.models import DeclarationLine

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


def october(*rows):
    body = "\n".join(["身份证号码,姓名,月工资", *rows]) + "\n"
    return SimpleUploadedFile("october.csv", body.encode(), content_type="text/csv")


def test_an_employer_uploads_a_file_with_one_bad_row(employer_user, employment):
    client = signed_in(employer_user)
    page = client.get(reverse("web:declaration_upload"))
    assert page.status_code == 200 and '<html lang="zh-hans">' in page.content.decode()
    response = client.post(
        reverse("web:declaration_upload"),
        {
            "period": "2026-10",
            "file": october("320106198503023314,张伟,9000", "110105194912310021,李秀英,8000"),
        },
    )
    assert response.status_code == 302
    job = client.get(response["Location"])  # the job's page, then its result
    upload_id = job.context["state"]["result"]["upload"]
    result = client.get(reverse("web:declaration_upload_result", args=[upload_id]))
    assert reverse("web:declaration_upload_result", args=[upload_id]) in job.content.decode()
    html = result.content.decode()
    assert result.context["upload"].rows_accepted == 1
    assert "1101**********0021" in html and "X" in html  # the line and what is expected
    assert DeclarationLine.objects.count() == 1
    errors = client.get(
        reverse("web:declaration_upload_errors", args=[result.context["upload"].pk])
    )
    assert "id_number_check" in errors.content.decode()


def test_a_file_without_columns_is_refused_at_the_file_field(employer_user, employment):
    client = signed_in(employer_user)
    bad = SimpleUploadedFile("x.csv", b"a,b\n1,2\n", content_type="text/csv")
    response = client.post(reverse("web:declaration_upload"), {"period": "2026-10", "file": bad})
    assert response.status_code == 400
    assert response.context["form"].errors["file"]


def test_others_cannot_see_an_employers_upload(employer_user, employment, stranger, individual):
    client = signed_in(employer_user)
    response = client.post(
        reverse("web:declaration_upload"),
        {"period": "2026-10", "file": october("320106198503023314,张伟,9000")},
    )
    job_url = response["Location"]
    upload_id = client.get(job_url).context["state"]["result"]["upload"]
    url = reverse("web:declaration_upload_result", args=[upload_id])
    for page in (job_url, url):
        assert signed_in(stranger).get(page).status_code == 404
        assert signed_in(individual).get(page).status_code == 404
    assert signed_in(individual).get(reverse("web:declaration_upload")).status_code == 404
