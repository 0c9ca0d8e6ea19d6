from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApprovalConfig(AppConfig):
    name = "shebao.approval"
    label = "approval"
    verbose_name = _("Area approval")

    def ready(self) -> None:
        # The checks of the conditions this app can verify itself register on import.
        from shebao.approval import checks  # noqa: F401
