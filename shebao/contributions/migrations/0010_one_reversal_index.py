"""A declaration line's reversal is held unique by an index of the reversals
only: the one-to-one key gave every declared line an entry in a unique index,
which cost an import of a million lines some 0.6 s for nothing."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contributions", "0009_lighter_lines"),
    ]

    operations = [
        migrations.AlterField(
            model_name="declarationline",
            name="reverses",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="reversal",
                to="contributions.declarationline",
            ),
        ),
        migrations.AddConstraint(
            model_name="declarationline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reverses__isnull", False)),
                fields=("reverses",),
                name="declaration_one_reversal",
            ),
        ),
    ]
