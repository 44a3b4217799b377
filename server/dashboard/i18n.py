"""The dashboard's one message catalogue, locale choice and locale-aware formatting.

Catalogues live as ``locale/<lang>/LC_MESSAGES/messages.po`` and are compiled
in memory at import with Babel, so there is no committed ``.mo`` that could
drift from its ``.po``. Every visible string goes through :func:`Translator.gettext`;
templates call ``_()`` / ``ngettext()`` which are bound per request. They return
plain ``str`` (catalogue text and values alike), so autoescape escapes all of it:
no translation can inject markup, and no value substituted into one can either.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
#: the locales the dashboard speaks; the first is the fallback
SUPPORTED: tuple[str, ...] = ("en", "zh_CN")
DEFAULT = "en"
#: cookie that carries the chosen language (the user's saved preference)
LANG_COOKIE = "lw_lang"


@functools.cache
def translations(lang: str) -> Translations:
    po = LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def normalise(value: str | None) -> str | None:
    """Map user input like ``zh``, ``zh-CN``, ``zh_cn``, ``en-US`` to a supported locale."""
    if not value:
        return None
    v = value.strip().replace("-", "_").lower()
    for lang in SUPPORTED:
        if v == lang.lower() or v.split("_")[0] == lang.split("_")[0].lower():
            return lang
    return None


def negotiate(accept_language: str | None) -> str:
    """Pick the best supported locale from an ``Accept-Language`` header (q-values honoured)."""
    if not accept_language:
        return DEFAULT
    prefs: list[tuple[float, int, str]] = []
    for index, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                q = float(params[2:])
            except ValueError:
                q = 0.0
        if tag and q > 0:
            prefs.append((-q, index, tag))
    for _q, _i, tag in sorted(prefs):
        lang = normalise(tag)
        if lang:
            return lang
    return DEFAULT


@dataclass(frozen=True, slots=True)
class Translator:
    """Everything locale-dependent for one request."""

    lang: str
    tz: dt.tzinfo = dt.timezone.utc

    @property
    def _t(self) -> Translations:
        return translations(self.lang)

    @property
    def html_lang(self) -> str:
        return self.lang.replace("_", "-")

    def gettext(self, message: str, **variables: Any) -> str:
        text = self._t.gettext(message)
        params = getattr(message, "params", None)  # a message that carries its own values (evidence.Msg)
        if params:
            variables = {**{k: self.param(v) for k, v in params.items()}, **variables}
        return text % variables if variables else text

    def param(self, value: Any) -> str:
        """A value substituted into a message: quantities formatted for the locale, text as it is."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        return self.number(value) if isinstance(value, int) else self.decimal(value, 2)

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        variables.setdefault("num", self.number(n))
        return self._t.ngettext(singular, plural, n) % variables

    def number(self, value: float | int | None) -> str:
        if value is None:
            return "—"
        return numbers.format_decimal(value, locale=self.lang)

    def decimal(self, value: float, places: int) -> str:
        """A number with exactly ``places`` decimals, grouped for the locale (``1,234.50``)."""
        return numbers.format_decimal(value, format="#,##0." + "0" * places, locale=self.lang,
                                      decimal_quantization=True)

    def percent(self, value: float | None) -> str:
        if value is None:
            return "—"
        return numbers.format_percent(value, locale=self.lang)

    def datetime(self, ts: float | dt.datetime | None, fmt: str = "medium") -> str:
        if ts is None:
            return "—"
        when = ts if isinstance(ts, dt.datetime) else dt.datetime.fromtimestamp(float(ts), dt.timezone.utc)
        return dates.format_datetime(when, fmt, tzinfo=self.tz, locale=self.lang)

    def day(self, ts: float) -> str:
        """A short day label in the reader's convention ("Nov 16", "11月16日")."""
        when = dt.datetime.fromtimestamp(float(ts), dt.timezone.utc)
        return dates.format_skeleton("MMMd", when, tzinfo=self.tz, locale=self.lang)

    def iso(self, ts: float | None) -> str:
        if ts is None:
            return ""
        return dt.datetime.fromtimestamp(float(ts), dt.timezone.utc).isoformat()

    def ago(self, ts: float | None, now: float) -> str:
        if ts is None:
            return self.gettext("never")
        return dates.format_timedelta(
            dt.timedelta(seconds=float(ts) - now), add_direction=True, locale=self.lang
        )

    def duration(self, seconds: float) -> str:
        return dates.format_timedelta(dt.timedelta(seconds=seconds), locale=self.lang)

    def language_name(self, lang: str) -> str:
        # each language named in itself, so a reader finds their own
        return Locale.parse(lang).get_display_name(lang) or lang
