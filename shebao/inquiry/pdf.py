"""The statement as a PDF an agency sends, and reading the signed content back.

Rendered with fpdf2 from the statement's canonical content, in the reader's
language, whenever it is downloaded: the title, the agency, the person, the
tables and totals, and notes on how to verify it and how to complain. The
first page carries the verification code as text and as a QR code linking to
`<site>/verify/<code>`.

Chinese text needs a CJK font embedded in the file (a PDF viewer on another
machine may have none): `settings.PDF_FONT` (SHEBAO_PDF_FONT), or else the
first of `FONT_CANDIDATES` that exists. fpdf2 embeds only the glyphs used, so
a statement stays small. `make run` and `make test` install Debian's
fonts-wqy-microhei when no font is found (`shebao pdf_font` checks).

The signed content travels inside the PDF as the attachment `statement.json`:
``{"format": "shebao-statement", "canonical": <the canonical text>,
"signature": <base64>, "key": <key id>}``, so a PDF file sent to the verify
page can be checked by itself; a PDF whose content was changed fails.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

import segno
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from shebao.contributions.models import Insurance
from shebao.core.errors import DomainError
from shebao.inquiry.history import STATUS_LABELS
from shebao.inquiry.models import StatementKind
from shebao.inquiry.statements import display_code
from shebao.registry.models import PersonStatus, Sex

logger = logging.getLogger(__name__)

# Debian's CJK fonts (fonts-wqy-microhei first: small, TrueType outlines),
# then the usual places of Noto Sans CJK on Debian, Fedora and Arch.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
)
FONT_HINT = (
    "Install a Chinese font (Debian/Ubuntu: apt-get install fonts-wqy-microhei) or set "
    "SHEBAO_PDF_FONT to a TrueType/OpenType font file (.ttf, .otf or .ttc) with Chinese glyphs."
)
ATTACHMENT = "statement.json"
FORMAT = "shebao-statement"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024

INK = (20, 20, 20)
MUTED = (100, 100, 100)
RULE = (160, 30, 30)  # the agency's red
HEADING_FILL = (236, 236, 236)


class PdfFontMissing(DomainError):
    """No CJK font to embed: the server's set-up is incomplete."""

    status = 503
    default_code = "pdf_font_missing"


class UnreadablePdf(ValueError):
    """An uploaded file that is not a PDF with a statement's signed content."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def find_font() -> Path | None:
    """The CJK font to embed: the configured one, else the first candidate installed."""
    if settings.PDF_FONT:
        configured = Path(settings.PDF_FONT)
        return configured if configured.is_file() else None
    return next((Path(c) for c in FONT_CANDIDATES if Path(c).is_file()), None)


def font_path() -> Path:
    """`find_font()`, or a refusal the reader understands (and the log explains)."""
    found = find_font()
    if found is None:
        where = f"SHEBAO_PDF_FONT={settings.PDF_FONT}" if settings.PDF_FONT else "no font found"
        logger.error("PDF statement refused: %s. %s", where, FONT_HINT)
        raise _font_missing()
    return found


def _font_missing() -> PdfFontMissing:
    return PdfFontMissing(
        _(
            "The PDF cannot be made on this server now: no Chinese font is installed. "
            "Tell the system administrator."
        )
    )


# --- rendering -------------------------------------------------------------------------


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def status_label(row: dict[str, Any]) -> str:
    return str(STATUS_LABELS.get(row["status"], row["status"]))


def payer_label(row: dict[str, Any]) -> str:
    if row["payer"] == "flexible":
        return _g("Flexible worker (own payment)")
    return str(row["employer"])


class _Document(FPDF):
    def __init__(self, font: Path, footer: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        # One weight is enough; "B" maps to the same face so tables may ask for it.
        for style in ("", "B"):
            self.add_font("cjk", style=style, fname=str(font))
        self.footer_text = footer
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.alias_nb_pages()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("cjk", size=7)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            4,
            f"{self.footer_text}    {self.page_no()}/{{nb}}",
            align="C",
        )
        self.set_text_color(*INK)

    # --- building blocks ---

    def heading(self, text: str) -> None:
        if self.get_y() > self.h - 45:
            self.add_page()
        self.ln(3)
        self.set_font("cjk", size=11)
        self.set_text_color(*RULE)
        self.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        self.set_draw_color(*RULE)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_text_color(*INK)
        self.ln(1.5)

    def facts(self, pairs: list[tuple[str, str]], *, columns: int = 2) -> None:
        self.set_font("cjk", size=9)
        width = (self.w - self.l_margin - self.r_margin) / columns
        label_width = min(max(self.get_string_width(label) for label, _ in pairs) + 4, width * 0.6)
        for start in range(0, len(pairs), columns):
            for label, value in pairs[start : start + columns]:
                self.set_text_color(*MUTED)
                self.cell(label_width, 5.5, label)
                self.set_text_color(*INK)
                self.cell(width - label_width, 5.5, value)
            self.ln(5.5)

    def grid(
        self,
        headings: list[str],
        rows: list[list[str]],
        widths: list[float],
        *,
        size: float = 8,
        right: tuple[int, ...] = (),
    ) -> None:
        self.set_font("cjk", size=size)
        self.set_draw_color(190, 190, 190)
        with self.table(
            col_widths=widths,
            width=sum(widths),
            align="LEFT",
            text_align=tuple("RIGHT" if index in right else "LEFT" for index in range(len(widths))),
            headings_style=FontFace(emphasis="", fill_color=HEADING_FILL, color=INK),
            line_height=size * 0.5,
            padding=(0.8, 1.2),
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            table.row(headings)
            for values in rows:
                table.row(values)

    def note(self, text: str, *, size: float = 8.5) -> None:
        self.set_font("cjk", size=size)
        self.multi_cell(0, size * 0.5, text, new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def qr(self, text: str, x: float, y: float, size: float) -> None:
        """`text` as a QR code of side `size` mm, drawn as vector rectangles."""
        matrix = segno.make(text, error="m", micro=False).matrix
        module = size / len(matrix)
        self.set_fill_color(0, 0, 0)
        for row_index, row in enumerate(matrix):
            column = 0
            while column < len(row):
                if not row[column]:
                    column += 1
                    continue
                start = column
                while column < len(row) and row[column]:
                    column += 1
                self.rect(
                    x + start * module,
                    y + row_index * module,
                    (column - start) * module,
                    module,
                    style="F",
                )


def money(text: str) -> str:
    """An amount of the content as printed: "17820.00" → "17,820.00"."""
    return f"{Decimal(text):,.2f}"


def shares(row: dict[str, Any], insurance: str) -> str:
    """A month's insurance cell: "employer's share / own share", blank if not billed."""
    pair = row["insurances"].get(insurance)
    return f"{money(pair[0])} / {money(pair[1])}" if pair else ""


def _years_months(age: list[int]) -> str:
    return _g("%(years)s years %(months)s months") % {"years": age[0], "months": age[1]}


def render(content: dict[str, Any], *, canonical: str, signature: bytes, verify_url: str) -> bytes:
    """The statement as PDF bytes. `verify_url` is `<site>/verify/<code>`."""
    code = content["code"]
    year = content["year"]
    as_of = dt.date.fromisoformat(content["as_of"])
    issued_at = dt.datetime.fromisoformat(content["issued_at"])
    person = content["person"]
    area = content["area"]
    pdf = _Document(
        font_path(),
        footer=_g("Verification code %(code)s · free of charge (SIL arts. 4, 74)")
        % {"code": display_code(code)},
    )
    title = _g("Personal social insurance rights record")
    pdf.set_title(f"{title} {year} · {person['name']}")
    pdf.set_author(area["name"])
    pdf.set_subject(code)
    pdf.set_keywords(f"{FORMAT} {code}")
    pdf.set_creator("shebao")
    pdf.set_creation_date(issued_at)
    pdf.embed_file(
        basename=ATTACHMENT,
        bytes=json.dumps(
            {
                "format": FORMAT,
                "canonical": canonical,
                "signature": base64.b64encode(signature).decode("ascii"),
                "key": content["key"],
            },
            ensure_ascii=False,
        ).encode("utf-8"),
        desc=_g("The signed content of this statement, for verification"),
        mime_type="application/json",
        modification_date=issued_at,
    )
    pdf.add_page()

    # Letterhead: agency, title, period; QR code and code on the right.
    qr_size = 30.0
    qr_x = pdf.w - pdf.r_margin - qr_size
    pdf.qr(verify_url, qr_x, 12, qr_size)
    pdf.set_xy(qr_x - 8, 12 + qr_size + 0.5)
    pdf.set_font("cjk", size=7.5)
    pdf.cell(qr_size + 8, 4, display_code(code), align="C")
    pdf.set_xy(pdf.l_margin, 15)
    pdf.set_font("cjk", size=10)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5, _g("%(area)s social insurance agency") % {"area": area["name"]})
    pdf.ln(8)
    pdf.set_text_color(*RULE)
    pdf.set_font("cjk", size=18)
    pdf.cell(0, 9, title)
    pdf.ln(10)
    pdf.set_text_color(*INK)
    pdf.set_font("cjk", size=10)
    if content["kind"] == StatementKind.YEARLY:
        period = _g("Yearly statement %(year)s") % {"year": year}
    else:
        period = _g("Statement on request, %(year)s up to %(day)s") % {
            "year": year,
            "day": as_of.isoformat(),
        }
    pdf.cell(0, 6, period)
    pdf.ln(6)
    pdf.set_font("cjk", size=8.5)
    pdf.set_text_color(*MUTED)
    pdf.cell(
        0,
        5,
        _g("Figures as of %(day)s · issued %(when)s")
        % {
            "day": as_of.isoformat(),
            "when": timezone.localtime(issued_at).strftime("%Y-%m-%d %H:%M"),
        },
    )
    pdf.set_text_color(*INK)
    pdf.set_y(max(pdf.get_y() + 6, 12 + qr_size + 6))

    pdf.heading(_g("Insured person"))
    pdf.facts(
        [
            (_g("Name"), person["name"]),
            (_g("Identity number"), person["id_number"]),
            (_g("Sex"), _label(Sex, person["sex"])),
            (_g("Birth date"), person["birth_date"]),
            (_g("Status"), _label(PersonStatus, person["status"])),
            (_g("Registered on"), person["registered_on"]),
            (_g("Issuing area"), f"{area['name']} ({area['code']})"),
        ]
    )

    pdf.heading(_g("Employers in %(year)s") % {"year": year})
    if content["employments"]:
        pdf.grid(
            [
                _g("Employer"),
                _g("Unified social credit code"),
                _g("From"),
                _g("To"),
                _g("Registered on"),
            ],
            [
                [
                    row["employer"]["name"],
                    row["employer"]["credit_code"],
                    row["start_date"],
                    row["end_date"] or _g("current"),
                    row["registered_on"] + (" · " + _g("late") if row["late_registration"] else ""),
                ]
                for row in content["employments"]
            ],
            [62, 40, 22, 22, 34],
        )
    else:
        pdf.note(_g("No employment registered in the year."))

    insurances = list(Insurance)
    pdf.heading(_g("Contributions in %(year)s") % {"year": year})
    if content["months"]:
        pdf.grid(
            [_g("Month"), _g("Paid by"), _g("Base")]
            + [str(insurance.label) for insurance in insurances]
            + [_g("Status")],
            [
                [
                    row["month"],
                    payer_label(row),
                    money(row["base"]) if row["base"] != "0.00" else "—",
                ]
                + [shares(row, insurance.value) for insurance in insurances]
                + [status_label(row)]
                for row in content["months"]
            ],
            [13, 28, 14, 23, 20, 21, 17, 16, 28],
            size=7,
            right=(2, 3, 4, 5, 6, 7),
        )
        pdf.note(
            _g(
                "Each insurance shows the employer's share / your share, in yuan. A month is "
                "paid once the employer's whole bill for it is paid; an assessed month was "
                "billed at 110% of the month before because no declaration arrived "
                "(SIL art. 62) and is settled when it does."
            ),
            size=7.5,
        )
    else:
        pdf.note(_g("No contribution is billed for the year."))
    totals = content["totals"]
    pdf.facts(
        [
            (_g("Employer's share"), money(totals["employer"])),
            (_g("Your share"), money(totals["individual"])),
            (_g("Total"), money(totals["total"])),
            (_g("Paid"), money(totals["paid"])),
            (_g("Not (fully) paid"), money(totals["unpaid"])),
            (_g("Pension months in the year"), str(totals["pension_months_in_year"])),
        ]
    )

    arrears = content["arrears"]
    pdf.heading(_g("Arrears as of %(day)s") % {"day": as_of.isoformat()})
    if arrears["months"]:
        pdf.grid(
            [_g("Month"), _g("Employer"), _g("Employer's share"), _g("Your share")],
            [
                [
                    row["month"],
                    row["employer"],
                    money(row["employer_share"]),
                    money(row["individual_share"]),
                ]
                for row in arrears["months"]
            ],
            [20, 90, 35, 35],
            right=(2, 3),
        )
    if arrears["months"] or arrears["flexible_due"] != "0.00":
        pdf.facts(
            [
                (_g("Employer's share due"), money(arrears["employer_share"])),
                (_g("Your share due"), money(arrears["individual_share"])),
                (_g("Own payments due"), money(arrears["flexible_due"])),
                (_g("Late fee on own payments"), money(arrears["flexible_late_fee"])),
            ]
        )
        pdf.note(
            _g(
                "Your employer owes what it did not pay for you, with a late fee of 0.05% a day "
                "(SIL art. 86). You may ask the agency to collect it (SIL art. 63)."
            ),
            size=7.5,
        )
    else:
        pdf.note(_g("Nothing is owed for you."))

    pdf.heading(_g("Months paid per insurance"))
    pdf.grid(
        [
            _g("Insurance"),
            _g("Months in %(year)s") % {"year": year},
            _g("Months in all"),
            _g("Years"),
        ],
        [
            [
                _label(Insurance, row["insurance"]),
                str(row["months_in_year"]),
                str(row["months"]),
                row["years"],
            ]
            for row in content["insurances"]
        ],
        [60, 40, 40, 40],
        right=(1, 2, 3),
    )

    account = content["account"]
    pdf.heading(_g("Personal pension account"))
    pdf.facts(
        [
            (_g("Credited for %(year)s") % {"year": year}, money(account["credited_in_year"])),
            (_g("of which interest"), money(account["interest_in_year"])),
            (_g("Contributions credited in all"), money(account["cumulative_contributions"])),
            (_g("Interest credited in all"), money(account["cumulative_interest"])),
            (_g("Balance on %(day)s") % {"day": as_of.isoformat()}, money(account["balance"])),
        ]
    )

    eligibility = content["eligibility"]
    pdf.heading(_g("Benefit eligibility"))
    if eligibility["pension_months_missing"]:
        pension = _g(
            "%(months)s more months of pension contributions are needed for a monthly pension "
            "(at least %(minimum)s years when retiring in %(month)s; SIL art. 16)."
        ) % {
            "months": eligibility["pension_months_missing"],
            "minimum": eligibility["minimum_years"],
            "month": eligibility["retirement_month"],
        }
    else:
        pension = _g(
            "The minimum of %(minimum)s years of pension contributions (SIL art. 16) is met."
        ) % {"minimum": eligibility["minimum_years"]}
    unemployment = eligibility["unemployment_benefit_months"]
    pdf.facts(
        [
            (
                _g("Statutory retirement"),
                _g("%(month)s, at %(age)s")
                % {
                    "month": eligibility["retirement_month"],
                    "age": _years_months(eligibility["retirement_age"]),
                },
            ),
            (_g("Pension months paid"), str(eligibility["pension_months"])),
        ]
    )
    pdf.note(pension)
    pdf.note(
        _g("Unemployment benefit, if you lose your job: up to %(months)s months (SIL art. 46).")
        % {"months": unemployment}
        if unemployment
        else _g(
            "No unemployment benefit yet: it needs at least one year of unemployment "
            "insurance (SIL art. 45)."
        )
    )
    pdf.note(
        _g(
            "The retirement age follows the 2025 reform for the scheme %(scheme)s; women "
            "workers retiring under the 50 scheme learn their age at a service outlet."
        )
        % {"scheme": eligibility["scheme"]},
        size=7.5,
    )

    pdf.heading(_g("How to verify this statement"))
    pdf.note(
        _g(
            "Scan the QR code, or open %(url)s and enter the code %(code)s, or send this PDF "
            "file there. The page says whether the statement is genuine and shows only what "
            "the holder chose to share; compare its figures with this document. The agency "
            "signed the content (Ed25519); a changed file fails the check."
        )
        % {"url": verify_url.rsplit("/", 1)[0] + "/", "code": display_code(code)}
    )
    pdf.heading(_g("Questions and complaints"))
    pdf.note(
        _g(
            "This statement is free of charge (SIL arts. 4, 74). If an entry is wrong, or your "
            "employer did not declare or pay for you, ask at any service outlet of %(area)s "
            "with your identity card, or complain to the social insurance administration "
            "(SIL art. 82). Disputes may go to mediation, arbitration or court (SIL art. 83)."
        )
        % {"area": area["name"]}
    )
    return bytes(pdf.output())


def verify_url(request: HttpRequest, code: str) -> str:
    """The public address of a statement's check, `<site>/verify/<code>`: SITE_URL
    (SHEBAO_SITE_URL) if set, else the address the request came to."""
    site = settings.SITE_URL.rstrip("/") or request.build_absolute_uri("/").rstrip("/")
    return site + reverse("web:statement_verify", args=[code])


# --- reading an uploaded PDF ------------------------------------------------------------


def embedded_statement(data: bytes) -> tuple[str, bytes, str]:
    """The canonical content, signature and key id a statement PDF carries.

    Raises UnreadablePdf with reason "pdf_unreadable" (not a PDF, or too
    large) or "pdf_without_statement" (a PDF without a statement's content).
    """
    from pypdf import PdfReader

    if len(data) > MAX_UPLOAD_BYTES or not data.startswith(b"%PDF-"):
        raise UnreadablePdf("pdf_unreadable")
    try:
        blobs = PdfReader(io.BytesIO(data)).attachments.get(ATTACHMENT) or []
    except Exception:  # pypdf raises many kinds of error on a damaged file
        raise UnreadablePdf("pdf_unreadable") from None
    for blob in blobs:
        try:
            payload = json.loads(blob)
            if payload.get("format") != FORMAT:
                continue
            return (
                str(payload["canonical"]),
                base64.b64decode(payload["signature"], validate=True),
                str(payload["key"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
            continue
    raise UnreadablePdf("pdf_without_statement")
