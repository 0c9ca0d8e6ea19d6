from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlansConfig(AppConfig):
    name = "shebao.plans"
    label = "plans"
    verbose_name = _("Staff, equipment and implementation plans")

    def ready(self) -> None:
        # The live checks of conditions (b) and (c) register on import.
        from shebao.plans import checks  # noqa: F401
