"""Maintain the dashboard's message catalogue: ``python -m server.dashboard.catalog``.

Extracts every message of the templates and Python modules (``_``, ``gettext``,
``ngettext``, ``N_``) into ``locale/messages.pot`` and merges it into each
language's ``messages.po`` (new messages appear untranslated; translators fill
``zh_CN``; English is the source language, its entries stay empty). Prints the
messages that still lack a translation; exits 1 if any does.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po, write_po

from server.dashboard.i18n import LOCALE_DIR, SUPPORTED

PACKAGE = Path(__file__).parent
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
#: collector modules whose texts the dashboard shows translated (explanation templates, marked ``N_``)
COLLECTOR_SOURCES = (PACKAGE.parent / "grading.py",)


def extract() -> Catalog:
    pot = Catalog(project="LeakWarden dashboard", version="1", charset="utf-8")
    for filename, lineno, message, comments, _context in extract_from_dir(
        PACKAGE, METHODS, keywords=KEYWORDS, options_map={"**/templates/**.html": {"extensions": ""}},
    ):
        pot.add(message, locations=[(filename, lineno)], auto_comments=comments)
    for source in COLLECTOR_SOURCES:
        for lineno, message, comments, _context in extract_from_file("python", source, keywords={"N_": None}):
            pot.add(message, locations=[(source.name, lineno)], auto_comments=comments)
    return pot


def merge(pot: Catalog, lang: str) -> list[str]:
    po_path = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    if po_path.exists():
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
    else:
        catalog = Catalog(locale=lang, project="LeakWarden dashboard", charset="utf-8")
    catalog.update(pot, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    po_path.parent.mkdir(parents=True, exist_ok=True)
    with po_path.open("wb") as fh:
        write_po(fh, catalog, omit_header=False, no_location=True, width=100)
    if lang == "en":
        return []
    return [m.id if isinstance(m.id, str) else m.id[0] for m in catalog if m.id and not
            (all(m.string) if isinstance(m.string, (tuple, list)) else m.string)]


def main() -> int:
    pot = extract()
    with (LOCALE_DIR / "messages.pot").open("wb") as fh:
        write_po(fh, pot, no_location=True, width=100)
    missing = {lang: merge(pot, lang) for lang in SUPPORTED}
    for lang, ids in missing.items():
        for msgid in ids:
            print(f"{lang}: untranslated: {msgid}")
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
