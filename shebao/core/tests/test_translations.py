"""Every message of the interface has its Chinese translation, compiled."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"


def po_entries(path: Path) -> dict[tuple[str, str], str]:
    """(msgctxt, msgid) → msgstr (msgstr[0] for plurals) of a .po file, lines joined."""
    entries: dict[tuple[str, str], str] = {}
    key = current = None
    parts: dict[str, list[str]] = {}
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith(("msgctxt ", "msgid ", "msgid_plural ", "msgstr ", "msgstr[")):
            current = line.split(" ", 1)[0]
            parts.setdefault(current, []).append(ast.literal_eval(line.split(" ", 1)[1]))
        elif line.startswith('"') and current:
            parts[current].append(ast.literal_eval(line))
        elif not line.strip():
            if "msgid" in parts:
                key = ("".join(parts.get("msgctxt", [])), "".join(parts["msgid"]))
                entries[key] = "".join(parts.get("msgstr", parts.get("msgstr[0]", [])))
            parts, current = {}, None
    entries.pop(("", ""), None)
    return entries


def test_every_message_is_translated_to_chinese():
    entries = po_entries(LOCALE / "django.po")
    assert len(entries) > 150
    untranslated = sorted(key for key, msgstr in entries.items() if not msgstr)
    assert untranslated == []
    assert "fuzzy" not in (LOCALE / "django.po").read_text(encoding="utf-8").split("msgid", 2)[2]


def test_the_compiled_catalogue_matches_the_source():
    catalogue = gettext.GNUTranslations((LOCALE / "django.mo").open("rb"))
    stale = sorted(
        (context, msgid)
        for (context, msgid), msgstr in po_entries(LOCALE / "django.po").items()
        if "%(" not in msgid
        and (catalogue.pgettext(context, msgid) if context else catalogue.gettext(msgid)) != msgstr
    )
    assert stale == [], "run `make messages` to recompile"
