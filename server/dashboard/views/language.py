"""The language switcher and the signed-in person's saved language.

Order of precedence for a page's language: the signed-in person's saved choice
(``users.lang``), else the ``lw_lang`` cookie (what the login page and anonymous
pages follow), else the browser's ``Accept-Language``, else English.

Choosing a language with the switcher sets the cookie and, when someone is signed
in, saves it on their account, so it follows them to every browser. At login, and
on any page where the cookie disagrees with the saved choice, the cookie is set to
the saved choice, so the login page after a sign-out or an expired session already
speaks their language.
"""

from __future__ import annotations

from aiohttp import web

from server import auth
from server.dashboard import i18n
from server.dashboard.render import TRANSLATOR, error_page
from server.dashboard.security import SESSION_COOKIE, is_dashboard_route, set_cookie
from server.dashboard.session import current, redirect, safe_next
from server.dashboard.state import DASHBOARD
from server.keys import STORE

routes = web.RouteTableDef()
COOKIE_MAX_AGE = 365 * 86400
#: saved preference of the signed-in person of this request ("" when none), looked up once
SAVED: web.RequestKey[str] = web.RequestKey("lw_saved_lang", str)


@routes.post("/language", name="dash.language")
async def language(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    raw = str(form.get("lang", ""))[:32]
    lang = i18n.normalise(raw)
    if lang is None:
        return error_page(request, 400, "bad_request", f"lang={raw!r}")
    viewer = await current(request)
    if viewer is not None:
        # a viewer (read-only role) may still choose their own language: it changes no shared data
        await request.app[STORE].set_user_lang(viewer.user_id, lang)
        request[SAVED] = lang
    response = redirect(safe_next(str(form.get("next", "/"))))
    set_cookie(request, response, i18n.LANG_COOKIE, lang, max_age=COOKIE_MAX_AGE)
    return response


async def _saved_lang(request: web.Request) -> str | None:
    """The signed-in person's saved language (normalised), or None."""
    viewer = await current(request)
    if viewer is None:
        return None
    # session.current keeps only id, name and role; one primary-key read for the preference
    user = await request.app[STORE].get_user(viewer.user_id)
    return i18n.normalise(user.lang) if user is not None else None


@web.middleware
async def user_language(request: web.Request, handler):  # type: ignore[no-untyped-def]
    """Apply the signed-in person's saved language to the page, and keep the cookie in step with it."""
    if not is_dashboard_route(request):
        return await handler(request)
    if request.cookies.get(SESSION_COOKIE):
        saved = await _saved_lang(request)
        if saved:
            request[SAVED] = saved
            request[TRANSLATOR] = i18n.Translator(saved, request.app[DASHBOARD].tz)
    response = await handler(request)
    saved = request.get(SAVED) or await _lang_of_new_session(request, response)
    if saved and request.cookies.get(i18n.LANG_COOKIE) != saved and not response.prepared \
            and i18n.LANG_COOKIE not in response.cookies:
        set_cookie(request, response, i18n.LANG_COOKIE, saved, max_age=COOKIE_MAX_AGE)
    return response


async def _lang_of_new_session(request: web.Request, response: web.StreamResponse) -> str | None:
    """At login (the answer starts a session): the saved language of the person who signed in."""
    morsel = response.cookies.get(SESSION_COOKIE)
    if morsel is None or not morsel.value:
        return None
    user = await auth.user_for_token(request.app[STORE], morsel.value)
    return i18n.normalise(user.lang) if user is not None else None
