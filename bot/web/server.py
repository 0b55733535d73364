"""The HTTP side of the officers' web pages: routes, the session cookie, the CSRF token, the
security headers and the audit's context. What each page shows and does is in bot/web/pages.py;
the decisions themselves are bot.registration.steps, as in the chat.

Each request runs in a worker thread in one database transaction: the session is looked up (and
its last request moved to now), the view runs with a Context bound to the officer's binding, the
template is rendered, and the channels are woken for what the view queued for people's chats.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.registration.steps import NotAllowed
from bot.vntime import vietnam_date
from storage import officers, web as web_store
from storage.db import transaction
from storage.models import Officer, utcnow

HERE = Path(__file__).resolve().parent
TEMPLATES, STATIC = HERE / "templates", HERE / "static"
# No inline script or style, nothing from elsewhere, never framed; forms post only here.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
MAX_FORM = 64 * 1024
LOGIN_CSRF = "login:"  # the login form's CSRF token is HMAC(key, LOGIN_CSRF + the cookie's nonce)
LOGIN_COOKIE_SECONDS = 600  # as long as a link lives


@dataclass
class Page:
    template: str
    values: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass
class Redirect:
    location: str


@dataclass
class Download:
    filename: str
    mime: str
    content: bytes


@dataclass
class Req:
    """What a view reads of the request (no aiohttp objects cross into the worker thread)."""

    match: dict[str, str]
    query: dict[str, list[str]]
    form: dict[str, list[str]] | None = None

    def arg(self, name: str, default: str = "") -> str:
        values = (self.form if self.form is not None and name in self.form else self.query).get(name) or [default]
        return values[0]

    def args(self, name: str) -> list[str]:
        return (self.form or {}).get(name) or self.query.get(name) or []


def _multi(mapping) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in mapping.items():
        if isinstance(value, str):
            out.setdefault(key, []).append(value)
    return out


DENIED = Page("message.html", {"kind": "denied"}, 403)
View = Callable[..., "Page | Redirect | Download"]


class WebPages:
    def __init__(self, app) -> None:
        from bot.i18n import texts

        self.app = app
        self.engine = app.engine
        self.cipher = app.dispatcher.cipher
        self.settings = app.settings
        self.texts = texts(app.settings.bot_locale)
        self.secure = app.settings.public_base_url.startswith("https://")
        self.cookie = "__Host-session" if self.secure else "session"
        self.login_cookie = "__Host-login" if self.secure else "login"
        self.idle = timedelta(hours=app.settings.web_session_idle_hours)
        self._csrf_key = self.cipher.derive_key(b"web-csrf")
        self.env: jinja2.Environment | None = None

    # -- wiring -------------------------------------------------------------------------------------------

    def add_routes(self, web_app: web.Application) -> None:
        from bot.web import lists, pages

        self.env = aiohttp_jinja2.setup(web_app, loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
        web_app.middlewares.append(self.headers)
        r = web_app.router
        r.add_get("/web/login", self.login_form, allow_head=False)
        r.add_post("/web/login", self.login)
        r.add_post("/web/switch", self.switch)
        r.add_get("/web/", self.page(pages.home))
        r.add_get("/web", self.to_home)
        r.add_get("/web/registrations", self.page(pages.registration_list))
        r.add_post("/web/registrations/verify", self.page(pages.verify_selected))
        r.add_get("/web/registrations/{id:\\d+}", self.page(pages.registration))
        r.add_post("/web/registrations/{id:\\d+}/decide", self.page(pages.decide))
        r.add_post("/web/registrations/{id:\\d+}/note", self.page(pages.note))
        r.add_get("/web/lists", self.page(lists.index))
        r.add_post("/web/lists/close", self.page(lists.close))
        r.add_get("/web/lists/{id:\\d+}", self.page(lists.view))
        r.add_post("/web/lists/{id:\\d+}/confirm", self.page(lists.confirm))
        r.add_post("/web/lists/{id:\\d+}/return", self.page(lists.give_back))
        r.add_post("/web/lists/{id:\\d+}/receive", self.page(lists.receive))
        r.add_get("/web/lists/{id:\\d+}/export", self.page(lists.export_list), allow_head=False)
        r.add_post("/web/registrations/{id:\\d+}/outcome", self.page(lists.outcome))
        r.add_get("/web/export", self.page(lists.export_working), allow_head=False)
        r.add_get("/web/questions", self.page(pages.questions))
        r.add_get("/web/questions/{id:\\d+}", self.page(pages.question))
        r.add_post("/web/questions/{id:\\d+}/reply", self.page(pages.reply))
        r.add_get("/web/admin", self.page(pages.admin))
        r.add_post("/web/admin/invite", self.page(pages.invite))
        r.add_post("/web/admin/officers/{id:\\d+}/revoke", self.page(pages.revoke))
        r.add_get("/web/reports", self.page(lists.reports))
        r.add_get("/web/reports/xlsx", self.page(lists.report_file), allow_head=False)
        r.add_post("/web/logout", self.logout)
        r.add_static("/web/static/", STATIC, append_version=False)

    @web.middleware
    async def headers(self, request: web.Request, handler):
        """Security headers on every /web response (errors included); no-store: pages hold personal data."""
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._secure(request, exc)
            raise
        self._secure(request, response)
        return response

    @staticmethod
    def _secure(request: web.Request, response) -> None:
        if request.path.startswith("/web"):
            response.headers["Content-Security-Policy"] = CSP
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "no-referrer"  # a login link never leaves in a Referer
            if not request.path.startswith("/web/static/"):
                response.headers["Cache-Control"] = "no-store"

    @staticmethod
    async def to_home(request: web.Request):
        raise web.HTTPFound("/web/")

    def csrf(self, token: str) -> str:
        return hmac.new(self._csrf_key, token.encode(), hashlib.sha256).hexdigest()

    # -- running a view -----------------------------------------------------------------------------------

    def page(self, view: View):
        async def handle(request: web.Request) -> web.StreamResponse:
            form = None
            if request.method == "POST":
                if request.content_length and request.content_length > MAX_FORM:
                    raise web.HTTPRequestEntityTooLarge(MAX_FORM, request.content_length)
                form = _multi(await request.post())
            token = request.cookies.get(self.cookie, "")
            req = Req(dict(request.match_info), _multi(request.query), form)
            result = await asyncio.to_thread(self._work, token, view, req)
            return self._response(result)

        return handle

    def public(self, view: View):
        async def handle(request: web.Request) -> web.StreamResponse:
            req = Req(dict(request.match_info), _multi(request.query))
            return self._response(await asyncio.to_thread(self._public, view, req))

        return handle

    def _public(self, view: View, req: Req, extra: dict | None = None):
        with transaction(self.engine) as session:
            result = view(session, utcnow(), req)
            return self._render(result, {"t": self.texts.t, "officer": None, **(extra or {})})

    def context(self, session, officer: Officer, now: datetime):
        """A Context like the chat's, bound to the officer's binding (its chat is the actor's)."""
        ctx = self.app.brain.context(lang=self.settings.bot_locale, today=vietnam_date(now), session=session, now=now,
                                     cipher=self.cipher)
        ctx.channel, ctx.chat_id = officer.channel, officer.chat_id
        ctx.retention_months = self.settings.registration_retention_months
        ctx.web_base_url = self.settings.public_base_url
        ctx.officer_invite_hours = self.settings.officer_invite_hours
        return ctx

    def _work(self, token: str, view: View, req: Req):
        now = utcnow()
        with transaction(self.engine) as session:
            officer, refusal = self._signed(session, token, now, req.arg("csrf") if req.form is not None else None)
            if officer is None or refusal is not None:
                return refusal
            ctx = self.context(session, officer, now)
            try:
                result = view(ctx, officer, req)
            except NotAllowed:
                result = DENIED
            common = {"t": ctx.t, "officer": officer, "csrf": self.csrf(token), "commune": ctx.places.label(officer.commune_code),
                      "role": officer.role, "texts": ctx.texts,
                      "others": [{"id": o.id, "label": ctx.places.label(o.commune_code)} for o in _siblings(session, officer)]}
            rendered = self._render(result, common)
            ctx.release()
            notified = {channel for channel, _ in ctx.notified}
        if notified and self.app.dispatcher.on_notify is not None:
            self.app.dispatcher.on_notify(notified)
        return rendered

    def _signed(self, session, token: str, now: datetime, csrf: str | None) -> tuple[Officer | None, Page | None]:
        """The officer whose live session `token` is, and the page that refuses the request, if
        any: no live session (login needed), or a posted CSRF token (`csrf`; None for a GET) that
        is not the session's — audited, as someone else's page may have posted it."""
        found = web_store.session_for(session=session, token=token, now=now, idle=self.idle) if token else None
        if found is None:
            return None, self._message("login_needed", 401)
        officer = found[1]
        if csrf is not None and not hmac.compare_digest(csrf.encode(), self.csrf(token).encode()):
            officers.audit(session=session, actor=f"officer:{officer.id}", action="web_csrf_refused", now=now,
                           commune_code=officer.commune_code)
            return officer, self._message("csrf", 403)
        return officer, None

    def _message(self, kind: str, status: int) -> Page:
        """A short page of message.html (signed out: no officer's menu)."""
        return self._render(Page("message.html", {"kind": kind}, status), {"t": self.texts.t, "officer": None})

    def _render(self, result, common: dict):
        if isinstance(result, Page):
            assert self.env is not None  # set by add_routes, before any request
            html = self.env.get_template(result.template).render(**common, **result.values)
            return Page(result.template, {"html": html}, result.status)
        return result

    def _response(self, result) -> web.StreamResponse:
        if isinstance(result, Redirect):
            raise web.HTTPSeeOther(result.location)
        if isinstance(result, Download):
            disposition = f"attachment; filename*=UTF-8''{_quote(result.filename)}"
            return web.Response(body=result.content, content_type=result.mime, headers={"Content-Disposition": disposition})
        return web.Response(text=result.values["html"], status=result.status, content_type="text/html", charset="utf-8")

    # -- login and logout ---------------------------------------------------------------------------------

    def _signed_in(self, token: str) -> web.HTTPSeeOther:
        """To the home page with a new session's cookie (a login, or a move to another commune)."""
        response = web.HTTPSeeOther("/web/")
        response.set_cookie(self.cookie, token, httponly=True, samesite="Strict", secure=self.secure, path="/")
        return response

    async def login_form(self, request: web.Request) -> web.StreamResponse:
        """The link's button page. Its form carries a CSRF token bound to a short-lived SameSite=Strict
        cookie set here, so another site cannot post someone else's link to log a person in."""
        req = Req(dict(request.match_info), _multi(request.query))
        nonce = secrets.token_urlsafe(24)
        from bot.web.pages import login_page

        result = await asyncio.to_thread(self._public, login_page, req, {"csrf": self.csrf(LOGIN_CSRF + nonce)})
        response = self._response(result)
        if isinstance(result, Page) and result.template == "login.html":
            response.set_cookie(self.login_cookie, nonce, httponly=True, samesite="Strict", secure=self.secure, path="/",
                                max_age=LOGIN_COOKIE_SECONDS)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = _multi(await request.post())
        token = (form.get("t") or [""])[0]
        nonce = request.cookies.get(self.login_cookie, "")
        if not nonce or not hmac.compare_digest((form.get("csrf") or [""])[0].encode(), self.csrf(LOGIN_CSRF + nonce).encode()):
            # Refused before the link is looked at: the link stays usable from its own page.
            return self._response(self._message("csrf", 403))
        result = await asyncio.to_thread(self._login, token)
        if isinstance(result, str):
            response = self._signed_in(result)
            response.del_cookie(self.login_cookie, path="/")
            raise response
        return self._response(result)

    def _login(self, token: str):
        now = utcnow()
        with transaction(self.engine) as session:
            officer = web_store.take_login(session=session, token=token, now=now) if token else None
            if officer is None:
                return self._message("link_invalid", 403)
            cookie = web_store.open_session(session=session, officer_id=officer.id, now=now)
            officers.audit(session=session, actor=f"officer:{officer.id}", action="web_login", now=now,
                           commune_code=officer.commune_code)
            return cookie

    async def switch(self, request: web.Request) -> web.StreamResponse:
        """A bank office serving several communes (one binding each) moves to another of its
        communes: this session ends and one opens for that binding, as a login would."""
        form = _multi(await request.post())
        token = request.cookies.get(self.cookie, "")
        result = await asyncio.to_thread(self._switch, token, (form.get("csrf") or [""])[0], (form.get("to") or [""])[0])
        if isinstance(result, str):
            raise self._signed_in(result)
        return self._response(result)

    def _switch(self, token: str, csrf: str, to: str):
        now = utcnow()
        with transaction(self.engine) as session:
            officer, refusal = self._signed(session, token, now, csrf)
            if officer is None or refusal is not None:
                return refusal
            target = next((o for o in _siblings(session, officer) if str(o.id) == to.strip()), None)
            if target is None:
                officers.audit(session=session, actor=f"officer:{officer.id}", action="web_switch_refused", now=now,
                               commune_code=officer.commune_code)
                return self._render(DENIED, {"t": self.texts.t, "officer": None})
            web_store.end_session(session=session, token=token, now=now)
            cookie = web_store.open_session(session=session, officer_id=target.id, now=now)
            officers.audit(session=session, actor=f"officer:{target.id}", action="web_switch", now=now,
                           commune_code=target.commune_code, detail=f"from officer:{officer.id}")
            return cookie

    async def logout(self, request: web.Request) -> web.StreamResponse:
        form = _multi(await request.post())
        token = request.cookies.get(self.cookie, "")
        result = await asyncio.to_thread(self._logout, token, (form.get("csrf") or [""])[0])
        if result is not None:
            return self._response(result)
        response = web.HTTPSeeOther("/web/login?bye=1")
        response.del_cookie(self.cookie, path="/")
        raise response

    def _logout(self, token: str, csrf: str):
        now = utcnow()
        with transaction(self.engine) as session:
            officer, refusal = self._signed(session, token, now, csrf)
            if officer is None:
                return None  # no live session: signed out already
            if refusal is not None:
                return refusal
            web_store.end_session(session=session, token=token, now=now)
            officers.audit(session=session, actor=f"officer:{officer.id}", action="web_logout", now=now,
                           commune_code=officer.commune_code)
        return None


def _siblings(session, officer: Officer) -> list[Officer]:
    """The other active bindings of the same chat with the same role (a bank office's communes)."""
    return [o for o in officers.of_chat(session=session, channel=officer.channel, chat_id=officer.chat_id)
            if o.id != officer.id and o.role == officer.role]


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)
