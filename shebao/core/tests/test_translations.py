"""Every message of the interface has its Chinese translation, compiled."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"


def po_entries(path: Path) -> dict[str, str]:
    """msgid → msgstr (msgstr[0] for plurals) of a .po file, continuation lines joined."""
    entries: dict[str, str] = {}
    key = current = None
    parts: dict[str, list[str]] = {}
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith(("msgid ", "msgid_plural ", "msgstr ", "msgstr[0] ", "msgstr[")):
            current = line.split(" ", 1)[0]
            parts.setdefault(current, []).append(ast.literal_eval(line.split(" ", 1)[1]))
        elif line.startswith('"') and current:
            parts[current].append(ast.literal_eval(line))
        elif not line.strip():
            if "msgid" in parts:
                key = "".join(parts["msgid"])
                entries[key] = "".join(parts.get("msgstr", parts.get("msgstr[0]", [])))
            parts, current = {}, None
    entries.pop("", None)
    return entries


def test_every_message_is_translated_to_chinese():
    entries = po_entries(LOCALE / "django.po")
    assert len(entries) > 150
    untranslated = sorted(msgid for msgid, msgstr in entries.items() if not msgstr)
    assert untranslated == []
    assert "fuzzy" not in (LOCALE / "django.po").read_text(encoding="utf-8").split("msgid", 2)[2]


def test_the_compiled_catalogue_matches_the_source():
    catalogue = gettext.GNUTranslations((LOCALE / "django.mo").open("rb"))
    stale = sorted(
        msgid
        for msgid, msgstr in po_entries(LOCALE / "django.po").items()
        if "%(" not in msgid and catalogue.gettext(msgid) != msgstr
    )
    assert stale == [], "run `make messages` to recompile"
