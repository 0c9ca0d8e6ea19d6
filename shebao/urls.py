from django.contrib import admin
from django.urls import include, path

from shebao.api.api import api

admin.site.site_header = "shebao"
admin.site.site_title = "shebao"

urlpatterns = [
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("shebao.web.urls")),
]
