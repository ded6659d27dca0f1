"""RomM 5.2's users, and what its OIDC callback does with a verified ID token.

Facts (rommapp/romm 5.2.0; romm.md sections 3.5 and 3.6):
- backend/handler/auth/base_handler.py, OpenIDHandler: the claim rules, in this order:
  claims present (400), email present (400), email verified (400), username claim
  present (400), roles (403); then the user: found by email, else refused when
  registration is off (403), else created with the username claim's value; a found
  user's role follows the roles claim when that claim is present; a disabled user is
  refused (401, also in backend/endpoints/auth.py).
- backend/handler/database/users_handler.py: the email lookup lowercases both sides.
- backend/models/user.py: username and email are unique columns, so a new account
  whose username is taken fails in the database; nothing catches it (a bare 500).
  RomM's default database is MariaDB, whose default collations compare
  case-insensitively; with ROMM_DB_DRIVER=postgresql the comparison is exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from rommenv import Settings

USERINFO_MISSING = "Userinfo is missing from token."
EMAIL_MISSING = "Email is missing from token."
EMAIL_NOT_VERIFIED = "Email is not verified."
NO_ROLE = "User has not been granted any roles for this application."
REGISTRATION_DISABLED = (
    "User registration is disabled. Please contact an administrator to create an account."
)
DISABLED_USER = "Disabled user"


def username_missing(attribute: str) -> str:
    return f"'{attribute}' attribute is missing from token."


class Refusal(Exception):
    """A refusal RomM raises as an HTTPException: the browser gets {"detail": ...}."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


class IntegrityError(Exception):
    """What the database driver raises for a duplicate key (RomM does not catch it)."""


@dataclass
class User:
    id: int
    username: Any
    email: str | None
    enabled: bool = True
    role: str = "user"

    def public(self) -> dict[str, Any]:
        return asdict(self)


class Users:
    """RomM's users table, in memory."""

    def __init__(self, rows: Iterable[Mapping[str, Any]] = (), *, case_insensitive: bool = True):
        self.case_insensitive = case_insensitive
        self.rows: list[User] = []
        for row in rows:
            self._insert(
                username=row["username"],
                email=row.get("email"),
                enabled=bool(row.get("enabled", True)),
                role=str(row.get("role", "user")),
            )

    @classmethod
    def for_settings(cls, rows: Iterable[Mapping[str, Any]], settings: Settings) -> Users:
        return cls(rows, case_insensitive=settings.db_driver.lower() != "postgresql")

    def _same_key(self, a: Any, b: Any) -> bool:
        if self.case_insensitive and isinstance(a, str) and isinstance(b, str):
            return a.lower() == b.lower()
        return a == b

    def _insert(self, *, username: Any, email: str | None, enabled: bool, role: str) -> User:
        for existing in self.rows:
            if self._same_key(existing.username, username):
                raise IntegrityError(
                    f"(1062, \"Duplicate entry '{username}' for key 'ix_users_username'\")"
                )
            if email is not None and self._same_key(existing.email, email):
                raise IntegrityError(
                    f"(1062, \"Duplicate entry '{email}' for key 'ix_users_email'\")"
                )
        user = User(len(self.rows) + 1, username, email, enabled, role)
        self.rows.append(user)
        return user

    def by_email(self, email: str) -> User | None:
        wanted = email.lower()  # a non-string email fails here, as in RomM's query
        return next(
            (u for u in self.rows if u.email is not None and u.email.lower() == wanted), None
        )

    def add(self, *, username: Any, email: str, role: str) -> User:
        return self._insert(username=username, email=email, enabled=True, role=role)


@dataclass
class Login:
    """Whom RomM's callback signs in: the user, and whether it was created just now."""

    user: User
    created: bool
    role_changed: bool


def role_for(claims: Mapping[str, Any], settings: Settings) -> str | None:
    """The role the roles claim grants; None when no mapping applies (no roles claim
    configured, or the token lacks it). Raises the 403 when the claim grants nothing.

    The values are tested with Python's `in`, as RomM does: exact membership for a
    list, a substring test for a string claim, and a TypeError (a 500) for a number."""
    name = settings.claim_roles
    if not name or name not in claims:
        return None
    granted = claims[name] or []
    if settings.role_admin and settings.role_admin in granted:
        return "admin"
    if settings.role_editor and settings.role_editor in granted:
        return "user"
    if settings.role_viewer and (settings.role_viewer in granted or settings.role_viewer == "*"):
        return "user"
    raise Refusal(403, NO_ROLE)


def check_claims(
    claims: Mapping[str, Any] | None, claims_supported: Any, settings: Settings
) -> tuple[str, Any, str | None]:
    """RomM's claim rules in RomM's order. Returns (email, username, role or None)."""
    if claims is None:
        raise Refusal(400, USERINFO_MISSING)
    email = claims.get("email")
    if email is None:
        raise Refusal(400, EMAIL_MISSING)
    verified = claims.get("email_verified")
    # Refused when the token says false, or when discovery advertises the claim and
    # the token does not carry the JSON value true.
    advertised = bool(claims_supported) and "email_verified" in claims_supported
    if verified is False or (advertised and verified is not True):
        raise Refusal(400, EMAIL_NOT_VERIFIED)
    username = claims.get(settings.username_attribute)
    if username is None:
        raise Refusal(400, username_missing(settings.username_attribute))
    return email, username, role_for(claims, settings)


def sign_in(
    claims: Mapping[str, Any] | None, claims_supported: Any, settings: Settings, users: Users
) -> Login:
    """Everything RomM's callback does after authlib accepted the ID token."""
    email, username, role = check_claims(claims, claims_supported, settings)
    user = users.by_email(email)
    created = role_changed = False
    if user is None:
        if not settings.allow_registration:
            raise Refusal(403, REGISTRATION_DISABLED)
        user = users.add(username=username, email=email, role=role or "user")
        created = True
    elif role is not None and user.role != role:
        user.role = role
        role_changed = True
    if not user.enabled:
        raise Refusal(401, DISABLED_USER)
    return Login(user, created, role_changed)
