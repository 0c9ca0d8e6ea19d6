from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmergencyConfig(AppConfig):
    name = "shebao.emergency"
    verbose_name = _("Emergency plans")

    def ready(self) -> None:
        from shebao.emergency import jobs  # noqa: F401 - registers backups and restores as jobs
