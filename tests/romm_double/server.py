"""A RomM 5.2 OIDC double on the libraries RomM runs (see requirements.txt).

    python server.py --port PORT [--host 127.0.0.1] [--users JSON] [--exit-on-stdin-eof]

RomM's variables come from this process's environment (rommenv.py). The routes are
RomM's OIDC surface (romm.md sections 3 and 4; rommapp/romm 5.2.0
backend/endpoints/auth.py, backend/endpoints/heartbeat.py, backend/main.py):

    GET /api/heartbeat     the SYSTEM, FRONTEND and OIDC blocks
    GET /api/login/openid  authlib's authorize_redirect to OIDC_REDIRECT_URI
    GET /api/oauth/openid  authlib's authorize_access_token, then RomM's claim and
                           user rules (rommusers.py) against the --users table
    GET /                  a stand-in for RomM's web app, where a login ends

The authlib client is registered as RomM registers it (backend/decorators/auth.py):
the discovery URL RomM derives, scope "openid profile email" plus the roles claim,
the client id and secret (so client_secret_basic), `verify` from OIDC_TLS_CACERTFILE,
no PKCE, nothing else. The login state lives in an in-memory session behind RomM's
cookie (romm_session; httponly; SameSite lax, strict when OIDC is off; Secure with
ROMM_SESSION_SECURE_COOKIE). A refusal is RomM's JSON {"detail": ...}; any other
exception ends, as in RomM, as a bare "500 Internal Server Error".

Stdout is the side channel for tests, one JSON object per line:
    {"event": "ready", "url": ..., "python": ..., "versions": {...}, ...}   (first)
    {"event": "outcome", "route": ..., "status": ..., "detail"?: ...,
     "exception"?: "Class: message", "exception_class"?: "module.Class",
     "stage"?: "callback"|"token"|"id-token"|"rules"|"user",
     "claims"?: {...}, "user"?: {...}, "created"?: bool, "location"?: ...}
The client secret, tokens and codes are never written anywhere.
"""

from __future__ import annotations

import argparse
import contextvars
import ipaddress
import json
import platform
import socket
import ssl
import sys
import threading
import uuid
from importlib import metadata as dist_metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "requirements.txt"

# The default TLS context of RomM's image (CPython 3.13) verifies strictly (RFC 5280)
# and takes any certificate in the CA file as a trust anchor (cpython gh-107361).
TLS_FLAGS = ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN


def match_romm_tls() -> str:
    """Makes every default TLS context (httpx's and httpcore's) verify as RomM's
    Python 3.13 does; says where the flags come from."""
    if sys.version_info >= (3, 13):
        return "python default"
    plain = ssl.create_default_context

    def romm_default_context(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = plain(*args, **kwargs)
        context.verify_flags |= TLS_FLAGS
        return context

    ssl.create_default_context = romm_default_context
    return "set by the double"


TLS_FLAGS_SOURCE = match_romm_tls()

# Imported after the TLS patch so that no library holds the unpatched function.
from authlib.integrations.starlette_client import OAuth  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.config import Config  # noqa: E402
from starlette.requests import HTTPConnection, Request  # noqa: E402
from starlette.responses import (  # noqa: E402
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Route  # noqa: E402

from rommenv import Settings  # noqa: E402
from rommusers import IntegrityError, Refusal, Users, sign_in  # noqa: E402

SESSION_COOKIE = "romm_session"
ROMM_VERSION = "5.2.0"


def pinned_versions() -> dict[str, str]:
    """name -> version, as requirements.txt pins them."""
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[name.strip()] = version.strip()
    return pins


def version_mismatches() -> list[str]:
    wrong = []
    for name, wanted in pinned_versions().items():
        try:
            found = dist_metadata.version(name)
        except dist_metadata.PackageNotFoundError:
            found = "not installed"
        if found != wanted:
            wrong.append(f"{name} {found} (pinned {wanted})")
    return wrong


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, default=str) + "\n")
    sys.stdout.flush()


def register_client(settings: Settings) -> Any:
    """authlib's starlette client, registered with exactly what RomM passes."""
    config = Config(
        environ={
            "OIDC_ENABLED": str(settings.oidc_enabled),
            "OIDC_PROVIDER": settings.provider,
            "OIDC_CLIENT_ID": settings.client_id,
            "OIDC_CLIENT_SECRET": settings.client_secret,
            "OIDC_REDIRECT_URI": settings.redirect_uri,
            "OIDC_SERVER_APPLICATION_URL": settings.server_application_url,
        }
    )
    oauth = OAuth(config=config)
    oauth.register(
        name="openid",
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=settings.discovery_url(),
        client_kwargs={"scope": settings.scope(), "verify": settings.tls_cacertfile},
    )
    return oauth.openid


# The outcome being recorded for the request in progress.
CURRENT: contextvars.ContextVar[dict[str, Any]] = contextvars.ContextVar("outcome")


def track_stages(client: Any) -> None:
    """Notes which step of authorize_access_token is running, so an exception can be
    told apart (token endpoint vs ID-token validation). Behaviour is unchanged."""
    for method, stage in (("fetch_access_token", "token"), ("parse_id_token", "id-token")):
        inner = getattr(client, method)

        async def tracked(*args: Any, _inner: Any = inner, _stage: str = stage, **kwargs: Any):
            CURRENT.get()["stage"] = _stage
            return await _inner(*args, **kwargs)

        setattr(client, method, tracked)


class MemorySessions:
    """RomM's session middleware with a dict in place of Redis: the cookie carries a
    session id; a non-empty session is stored and the cookie (re)set, an emptied one
    is dropped and the cookie expired."""

    def __init__(self, app: Any, settings: Settings):
        self.app = app
        self.store: dict[str, str] = {}
        self.max_age = settings.session_max_age
        flags = "httponly; samesite=" + ("lax" if settings.oidc_enabled else "strict")
        self.flags = flags + ("; secure" if settings.secure_cookie else "")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = HTTPConnection(scope).cookies.get(SESSION_COOKIE)
        stored = self.store.get(sent_id) if sent_id else None
        scope["session"] = json.loads(stored) if stored else {}
        session_id = sent_id if stored else None

        async def send_with_cookie(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                session = scope["session"]
                if session:
                    sid = session_id or str(uuid.uuid4())
                    self.store[sid] = json.dumps(session)
                    cookie = f"{SESSION_COOKIE}={sid}; path=/; Max-Age={self.max_age}; {self.flags}"
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                elif sent_id:
                    self.store.pop(sent_id, None)
                    cookie = (
                        f"{SESSION_COOKIE}=null; path=/; "
                        f"expires=Thu, 01 Jan 1970 00:00:00 GMT; {self.flags}"
                    )
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def build_app(settings: Settings, users: Users) -> Any:
    client = register_client(settings)
    track_stages(client)
    secret = settings.client_secret

    def redact(text: str) -> str:
        return text.replace(secret, "<client secret>") if secret else text

    def recorded(handler: Any) -> Any:
        """Runs a route and emits its outcome, whichever way it ends."""

        async def endpoint(request: Request) -> Response:
            outcome: dict[str, Any] = {"event": "outcome", "route": request.url.path}
            CURRENT.set(outcome)
            try:
                response = await handler(request, outcome)
            except Refusal as refusal:
                outcome["detail"] = refusal.detail
                response = JSONResponse({"detail": refusal.detail}, status_code=refusal.status)
            except Exception as exc:
                kind = type(exc)
                outcome.update(
                    status=500,
                    exception=redact(f"{kind.__name__}: {exc}"),
                    exception_class=f"{kind.__module__}.{kind.__qualname__}",
                )
                emit(outcome)
                raise  # Starlette answers a bare 500, as RomM does
            outcome["status"] = response.status_code
            if "location" in response.headers:
                outcome["location"] = response.headers["location"]
            emit(outcome)
            return response

        return endpoint

    async def heartbeat(request: Request, outcome: dict[str, Any]) -> Response:
        return JSONResponse(
            {
                "SYSTEM": {"VERSION": ROMM_VERSION, "SHOW_SETUP_WIZARD": False},
                "FRONTEND": {"DISABLE_USERPASS_LOGIN": settings.disable_userpass_login},
                "OIDC": {
                    "ENABLED": settings.oidc_enabled,
                    "AUTOLOGIN": settings.autologin,
                    "PROVIDER": settings.provider,
                    "RP_INITIATED_LOGOUT": settings.rp_initiated_logout,
                },
            }
        )

    async def login(request: Request, outcome: dict[str, Any]) -> Response:
        if not settings.oidc_enabled:
            raise Refusal(500, "OAuth disabled")
        outcome["stage"] = "discovery"
        return await client.authorize_redirect(request, settings.redirect_uri)

    async def callback(request: Request, outcome: dict[str, Any]) -> Response:
        if not settings.oidc_enabled:
            raise Refusal(500, "OAuth disabled")
        outcome["stage"] = "callback"
        token = await client.authorize_access_token(request)
        claims = token.get("userinfo")
        outcome["stage"] = "rules"
        if claims is not None:
            outcome["claims"] = dict(claims)
        server_metadata = await client.load_server_metadata()
        try:
            signed_in = sign_in(claims, server_metadata.get("claims_supported"), settings, users)
        except IntegrityError:
            outcome["stage"] = "user"
            raise
        outcome.update(
            user=signed_in.user.public(),
            created=signed_in.created,
            role_changed=signed_in.role_changed,
        )
        request.session["iss"] = "romm:auth"
        request.session["sub"] = signed_in.user.username
        return RedirectResponse(url="/")

    async def home(request: Request, outcome: dict[str, Any]) -> Response:
        who = request.session.get("sub")
        text = f"signed in as {who}" if who else "not signed in"
        return HTMLResponse(f"<html><body><p>RomM double: {text}</p></body></html>")

    routes = [
        Route("/api/heartbeat", recorded(heartbeat)),
        Route("/api/login/openid", recorded(login)),
        Route("/api/oauth/openid", recorded(callback)),
        Route("/", recorded(home)),
    ]
    app = Starlette(routes=routes)
    return MemorySessions(app, settings)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def main(argv: list[str] | None = None) -> int:
    import os

    import uvicorn

    parser = argparse.ArgumentParser(description="RomM 5.2 OIDC double (tests only)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="0 picks a free port")
    parser.add_argument("--users", default="[]", help="RomM's users as a JSON list")
    parser.add_argument("--exit-on-stdin-eof", action="store_true")
    args = parser.parse_args(argv)

    if not is_loopback(args.host):
        parser.error("the double listens on loopback only")
    wrong = version_mismatches()
    if wrong:
        sys.stderr.write(
            "romm-double: the libraries are not RomM's pinned set: "
            + "; ".join(wrong)
            + f"; reinstall with pip install -r {REQUIREMENTS}\n"
        )
        return 3
    try:
        rows = json.loads(args.users)
        settings = Settings.from_environ(os.environ)
        users = Users.for_settings(rows, settings)
    except (ValueError, KeyError, TypeError) as exc:
        sys.stderr.write(f"romm-double: bad --users: {exc}\n")
        return 2

    sock = socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sys.stderr.write(f"romm-double: cannot listen on {args.host}:{args.port}: {exc}\n")
        return 4
    sock.listen(64)
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host

    server = uvicorn.Server(
        uvicorn.Config(
            build_app(settings, users),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
    )
    if args.exit_on_stdin_eof:

        def stop_on_eof() -> None:
            while sys.stdin.buffer.read(4096):
                pass
            server.should_exit = True

        threading.Thread(target=stop_on_eof, daemon=True).start()

    emit(
        {
            "event": "ready",
            "url": f"http://{host}:{port}",
            "python": platform.python_version(),
            "python_executable": sys.executable,
            "tls_flags": TLS_FLAGS_SOURCE,
            "versions": {name: dist_metadata.version(name) for name in pinned_versions()},
        }
    )
    server.run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
