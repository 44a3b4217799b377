"""Jinja2 environment (autoescape on for every template) and page rendering."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from aiohttp import web

from server.dashboard import i18n, labels
from server.dashboard.evidence import Msg
from server.dashboard.explain import localised
from server.dashboard.security import csrf_token
from server.dashboard.state import DASHBOARD, viewer_of

if TYPE_CHECKING:
    from server.dashboard.actions import ActionRejected

TEMPLATE_DIR = Path(__file__).parent / "templates"
TRANSLATOR: web.RequestKey[i18n.Translator] = web.RequestKey("lw_translator", i18n.Translator)


def build_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        # every template, whatever its name: names and paths come from endpoints
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.tests["msg"] = lambda value: isinstance(value, Msg)
    return env


def translator(request: web.Request) -> i18n.Translator:
    """The request's language: explicit cookie choice, else the browser's Accept-Language."""
    cached = request.get(TRANSLATOR)
    if cached is None:
        lang = i18n.normalise(request.cookies.get(i18n.LANG_COOKIE)) or i18n.negotiate(
            request.headers.get("Accept-Language")
        )
        cached = i18n.Translator(lang, request.app[DASHBOARD].tz)
        request[TRANSLATOR] = cached
    return cached


def _label(t: i18n.Translator, kind: str, value: str | None) -> str:
    """Known enumeration values in the reader's language; anything else shown as the (escaped) data."""
    if value is None:
        return ""
    known = labels.TABLES[kind].get(value)
    return t.gettext(known) if known else str(value)


def render(request: web.Request, template: str, context: dict[str, Any] | None = None, *,
           status: int = 200) -> web.Response:
    t = translator(request)
    ctx: dict[str, Any] = {
        "t": t,
        "_": t.gettext,
        "gettext": t.gettext,
        "ngettext": t.ngettext,
        "lbl": lambda kind, value: _label(t, kind, value),
        "csrf": csrf_token(request),
        "me": viewer_of(request),
        "path": request.path,
        "now": time.time(),
        "request_url": str(request.rel_url),
        "languages": [(lang, t.language_name(lang)) for lang in i18n.SUPPORTED],
    }
    if context:
        # an alert's or incident's explanation lines in the reader's language (copies of the records)
        ctx.update({key: localised(value, t) for key, value in context.items()})
    html = request.app[DASHBOARD].env.get_template(template).render(ctx)
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response


#: error kinds -> message id (translated at render time)
ERRORS = {
    "csrf": labels.N_("The form expired or did not come from this site. Reload the page and try again."),
    "forbidden": labels.N_("Your role does not allow this change."),
    "not_found": labels.N_("Not found."),
    "bad_request": labels.N_("The request was not valid."),
    "too_large": labels.N_("The file is larger than the review limit."),
}


def error_page(request: web.Request, status: int, kind: str, detail: str | None = None) -> web.Response:
    t = translator(request)
    is_fragment = request.headers.get("HX-Request") == "true"
    return render(
        request,
        "error_fragment.html" if is_fragment else "error.html",
        {"status": status, "message": t.gettext(ERRORS[kind]), "detail": detail},
        status=status,
    )


def rejected(request: web.Request, e: "ActionRejected") -> web.Response:
    """A 400 page saying, in the reader's language, why a change was not made."""
    return error_page(request, 400, "bad_request", translator(request).gettext(e.message, **e.values))
