"""Load the seed knowledge base (data/knowledge.json) with its search index."""

from django.db import migrations


def load(apps, schema_editor):
    from shebao.consultation.knowledge import knowledge_load

    knowledge_load(
        topic_model=apps.get_model("consultation", "Topic"),
        question_model=apps.get_model("consultation", "Question"),
        basis_model=apps.get_model("consultation", "LegalBasis"),
        term_model=apps.get_model("consultation", "SearchTerm"),
    )


class Migration(migrations.Migration):
    dependencies = [("consultation", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
