"""The seed knowledge base: `data/knowledge.json`, loaded by a migration.

The file is meant to be read and edited by people: topics, the laws, the
articles quoted (or summarised, `is_summary`) and the questions, each citing
articles by key. `knowledge_load` writes it into the database; it takes the
model classes as arguments so that the migration can pass its historical
models, and it is idempotent: a question already there (by `key`) is
updated, with its legal basis and search terms rebuilt.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from django.utils import timezone

from shebao.consultation.search import index_rows

KNOWLEDGE_FILE = Path(__file__).resolve().parent / "data" / "knowledge.json"


@cache
def knowledge() -> dict[str, Any]:
    with KNOWLEDGE_FILE.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def legal_basis_rows(question: dict[str, Any]) -> list[dict[str, Any]]:
    """The question's citations, resolved to LegalBasis field values, in order."""
    data = knowledge()
    rows = []
    for order, key in enumerate(question["basis"], start=1):
        article = data["articles"][key]
        law = data["laws"][article["law"]]
        rows.append(
            {
                "order": order,
                "law_zh": law["zh"],
                "law_en": law["en"],
                "article_zh": article["article_zh"],
                "article_en": article["article_en"],
                "text_zh": article["text_zh"],
                "text_en": article["text_en"],
                "is_summary": article["is_summary"],
            }
        )
    return rows


def knowledge_load(
    *, topic_model: Any, question_model: Any, basis_model: Any, term_model: Any
) -> int:
    """Write the file's topics and published questions; return the number of questions."""
    data = knowledge()
    now = timezone.now()
    topics = {}
    for row in data["topics"]:
        topic, _created = topic_model.objects.update_or_create(
            code=row["code"],
            defaults={"name_zh": row["name_zh"], "name_en": row["name_en"], "order": row["order"]},
        )
        topics[topic.code] = topic
    for row in data["questions"]:
        fields = {
            name: row[name]
            for name in (
                "title_zh",
                "title_en",
                "question_zh",
                "question_en",
                "analysis_zh",
                "analysis_en",
            )
        }
        question, created = question_model.objects.get_or_create(
            key=row["key"],
            defaults={
                **fields,
                "topic": topics[row["topic"]],
                "status": "published",
                "answered_at": now,
                "published_at": now,
            },
        )
        if not created:
            for name, value in fields.items():
                setattr(question, name, value)
            question.topic = topics[row["topic"]]
            question.save()
        basis_model.objects.filter(question=question).delete()
        basis_model.objects.bulk_create(
            basis_model(question=question, **basis) for basis in legal_basis_rows(row)
        )
        term_model.objects.filter(question=question).delete()
        if question.status == "published":
            term_model.objects.bulk_create(
                term_model(question=question, language=language, term=term, weight=weight)
                for language, term, weight in index_rows(question)
            )
    return len(data["questions"])
