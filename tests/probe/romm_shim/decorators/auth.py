"""romm-oidc's test stand-in for RomM's decorators/auth.py (not RomM's code, written for
the probe's tests). It has the shape the probe relies on: importable only after
handler.auth, logging to stdout as it loads, and exposing `oauth`, a starlette OAuth
registry whose "openid" client is registered from RomM's OIDC variables (read as RomM's
_get_env reads them: empty is unset, values stripped)."""

import os
import sys

from authlib.integrations.starlette_client import OAuth
from authlib.oidc.discovery import get_well_known_url

if "handler.auth" not in sys.modules:
    raise ImportError("cannot import name 'oauth' (circular import): import handler.auth first")


def _env(name, fallback=None):
    value = os.environ.get(name) or fallback
    return value.strip() if value else value


print("INFO:\t  [RomM][auth][2026-12-05 10:00:00] the stand-in's import writes to stdout")

oauth = OAuth()
oauth.register(
    name="openid",
    client_id=_env("OIDC_CLIENT_ID", ""),
    client_secret=_env("OIDC_CLIENT_SECRET", ""),
    server_metadata_url=_env("OIDC_SERVER_METADATA_URL")
    or get_well_known_url(_env("OIDC_SERVER_APPLICATION_URL", ""), external=True),
    client_kwargs={
        "scope": ("openid profile email %s" % _env("OIDC_CLAIM_ROLES", "")).strip(),
        "verify": _env("OIDC_TLS_CACERTFILE"),
    },
)
