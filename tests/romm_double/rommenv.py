"""RomM 5.2's OIDC settings, read from an environment the way RomM reads its own.

Facts (rommapp/romm 5.2.0, backend/config/__init__.py and backend/utils/database.py;
summarised in romm.md section 1):
- a variable that is missing or empty takes RomM's default; any other value loses
  its leading and trailing whitespace and is otherwise kept as written (quotes too);
- a boolean is true only for 1, true, yes or on, in any letter case, after stripping;
- an integer that does not parse takes the default.
RomM also calls python-dotenv's load_dotenv() at import; the double does not: a test
hands it the environment, e.g. an env file already read as docker compose reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from authlib.oidc.discovery import get_well_known_url

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def env_value(environ: Mapping[str, str], name: str, default: str | None = None) -> str | None:
    """The value RomM sees for `name`: empty counts as unset, whitespace trimmed."""
    raw = environ.get(name)
    if not raw:
        raw = default
    if not raw:
        return raw
    return raw.strip()


def env_bool(value: str | None) -> bool:
    """RomM's reading of a boolean variable; anything unrecognised is false."""
    if not isinstance(value, str):
        return False
    return value.strip().lower() in TRUE_WORDS


def env_int(value: str | None, default: int) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Settings:
    """The variables RomM's OIDC routes, session cookie and user handling read."""

    oidc_enabled: bool
    autologin: bool
    allow_registration: bool
    provider: str
    client_id: str
    client_secret: str
    redirect_uri: str
    server_application_url: str
    server_metadata_url: str | None
    claim_roles: str
    role_viewer: str | None
    role_editor: str | None
    role_admin: str | None
    tls_cacertfile: str | None
    username_attribute: str
    rp_initiated_logout: bool
    disable_userpass_login: bool
    secure_cookie: bool
    session_max_age: int
    db_driver: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        def text(name: str, default: str = "") -> str:
            return env_value(environ, name, default) or ""

        def optional(name: str) -> str | None:
            return env_value(environ, name)

        def flag(name: str, default: str | None = None) -> bool:
            return env_bool(env_value(environ, name, default))

        return cls(
            oidc_enabled=flag("OIDC_ENABLED"),
            autologin=flag("OIDC_AUTOLOGIN"),
            allow_registration=flag("OIDC_ALLOW_REGISTRATION", "true"),
            provider=text("OIDC_PROVIDER"),
            client_id=text("OIDC_CLIENT_ID"),
            client_secret=text("OIDC_CLIENT_SECRET"),
            redirect_uri=text("OIDC_REDIRECT_URI"),
            server_application_url=text("OIDC_SERVER_APPLICATION_URL"),
            server_metadata_url=optional("OIDC_SERVER_METADATA_URL"),
            claim_roles=text("OIDC_CLAIM_ROLES"),
            role_viewer=optional("OIDC_ROLE_VIEWER"),
            role_editor=optional("OIDC_ROLE_EDITOR"),
            role_admin=optional("OIDC_ROLE_ADMIN"),
            tls_cacertfile=optional("OIDC_TLS_CACERTFILE"),
            username_attribute=text("OIDC_USERNAME_ATTRIBUTE", "preferred_username"),
            rp_initiated_logout=flag("OIDC_RP_INITIATED_LOGOUT"),
            disable_userpass_login=flag("DISABLE_USERPASS_LOGIN"),
            secure_cookie=flag("ROMM_SESSION_SECURE_COOKIE"),
            session_max_age=env_int(env_value(environ, "SESSION_MAX_AGE_SECONDS"), 14 * 24 * 3600),
            db_driver=text("ROMM_DB_DRIVER", "mariadb"),
        )

    def discovery_url(self) -> str:
        """OIDC_SERVER_METADATA_URL as given, else authlib's well-known URL of the
        application URL (every trailing slash dropped, nothing else normalised)."""
        if self.server_metadata_url:
            return self.server_metadata_url
        return get_well_known_url(self.server_application_url, external=True)

    def scope(self) -> str:
        """openid profile email, plus the roles claim's name when one is set."""
        return " ".join(["openid", "profile", "email", self.claim_roles]).strip()
