"""The search index of published questions and its ranking, in SQL.

Each language version of a published question is one document. Its terms
(`words.terms`) are counted per field and weighted: a word of the title
counts `TITLE_WEIGHT` times, of the question `QUESTION_WEIGHT` times, of the
analysis once. The sum is the `weight` of a `SearchTerm` row.

A query is ranked with BM25 (k1 = 1.2, b = 0.75) over those rows, in one SQL
statement that runs on SQLite and PostgreSQL alike: document lengths, the
number of documents per language and each term's document frequency are
computed in the statement from the index itself, so there are no statistics
to keep up to date. A question's score is the sum over its two language
versions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.utils.safestring import SafeString

from shebao.consultation import words
from shebao.consultation.models import Language, Question, QuestionStatus, SearchTerm

TITLE_WEIGHT = 3
QUESTION_WEIGHT = 2
ANALYSIS_WEIGHT = 1
K1 = 1.2
B = 0.75


def index_rows(question: Any) -> list[tuple[str, str, int]]:
    """(language, term, weight) of each term of a question, both languages.

    Takes anything with the question's text fields, so that the seed
    migration can index its historical model rows with the same code.
    """
    rows: list[tuple[str, str, int]] = []
    for language in (Language.ZH, Language.EN):
        weights: Counter[str] = Counter()
        for field, weight in (
            ("title", TITLE_WEIGHT),
            ("question", QUESTION_WEIGHT),
            ("analysis", ANALYSIS_WEIGHT),
        ):
            for term in words.terms(getattr(question, f"{field}_{language}")):
                weights[term] += weight
        rows.extend((language.value, term, weight) for term, weight in sorted(weights.items()))
    return rows


def index_question(question: Question) -> int:
    """Rebuild the question's index rows: its terms if published, none otherwise."""
    SearchTerm.objects.filter(question=question).delete()
    if question.status != QuestionStatus.PUBLISHED:
        return 0
    rows = [
        SearchTerm(question=question, language=language, term=term, weight=weight)
        for language, term, weight in index_rows(question)
    ]
    SearchTerm.objects.bulk_create(rows)
    return len(rows)


def _ranking_sql(term_count: int, *, topic: bool) -> str:
    terms = SearchTerm._meta.db_table
    questions = Question._meta.db_table
    wanted = ", ".join(["(%s)"] * term_count)
    return f"""
WITH wanted(term) AS (VALUES {wanted}),
published AS (
    SELECT id, topic_id FROM {questions} WHERE status = %s
),
documents AS (
    SELECT t.question_id, t.language, SUM(t.weight) AS length
    FROM {terms} t JOIN published p ON p.id = t.question_id
    GROUP BY t.question_id, t.language
),
collection AS (
    SELECT language, COUNT(*) AS size, AVG(length) AS average_length
    FROM documents GROUP BY language
),
frequency AS (
    SELECT t.language, t.term, COUNT(*) AS documents
    FROM {terms} t JOIN published p ON p.id = t.question_id
    WHERE t.term IN (SELECT term FROM wanted)
    GROUP BY t.language, t.term
)
SELECT t.question_id, SUM(
    LN(1 + (c.size - f.documents + 0.5) / (f.documents + 0.5))
    * (t.weight * {K1 + 1})
    / (t.weight + {K1} * (1 - {B} + {B} * d.length / c.average_length))
) AS score
FROM {terms} t
JOIN frequency f ON f.language = t.language AND f.term = t.term
JOIN documents d ON d.question_id = t.question_id AND d.language = t.language
JOIN collection c ON c.language = t.language
JOIN published p ON p.id = t.question_id
{"WHERE p.topic_id = %s" if topic else ""}
GROUP BY t.question_id
ORDER BY score DESC, t.question_id
LIMIT %s
"""  # noqa: S608 - table names and constants only; every value is a parameter


def rank(
    query: words.Query, *, topic_id: int | None = None, limit: int = 20
) -> list[tuple[int, float]]:
    """(question id, score) of the best published questions for the query, best first."""
    if not query.terms:
        return []
    params: list[Any] = [*query.terms, QuestionStatus.PUBLISHED.value]
    if topic_id is not None:
        params.append(topic_id)
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(_ranking_sql(len(query.terms), topic=topic_id is not None), params)
        return [(int(pk), float(score)) for pk, score in cursor.fetchall()]


@dataclass(frozen=True)
class Hit:
    question: Question
    score: float
    title: SafeString
    snippet: SafeString
    matched: list[str]


def hits(
    query: words.Query, language: str, *, topic_id: int | None = None, limit: int = 20
) -> list[Hit]:
    """The ranked questions with their title and a snippet in `language`, matches marked."""
    ranked = rank(query, topic_id=topic_id, limit=limit)
    found = Question.objects.select_related("topic", "area").in_bulk([pk for pk, _s in ranked])
    result = []
    for pk, score in ranked:
        question = found[pk]
        title = question.text("title", language)
        body = question.text("question", language)
        analysis = question.text("analysis", language)
        body_matches = words.matched_words([body], query)
        result.append(
            Hit(
                question=question,
                score=score,
                title=words.highlight(title, query),
                snippet=words.snippet(body if body_matches else analysis, query),
                matched=words.matched_words([title, body, analysis], query),
            )
        )
    return result
