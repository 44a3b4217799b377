"""Sign in and sign out (the language switcher is views/language.py)."""

from __future__ import annotations

import math

from aiohttp import web

from server import auth
from server.dashboard.render import render, translator
from server.dashboard.security import PRE_COOKIE, SESSION_COOKIE, set_cookie
from server.dashboard.session import current, redirect, safe_next
from server.keys import CONFIG, LOGIN_LIMITER, STORE

routes = web.RouteTableDef()
MAX_FIELD = 256


@routes.get("/login", name="dash.login")
async def login_page(request: web.Request) -> web.StreamResponse:
    if await current(request) is not None:
        return redirect(safe_next(request.query.get("next")))
    t = translator(request)
    notice = t.gettext("Your session has expired. Please sign in again.") if request.query.get("expired") else None
    if request.query.get("bye"):
        notice = t.gettext("You have signed out.")
    return render(request, "login.html", {"next": safe_next(request.query.get("next")), "error": None,
                                          "notice": notice, "username": ""})


@routes.post("/login", name="dash.login_post")
async def login(request: web.Request) -> web.StreamResponse:
    t = translator(request)
    form = await request.post()
    username = str(form.get("username", ""))[:MAX_FIELD].strip()
    password = str(form.get("password", ""))[:1024]
    target = safe_next(str(form.get("next", "/")))
    # the API's limiter and keys: one budget of failures per name and per address, whichever door
    # is used; a refused attempt and a successful sign-in cost nothing (server/api/auth.py does the same)
    limiter = request.app[LOGIN_LIMITER]
    keys = (f"user:{username}", f"addr:{request.remote}")
    wait = max(limiter.blocked(k) for k in keys)
    if wait > 0:
        response = render(request, "login.html", {
            "next": target, "notice": None, "username": username,
            "error": t.gettext("Too many failed sign-ins. Try again in %(time)s.", time=t.duration(math.ceil(wait))),
        }, status=429)
        response.headers["Retry-After"] = limiter.retry_after(wait)
        return response
    user = await auth.authenticate(request.app[STORE], username, password) if username and password else None
    if user is None:
        for k in keys:
            limiter.take(k)
        return render(request, "login.html", {
            "next": target, "notice": None, "username": username,
            "error": t.gettext("Wrong user name or password."),
        }, status=401)
    ttl = request.app[CONFIG].session_ttl
    token = await auth.create_session(request.app[STORE], user, ttl=ttl)
    response = redirect(target)
    # a fresh session secret after login (no fixation); the CSRF token follows it
    set_cookie(request, response, SESSION_COOKIE, token, max_age=int(ttl))
    response.del_cookie(PRE_COOKIE, path="/")
    return response


@routes.post("/logout", name="dash.logout")
async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await auth.end_session(request.app[STORE], token)
    response = redirect("/login?bye=1")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
