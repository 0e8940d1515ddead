"""The supervisor review web app: FastAPI, server-rendered Jinja2 pages, no JavaScript.

Every page and API route needs a logged-in user (only ``/login`` and the stylesheet do
not). State-changing forms carry a CSRF token; the JSON API takes it in the
``X-CSRF-Token`` header. Every response carries security headers (a CSP that allows no
script at all, no framing, no sniffing, no caching). No CORS headers are sent, so other
origins cannot read the API; the Host header is checked against an allow-list.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import jinja2
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crimedetect import __version__
from crimedetect.contract import CATEGORIES
from crimedetect.review import auth
from crimedetect.review.auth import CurrentUser, SessionPolicy
from crimedetect.review.db import DEFAULT_DB_URL, iso_z, make_engine
from crimedetect.review.decisions import (
    DECISION_HELP,
    DECISION_LABELS,
    Decision,
    DecisionError,
    validate_decision,
)
from crimedetect.review.export import ExportStats, iter_audits
from crimedetect.review.store import (
    FINDING_TYPES,
    RECORD_KINDS,
    STATUSES,
    ConflictError,
    QueueFilter,
    ReviewStore,
    event_json,
)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "crimedetect_session"
LOGIN_COOKIE = "crimedetect_login"
CSRF_HEADER = "x-csrf-token"
MAX_BODY_BYTES = 64 * 1024

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]


@dataclass(frozen=True)
class ReviewConfig:
    """How the app runs."""

    db_url: str = DEFAULT_DB_URL
    session: SessionPolicy = field(default_factory=SessionPolicy)
    #: Set when served over HTTPS (behind a TLS proxy): cookies get ``Secure`` and HSTS is sent.
    secure_cookies: bool = False
    allowed_hosts: tuple[str, ...] = ("127.0.0.1", "localhost", "[::1]", "::1")


class SecurityHeaders:
    """Pure ASGI middleware adding :data:`SECURITY_HEADERS` to every response."""

    def __init__(self, app: ASGIApp, hsts: bool) -> None:
        self.app = app
        self.extra = list(SECURITY_HEADERS)
        if hsts:
            self.extra.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                headers = list(message.get("headers", []))
                headers += [(k, v) for k, v in self.extra if k not in present]
                headers.append((b"server", b"crimedetect"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class LoginRequired(Exception):
    """Raised by :func:`_user` when a request has no live session."""


def _label(value: Any) -> str:
    return str(value or "").replace("_", " ")


def _show(value: Any) -> str:
    """Trace values (rule ids, cues, scores) as short text; lists and dicts flattened."""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_show(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value)
    return str(value)


def _safe_next(value: str | None) -> str:
    """Only a local path may follow a login (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["label"] = _label
    env.filters["show"] = _show
    env.filters["quote"] = lambda value: quote(str(value), safe="")
    env.filters["qs"] = lambda params: urlencode(params)
    env.filters["dt"] = lambda value: iso_z(value) or ""
    env.globals.update(
        CATEGORIES=CATEGORIES,
        FINDING_TYPES=FINDING_TYPES,
        RECORD_KINDS=RECORD_KINDS,
        STATUSES=STATUSES,
        DECISIONS=[d.value for d in Decision],
        DECISION_LABELS=DECISION_LABELS,
        DECISION_HELP=DECISION_HELP,
        version=__version__,
    )
    return Jinja2Templates(env=env)


def create_app(config: ReviewConfig | None = None) -> FastAPI:
    """The review app over the database at ``config.db_url`` (schema created if needed)."""
    config = config or ReviewConfig()
    engine = make_engine(config.db_url)
    store = ReviewStore(engine)
    with store.sessions.begin() as db:
        secret = auth.app_secret(db)
    templates = _templates()

    app = FastAPI(
        title="crimedetect review",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.store = store
    app.state.config = config
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.add_middleware(RequestBodyLimitMiddleware, max_body_size=MAX_BODY_BYTES)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(config.allowed_hosts))
    app.add_middleware(SecurityHeaders, hsts=config.secure_cookies)

    # ------------------------------------------------------------------ helpers

    def is_api(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def current_user(request: Request) -> CurrentUser:
        token = request.cookies.get(SESSION_COOKIE)
        with store.sessions.begin() as db:
            user = auth.resolve_session(db, token, config.session)
        if user is None:
            raise LoginRequired()
        return user

    def same_origin(request: Request) -> bool:
        """False only when the browser names another origin; the token is the real check
        (an absent or ``null`` Origin, e.g. from privacy settings, defers to it)."""
        origin = request.headers.get("origin")
        if not origin or origin == "null":
            return True
        return urlsplit(origin).netloc == request.headers.get("host")

    def check_csrf(request: Request, user: CurrentUser, token: str | None) -> None:
        if not same_origin(request) or not auth.tokens_match(token, user.csrf_token):
            raise HTTPException(
                403, "The form's security token is missing or wrong. Reload the page and try again."
            )

    def require(user: CurrentUser, allowed: frozenset[str], what: str) -> None:
        if user.role not in allowed:
            raise HTTPException(403, f"Your role ({user.role}) may not {what}.")

    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status)

    def set_session_cookie(response: Response, token: str) -> None:
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=int(config.session.absolute.total_seconds()),
            httponly=True,
            secure=config.secure_cookies,
            samesite="strict",
        )

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, _exc: LoginRequired) -> Response:
        if is_api(request):
            return JSONResponse({"detail": "login required"}, status_code=401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request) or request.url.path.startswith("/static/"):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
        return render(
            request,
            "error.html",
            {"user": None, "status": exc.status_code, "message": exc.detail},
            exc.status_code,
        )

    # ------------------------------------------------------------------ login

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request, next: str = "/") -> Response:
        pre = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = render(
            request,
            "login.html",
            {
                "user": None,
                "csrf_token": auth.login_form_token(secret, pre),
                "next": _safe_next(next),
                "error": None,
            },
        )
        response.set_cookie(LOGIN_COOKIE, pre, httponly=True, samesite="strict", secure=config.secure_cookies)
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await request.form()
        pre = request.cookies.get(LOGIN_COOKIE)
        if (
            not pre
            or not same_origin(request)
            or not auth.tokens_match(str(form.get("csrf_token") or ""), auth.login_form_token(secret, pre))
        ):
            raise HTTPException(403, "The login form's security token is missing or wrong. Reload the page.")
        username = str(form.get("username") or "").strip()
        password = str(form.get("password") or "")
        next_url = _safe_next(str(form.get("next") or "/"))
        token, error, status = _do_login(username, password)
        if token is None:
            context = {
                "user": None,
                "csrf_token": auth.login_form_token(secret, pre),
                "next": next_url,
                "error": error,
            }
            return render(request, "login.html", context, status)
        response = RedirectResponse(next_url, status_code=303)
        set_session_cookie(response, token)
        response.delete_cookie(LOGIN_COOKIE, httponly=True, samesite="strict")
        return response

    def _do_login(username: str, password: str) -> tuple[str | None, str, int]:
        with store.sessions.begin() as db:
            if auth.too_many_failures(db, username):
                return None, "Too many failed attempts; wait 15 minutes and try again.", 429
            user = auth.authenticate(db, username, password)
            if user is None:
                return None, "Wrong user name or password.", 401
            return auth.start_session(db, user, config.session), "", 200

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        user = current_user(request)
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token") or ""))
        with store.sessions.begin() as db:
            auth.end_session(db, user.session_id, user.username)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
        return response

    # ------------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse)
    def queue_page(request: Request) -> Response:
        user = current_user(request)
        filters, errors = QueueFilter.from_params(dict(request.query_params))
        page = store.queue(filters)
        filters.page = page.page
        return render(
            request, "queue.html", {"user": user, "filters": filters, "page": page, "errors": errors}
        )

    def record_context(user: CurrentUser, record_id: str, **extra: Any) -> dict[str, Any]:
        view = store.record_view(record_id)
        if view is None:
            raise HTTPException(404, "No flag or record with that id.")
        return {
            "user": user,
            "view": view,
            "error": None,
            "error_key": None,
            "form": {},
            "saved": False,
            **extra,
        }

    @app.get("/records/{record_id:path}", response_class=HTMLResponse)
    def record_page(request: Request, record_id: str, saved: str | None = None) -> Response:
        user = current_user(request)
        return render(request, "record.html", record_context(user, record_id, saved=bool(saved)))

    @app.post("/decisions")
    async def decide(request: Request) -> Response:
        user = current_user(request)
        form = await request.form()
        check_csrf(request, user, str(form.get("csrf_token") or ""))
        require(user, auth.CAN_DECIDE, "record decisions")
        record_id = str(form.get("record_id") or "")
        finding_key = str(form.get("finding_key") or "")
        fields = {k: str(form.get(k) or "") for k in ("decision", "category", "crime_ref", "rationale")}
        try:
            expected = int(str(form.get("current") or "0") or 0)
            decision = validate_decision(**fields)
            store.add_decision(user, record_id, finding_key, decision, expected_current=expected)
        except (DecisionError, ValueError) as exc:
            status = 409 if isinstance(exc, ConflictError) else 400
            context = record_context(user, record_id, error=str(exc), error_key=finding_key, form=fields)
            return render(request, "record.html", context, status)
        return RedirectResponse(f"/records/{quote(record_id, safe='')}?saved=1", status_code=303)

    @app.get("/audit-trail", response_class=HTMLResponse)
    def audit_trail(request: Request, page: int = 1) -> Response:
        user = current_user(request)
        events, total = store.recent_events(page)
        pages = max(1, -(-total // 100))
        return render(
            request,
            "audit_trail.html",
            {"user": user, "events": events, "total": total, "page": page, "pages": pages},
        )

    def audits_stream() -> Iterator[bytes]:
        stats = ExportStats()
        for audit in iter_audits(store, stats):
            yield (json.dumps(audit.to_json_dict(), ensure_ascii=False) + "\n").encode("utf-8")

    @app.get("/export/audits.jsonl")
    def export_page(request: Request) -> Response:
        user = current_user(request)
        require(user, auth.CAN_EXPORT, "export audits")
        return StreamingResponse(
            audits_stream(),
            media_type="application/x-ndjson",
            headers={"content-disposition": 'attachment; filename="audits.jsonl"'},
        )

    # ------------------------------------------------------------------ JSON API

    @app.post("/api/session")
    async def api_login(request: Request) -> Response:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise HTTPException(415, 'send JSON: {"username": ..., "password": ...}')
        if not same_origin(request):
            raise HTTPException(403, "cross-origin login refused")
        try:
            body = await request.json()
            username, password = str(body["username"]), str(body["password"])
        except (ValueError, KeyError, TypeError) as exc:
            raise HTTPException(400, 'send JSON: {"username": ..., "password": ...}') from exc
        token, error, status = _do_login(username, password)
        if token is None:
            return JSONResponse({"detail": error}, status_code=status)
        with store.sessions.begin() as db:
            user = auth.resolve_session(db, token, config.session)
        assert user is not None
        response = JSONResponse({"user": user.username, "role": user.role, "csrf_token": user.csrf_token})
        set_session_cookie(response, token)
        return response

    @app.delete("/api/session")
    def api_logout(request: Request) -> Response:
        user = current_user(request)
        check_csrf(request, user, request.headers.get(CSRF_HEADER))
        with store.sessions.begin() as db:
            auth.end_session(db, user.session_id, user.username)
        response = JSONResponse({"detail": "logged out"})
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
        return response

    @app.get("/api/me")
    def api_me(request: Request) -> dict[str, Any]:
        user = current_user(request)
        return {"user": user.username, "role": user.role, "csrf_token": user.csrf_token}

    @app.get("/api/queue")
    def api_queue(request: Request) -> dict[str, Any]:
        current_user(request)
        filters, errors = QueueFilter.from_params(dict(request.query_params))
        if errors:
            raise HTTPException(400, "; ".join(errors))
        page = store.queue(filters)
        return {
            "open": page.open,
            "decided": page.decided,
            "matching": page.matching,
            "page": page.page,
            "pages": page.pages,
            "items": [item.to_json_dict() for item in page.items],
        }

    @app.get("/api/records/{record_id:path}")
    def api_record(request: Request, record_id: str) -> dict[str, Any]:
        current_user(request)
        view = store.record_view(record_id)
        if view is None:
            raise HTTPException(404, "no flag or record with that id")
        return {
            "record_id": view.record_id,
            "status": view.status,
            "record": view.record,
            "flag": view.flag,
            "crimes": view.crimes,
            "findings": [
                {
                    "index": f.index,
                    "key": f.key,
                    **f.finding,
                    "current": event_json(f.current) if f.current else None,
                }
                for f in view.findings
            ],
            "history": [event_json(e) for e in view.history],
        }

    @app.post("/api/decisions", status_code=201)
    async def api_decide(request: Request) -> Response:
        user = current_user(request)
        check_csrf(request, user, request.headers.get(CSRF_HEADER))
        require(user, auth.CAN_DECIDE, "record decisions")
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            decision = validate_decision(
                body.get("decision"), body.get("category"), body.get("crime_ref"), body.get("rationale")
            )
            event = store.add_decision(
                user,
                str(body.get("record_id") or ""),
                str(body.get("finding_key") or ""),
                decision,
                expected_current=None if body.get("current") is None else int(body["current"]),
            )
        except ConflictError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=409)
        except (DecisionError, ValueError) as exc:
            return JSONResponse({"detail": str(exc)}, status_code=400)
        return JSONResponse(event_json(event), status_code=201)

    @app.get("/api/audit-trail")
    def api_audit_trail(request: Request, page: int = 1) -> dict[str, Any]:
        current_user(request)
        events, total = store.recent_events(page)
        return {"total": total, "page": page, "events": [event_json(e) for e in events]}

    @app.get("/api/export")
    def api_export(request: Request) -> Response:
        user = current_user(request)
        require(user, auth.CAN_EXPORT, "export audits")
        return StreamingResponse(audits_stream(), media_type="application/x-ndjson")

    return app
