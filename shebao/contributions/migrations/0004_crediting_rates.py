"""The national crediting rates 2016-2024 (DOMAIN.md §4) as data; later years are
added in the admin as the ministry announces them."""

from decimal import Decimal

from django.db import migrations

RATES = {
    2016: "0.0831", 2017: "0.0712", 2018: "0.0829", 2019: "0.0761", 2020: "0.0604",
    2021: "0.0669", 2022: "0.0612", 2023: "0.0397", 2024: "0.0262",
}


def load(apps, schema_editor):
    CreditingRate = apps.get_model("contributions", "CreditingRate")
    for year, rate in RATES.items():
        CreditingRate.objects.get_or_create(year=year, defaults={"rate": Decimal(rate)})


def unload(apps, schema_editor):
    apps.get_model("contributions", "CreditingRate").objects.filter(year__in=RATES).delete()


class Migration(migrations.Migration):
    dependencies = [("contributions", "0003_payments_and_accounts")]
    operations = [migrations.RunPython(load, unload)]
