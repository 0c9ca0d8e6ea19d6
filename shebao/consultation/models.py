"""Consultation: the knowledge base of questions and answers (SIL arts. 4, 74).

Design notes
- Employers and individuals may ask the agency for consultation, free of
  charge (SIL art. 4, art. 74). An answer has the form the agency publishes:
  the question, a legal analysis in plain words, and the legal basis, each
  basis a law, an article and the article's text.
- One `Question` row is one question's whole life: `asked` by a person or
  an employer (in the language they wrote in), `answered` by a consultant in
  both languages (the asker reads the answer at once), `published` to the
  knowledge base that everyone, signed in or not, can search, or `withdrawn`.
  Its states and the operations between them are `TRANSITIONS`, used by the
  services.
- `area` is empty for national questions (the law, national rules) and set
  for a question about one issuing area's own rules; a question asked on the
  portal belongs to the asker's area. Consultants work the queue of their
  area and the national one.
- `LegalBasis` rows are the answer's citations, in order. Where the exact
  wording of an article is not at hand the row states the rule in its own
  words and says so (`is_summary`), rather than quoting what the law does not
  say. English texts of Chinese law are translations; the Chinese is the law.
- `SearchTerm` is the search index: the words of each published question
  (segmented with jieba for Chinese, stemmed for English) with their weight.
  It is derived data, rebuilt whenever a question is published or edited, and
  ranked with BM25 in SQL (`consultation.search`).
- The seed questions come from `knowledge.json` in this app, loaded by a
  migration; `key` names them so that a new version of the file can find them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ZH = "zh", _("Chinese")
    EN = "en", _("English")


class QuestionStatus(models.TextChoices):
    ASKED = "asked", _("Asked")
    ANSWERED = "answered", _("Answered")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# (state, operation) → new state. Answering a published question edits it in
# place: it stays published and its index is rebuilt.
TRANSITIONS: dict[tuple[str, str], str] = {
    (QuestionStatus.ASKED, "answer"): QuestionStatus.ANSWERED,
    (QuestionStatus.ANSWERED, "answer"): QuestionStatus.ANSWERED,
    (QuestionStatus.PUBLISHED, "answer"): QuestionStatus.PUBLISHED,
    (QuestionStatus.ANSWERED, "publish"): QuestionStatus.PUBLISHED,
    (QuestionStatus.PUBLISHED, "publish"): QuestionStatus.PUBLISHED,
    (QuestionStatus.ASKED, "withdraw"): QuestionStatus.WITHDRAWN,
    (QuestionStatus.ANSWERED, "withdraw"): QuestionStatus.WITHDRAWN,
    (QuestionStatus.PUBLISHED, "withdraw"): QuestionStatus.WITHDRAWN,
}

TITLE_MAX = 200
TEXT_MAX = 10_000


class Topic(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=80)
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return self.name_zh

    def name(self, language: str) -> str:
        return self.name_en if language == Language.EN else self.name_zh


class Question(models.Model):
    key = models.SlugField(
        _("key"),
        max_length=64,
        blank=True,
        help_text=_("Names a question of the knowledge file; empty for questions asked here."),
    )
    topic = models.ForeignKey(
        Topic, on_delete=models.PROTECT, null=True, blank=True, related_name="questions"
    )
    area = models.ForeignKey(
        "registry.Area",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Empty for a national question."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=QuestionStatus.choices, default=QuestionStatus.ASKED
    )
    title_zh = models.CharField(_("title (Chinese)"), max_length=TITLE_MAX, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=TITLE_MAX, blank=True)
    question_zh = models.TextField(_("question (Chinese)"), max_length=TEXT_MAX, blank=True)
    question_en = models.TextField(_("question (English)"), max_length=TEXT_MAX, blank=True)
    analysis_zh = models.TextField(_("analysis (Chinese)"), max_length=TEXT_MAX, blank=True)
    analysis_en = models.TextField(_("analysis (English)"), max_length=TEXT_MAX, blank=True)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("reason for withdrawal"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "area"], name="question_status_area")]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=~Q(key=""), name="question_key_unique"
            ),
            models.CheckConstraint(
                name="question_has_a_title", condition=~Q(title_zh="") | ~Q(title_en="")
            ),
            # An answer is in both languages; a published question has been answered.
            models.CheckConstraint(
                name="question_answered_in_both_languages",
                condition=Q(status__in=[QuestionStatus.ASKED, QuestionStatus.WITHDRAWN])
                | (
                    ~Q(title_zh="")
                    & ~Q(title_en="")
                    & ~Q(question_zh="")
                    & ~Q(question_en="")
                    & ~Q(analysis_zh="")
                    & ~Q(analysis_en="")
                ),
            ),
            models.CheckConstraint(
                name="question_published_has_date",
                condition=~Q(status=QuestionStatus.PUBLISHED) | Q(published_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.title_zh or self.title_en

    def text(self, field: str, language: str) -> str:
        """`field` (title, question, analysis) in `language`, or in the other one when empty."""
        first, second = (
            (Language.EN, Language.ZH) if language == Language.EN else (Language.ZH, Language.EN)
        )
        return str(getattr(self, f"{field}_{first}") or getattr(self, f"{field}_{second}"))

    @property
    def is_published(self) -> bool:
        return self.status == QuestionStatus.PUBLISHED


class LegalBasis(models.Model):
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="legal_basis")
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    law_zh = models.CharField(_("law (Chinese)"), max_length=200)
    law_en = models.CharField(_("law (English)"), max_length=200)
    article_zh = models.CharField(_("article (Chinese)"), max_length=50, help_text=_("e.g. 第四条"))
    article_en = models.CharField(_("article (English)"), max_length=50, help_text=_("e.g. Art. 4"))
    text_zh = models.TextField(_("text (Chinese)"), max_length=TEXT_MAX)
    text_en = models.TextField(_("text (English)"), max_length=TEXT_MAX)
    is_summary = models.BooleanField(
        _("summary"),
        default=False,
        help_text=_("The text states the rule in other words; it is not a quotation."),
    )

    class Meta:
        verbose_name = _("legal basis")
        verbose_name_plural = _("legal basis")
        ordering = ["question", "order", "pk"]
        constraints = [
            models.CheckConstraint(
                name="legal_basis_cites_an_article",
                condition=~Q(article_zh="") & ~Q(article_en="") & ~Q(law_zh="") & ~Q(law_en=""),
            )
        ]

    def __str__(self) -> str:
        return f"{self.law_zh} {self.article_zh}"

    def law(self, language: str) -> str:
        return self.law_en if language == Language.EN else self.law_zh

    def article(self, language: str) -> str:
        return self.article_en if language == Language.EN else self.article_zh

    def text(self, language: str) -> str:
        return self.text_en if language == Language.EN else self.text_zh


class SearchTerm(models.Model):
    """One word of one language version of a published question, with its weight
    (occurrences, those in the title counted more)."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="+")
    language = models.CharField(max_length=2, choices=Language.choices)
    term = models.CharField(max_length=64)
    weight = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")
        indexes = [models.Index(fields=["term", "language"], name="search_term")]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "language", "term"], name="search_term_once_per_question"
            ),
            models.CheckConstraint(name="search_term_weight_positive", condition=Q(weight__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.term} ({self.language}, {self.weight})"
