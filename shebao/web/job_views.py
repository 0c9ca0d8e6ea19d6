"""Job pages: a long job's progress while it runs (the page follows it by
asking for `/jobs/<id>.json` every second, or by reloading itself without
JavaScript), then its result with links; and the list of the user's jobs.

Who may see a job is the selectors' rule; anyone else gets 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from shebao.accounts.models import User
from shebao.core.errors import NotFound
from shebao.jobs import selectors
from shebao.jobs.models import Job

JOBS_PAGE_SIZE = 50


def _job(request: HttpRequest, job_id: int) -> Job:
    user: User = request.user  # type: ignore[assignment]
    try:
        return selectors.job_get(user, job_id)
    except NotFound:
        raise Http404 from None


@login_required
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    return render(
        request,
        "web/jobs/job.html",
        {
            "job": job,
            "state": selectors.job_state(job),
            "result_template": f"web/jobs/result_{job.kind}.html",
        },
    )


@login_required
def job_json(request: HttpRequest, job_id: int) -> JsonResponse:
    response = JsonResponse(selectors.job_state(_job(request, job_id)))
    response["Cache-Control"] = "no-store"
    return response


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    """The user's jobs (staff: their area's jobs of the kinds they may start), newest first."""
    user: User = request.user  # type: ignore[assignment]
    rows = selectors.jobs_for(user).order_by("-created_at", "-pk")
    page = Paginator(rows, JOBS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "web/jobs/list.html",
        {"page": page, "items": [(job, selectors.job_state(job)) for job in page]},
    )
