"""Users, passwords, sessions and CSRF tokens for the review app.

Passwords are hashed with scrypt (stdlib ``hashlib.scrypt``) and a random salt. A session
cookie holds a random token; the database keeps only its SHA-256, so a copy of the database
cannot be replayed as a cookie. Sessions expire after an idle period and an absolute
lifetime. Every state-changing form carries a CSRF token: the session's own random token
once logged in, and an HMAC of a pre-login cookie for the login form itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from crimedetect.review.db import LoginEvent, SessionRow, Setting, User, utcnow

ROLES: tuple[str, ...] = ("supervisor", "auditor", "admin")
#: Who may do what. Everyone logged in may read the queue, records and history.
CAN_DECIDE = frozenset({"supervisor", "admin"})
CAN_EXPORT = frozenset({"auditor", "admin"})

SECRET_ENV = "CRIMEDETECT_REVIEW_SECRET"
PASSWORD_ENV = "CRIMEDETECT_PASSWORD"
MIN_PASSWORD_LENGTH = 10
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")

# scrypt cost: n=2**14, r=8 uses 16 MiB and ~50 ms per hash; the parameters are stored with
# each hash so they can be raised later without invalidating old passwords.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = timedelta(minutes=15)


class AuthError(ValueError):
    """A user-management problem the CLI reports as a usage error."""


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64) for a password."""
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 1024 * 1024
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by :func:`hash_password` (constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 1024 * 1024,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY_HASH = hash_password("not a password", salt=b"0123456789abcdef")


def check_new_password(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"password must have at least {MIN_PASSWORD_LENGTH} characters")


def add_user(db: Session, username: str, role: str, password: str, *, update: bool = False) -> User:
    """Create a user (or, with ``update``, reset an existing user's role and password)."""
    if not USERNAME_RE.match(username):
        raise AuthError("user name: 1-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise AuthError(f"role must be one of {', '.join(ROLES)}")
    check_new_password(password)
    user = db.scalar(select(User).where(User.username == username))
    if user is not None and not update:
        raise AuthError(f"user {username!r} exists; pass --update to reset role and password")
    if user is None:
        user = User(username=username, role=role, password_hash=hash_password(password), active=True)
        db.add(user)
    else:
        user.role = role
        user.password_hash = hash_password(password)
        user.active = True
        db.execute(delete(SessionRow).where(SessionRow.user_id == user.id))
    db.flush()
    return user


def app_secret(db: Session) -> bytes:
    """The secret that signs login-form CSRF tokens: from the environment, else generated once
    and kept in the database so it survives restarts and is shared by every worker."""
    from_env = os.environ.get(SECRET_ENV)
    if from_env:
        return from_env.encode("utf-8")
    row = db.get(Setting, "secret")
    if row is None:
        row = Setting(key="secret", value=secrets.token_hex(32))
        db.add(row)
        db.flush()
    return row.value.encode("utf-8")


def login_form_token(secret: bytes, pre_session: str) -> str:
    """The login form's CSRF token, bound to the browser's pre-login cookie."""
    return hmac.new(secret, b"login:" + pre_session.encode("utf-8"), hashlib.sha256).hexdigest()


def tokens_match(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison that is False when either side is missing."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SessionPolicy:
    """How long sessions last."""

    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


@dataclass(frozen=True)
class CurrentUser:
    """The logged-in user of one request."""

    id: int
    username: str
    role: str
    csrf_token: str
    session_id: str

    @property
    def can_decide(self) -> bool:
        return self.role in CAN_DECIDE

    @property
    def can_export(self) -> bool:
        return self.role in CAN_EXPORT


def too_many_failures(db: Session, username: str, now: datetime | None = None) -> bool:
    """Whether this user name has failed to log in too often lately."""
    now = now or utcnow()
    failures = db.scalar(
        select(func.count())
        .select_from(LoginEvent)
        .where(
            LoginEvent.username == username,
            LoginEvent.ok.is_(False),
            LoginEvent.at > now - FAILED_LOGIN_WINDOW,
        )
    )
    return bool(failures and failures >= MAX_FAILED_LOGINS)


def authenticate(db: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None; every attempt is logged."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_password(password, _DUMMY_HASH)  # same work whether or not the user exists
        ok = False
    else:
        ok = verify_password(password, user.password_hash)
    db.add(LoginEvent(username=username[:64], at=utcnow(), ok=ok, action="login"))
    return user if ok else None


def start_session(db: Session, user: User, policy: SessionPolicy) -> str:
    """A new session for ``user``; returns the cookie token (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Sweep sessions that can no longer be used, so the table does not grow without bound.
    db.execute(
        delete(SessionRow).where(
            (SessionRow.expires_at <= now) | (SessionRow.last_seen_at <= now - policy.idle)
        )
    )
    db.add(
        SessionRow(
            id=_token_id(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
            expires_at=now + policy.absolute,
        )
    )
    return token


def resolve_session(db: Session, token: str | None, policy: SessionPolicy) -> CurrentUser | None:
    """The user of a live session token, touching its idle clock; None if absent or expired."""
    if not token:
        return None
    row = db.get(SessionRow, _token_id(token))
    if row is None:
        return None
    now = utcnow()
    if now >= row.expires_at or now - row.last_seen_at >= policy.idle:
        db.delete(row)
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        db.delete(row)
        return None
    if now - row.last_seen_at > timedelta(seconds=30):  # avoid a write on every request
        row.last_seen_at = now
    return CurrentUser(user.id, user.username, user.role, row.csrf_token, row.id)


def end_session(db: Session, session_id: str, username: str) -> None:
    """Log out: the session row is removed and the logout recorded."""
    db.execute(delete(SessionRow).where(SessionRow.id == session_id))
    db.add(LoginEvent(username=username, at=utcnow(), ok=True, action="logout"))
