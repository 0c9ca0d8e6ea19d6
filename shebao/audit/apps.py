from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "shebao.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        # The internal-control checks of an area's approval (condition d) register on import.
        from shebao.audit import checks  # noqa: F401
