"""romm-oidc's probe of RomM's side. romm-oidc pipes it to `python3 -` inside RomM's
container (it is never written there) with one JSON argument, and reads one JSON
document from its stdout.

mode "env":   RomM's server environment: the variables named in the argument, the client
              secret only as its length and a keyed hash, and the names of other OIDC_* ones.
mode "probe": RomM's three OIDC requests, made by RomM's own registered authlib client
              when RomM's modules import (its image puts /backend on PYTHONPATH), else
              rebuilt from the same environment with authlib and httpx as RomM 5.2
              builds them: discovery, the token endpoint with a made-up code, the key
              set. For each: DNS answers, the proxy httpx uses, TLS, status, content
              type, the body (bounded) and the exception as RomM's log shows it.

Standard library only, besides RomM's own authlib and httpx; Python 3.8 or later."""

import asyncio
import hashlib
import hmac
import json
import os
import platform
import signal
import socket
import sys
import time
import traceback
import urllib.parse

SECRET = "OIDC_CLIENT_SECRET"
PROXIES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def main():
    config = json.loads(sys.argv[1])
    # stdout carries the one document; whatever else writes there (RomM's logging
    # as its modules import) goes to stderr.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    # Never outlive the caller, even when the engine's client is killed and the
    # engine leaves this process running (a handler: as PID 1 the default is ignored).
    signal.signal(signal.SIGALRM, lambda *_: os._exit(124))
    signal.alarm(max(1, int(config["budget"])))
    env, source = server_environment(config.get("proc", "/proc"))
    if config["mode"] == "env":
        doc = described(env, source, config)
    else:
        doc = probe(env, config)
    json.dump(doc, out)
    out.write("\n")
    out.flush()
    sys.stdout.flush()  # what others wrote "to stdout", now on stderr
    sys.stderr.flush()
    os._exit(0)  # RomM's modules may have started threads: do not wait for them


# ---------------------------------------------------------------- the environment


def server_environment(proc):
    """RomM's server's environment and where it was read: gunicorn's (RomM's entrypoint
    exported the *_FILE values into it), else the container's first process's, else
    this process's own, with the entrypoint's *_FILE rule applied."""
    for pid in candidates(proc):
        try:
            with open(os.path.join(proc, pid, "environ"), "rb") as f:
                raw = f.read()
        except OSError:
            continue
        if raw:
            env = dict(
                os.fsdecode(entry).partition("=")[::2]
                for entry in raw.split(b"\0")
                if b"=" in entry
            )
            return env, "/proc/%s/environ (%s)" % (pid, command_name(proc, pid))
    env = dict(os.environ)
    for name in [n for n in env if n.endswith("_FILE") and env[n]]:
        if not env.get(name[:-5]):
            try:
                with open(env[name], encoding="utf-8", errors="surrogateescape") as f:
                    env[name[:-5]] = f.read()
            except OSError:
                pass
    return env, "the exec's own environment (no RomM server process was readable)"


def candidates(proc):
    """gunicorn's processes, the master (lowest pid) first, then PID 1."""
    try:
        pids = sorted((p for p in os.listdir(proc) if p.isdigit()), key=int)
    except OSError:
        pids = []
    servers = [p for p in pids if b"gunicorn" in read(os.path.join(proc, p, "cmdline"))]
    return servers + ["1"]


def command_name(proc, pid):
    argv = read(os.path.join(proc, pid, "cmdline")).split(b"\0")
    return os.path.basename(os.fsdecode(argv[0])) or "?"


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return b""


def romm_value(env, name, fallback=None):
    """RomM's _get_env: an empty value counts as unset, the rest is stripped."""
    value = env.get(name) or fallback
    return value.strip() if value else value


def text(value):
    """The value as UTF-8 text, and whether it was (bad bytes become U+FFFD)."""
    raw = os.fsencode(value)
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), False


def described(env, source, config):
    values, secrets, not_utf8 = {}, {}, []
    for name, value in sorted(env.items()):
        if name not in config["names"]:
            # Another OIDC_* name is a misspelling to report, maybe of the secret:
            # its name leaves the container, never its value.
            if name.startswith("OIDC_"):
                values[name] = ""
            continue
        shown, utf8 = text(value)
        if not utf8:
            not_utf8.append(name)
        if name == SECRET:
            secret = romm_value(env, name)
            if secret:
                secrets[name] = fingerprint(secret, bytes.fromhex(config["key"]))
        else:
            values[name] = shown
    return {
        "source": source,
        "values": values,
        "secrets": secrets,
        "not_utf8": not_utf8,
    }


def fingerprint(secret, key):
    """A secret as it may leave the container: its length, a hash keyed afresh on each
    run (useless for guessing, enough to compare with the caller's value), and whether
    it starts with a quote RomM would send."""
    digest = hmac.new(key, os.fsencode(secret), hashlib.sha256).hexdigest()
    return {"length": len(secret), "hmac": digest[:16], "quoted": secret[0] in "\"'"}


# --------------------------------------------------------------------- the probe


def probe(env, config):
    # RomM's process environment, for RomM's modules and for httpx (proxies, CA),
    # with the caller's answers in place of RomM's values (the wizard's; no secret).
    env.update(config.get("overrides", {}))
    os.environ.clear()
    os.environ.update(env)
    record_responses()
    app, client = registered_client()
    return {
        "python": platform.python_version(),
        "libraries": {name: version(name) for name in ("authlib", "httpx")},
        "client": client,
        "proxies": {n: hide_password(v) for n, v in env.items() if n.upper() in PROXIES},
        "steps": asyncio.run(steps(app, env, config)),
    }


def registered_client():
    """RomM's own authlib client, or the same one rebuilt when RomM's modules do not
    import (another RomM version, or not RomM's container)."""
    try:
        # RomM's main imports the auth handlers first; decorators.auth alone is a
        # circular import.
        import handler.auth  # noqa: F401
        from decorators.auth import oauth

        return oauth.openid, {"romm": True}
    except (Exception, SystemExit) as e:
        return rebuilt_client(), {"romm": False, "why": logged(e)}


def rebuilt_client():
    """The client RomM 5.2's decorators/auth.py registers, from the same values."""
    from authlib.integrations.base_client import BaseApp
    from authlib.integrations.base_client.async_app import AsyncOAuth2Mixin
    from authlib.integrations.base_client.async_openid import AsyncOpenIDMixin
    from authlib.integrations.httpx_client import AsyncOAuth2Client
    from authlib.oidc.discovery import get_well_known_url

    class App(AsyncOAuth2Mixin, AsyncOpenIDMixin, BaseApp):
        client_cls = AsyncOAuth2Client

    env = os.environ
    roles = romm_value(env, "OIDC_CLAIM_ROLES", "")
    return App(
        None,
        "openid",
        client_id=romm_value(env, "OIDC_CLIENT_ID", ""),
        client_secret=romm_value(env, SECRET, ""),
        server_metadata_url=romm_value(env, "OIDC_SERVER_METADATA_URL")
        or get_well_known_url(
            romm_value(env, "OIDC_SERVER_APPLICATION_URL", ""), external=True
        ),
        client_kwargs={
            "scope": ("openid profile email %s" % roles).strip(),
            "verify": romm_value(env, "OIDC_TLS_CACERTFILE"),
        },
    )


# The last response httpx received, whoever sent it (RomM's client reads the body
# before the caller sees it, so it is complete).
LAST = {}


def record_responses():
    import httpx

    send = httpx.AsyncClient.send

    async def recording(self, request, **kwargs):
        response = await send(self, request, **kwargs)
        LAST["response"] = response
        return response

    httpx.AsyncClient.send = recording


async def steps(app, env, config):
    """RomM's requests in RomM's order; each later one needs the discovery document."""
    done = {"discovery": await step(app._server_metadata_url, app.load_server_metadata(), config)}
    if "error" in done["discovery"]:
        return done
    metadata = app.server_metadata
    redirect_uri = romm_value(env, "OIDC_REDIRECT_URI", "") or None
    exchange = app.fetch_access_token(redirect_uri=redirect_uri, code=config["code"])
    done["token"] = await step(metadata.get("token_endpoint"), exchange, config)
    if metadata.get("jwks"):
        done["jwks"] = {"inline": True}
    else:
        done["jwks"] = await step(metadata.get("jwks_uri"), app.fetch_jwk_set(), config)
    return done


async def step(url, action, config):
    """One request: its DNS answers (looked up beside it), then what came back."""
    LAST.clear()
    started = time.monotonic()
    result = {"url": url, "proxy": proxy_for(url)}
    dns = asyncio.ensure_future(lookup(url, config["timeout"]))
    try:
        await asyncio.wait_for(action, config["timeout"])
    except asyncio.TimeoutError:
        result["error"] = {"class": "timeout", "logged": None}
    except Exception as e:
        result["error"] = {"class": qualified(type(e)), "logged": logged(e)}
    result["seconds"] = round(time.monotonic() - started, 3)
    response = LAST.get("response")
    if response is not None:
        body = response.content
        result.update(
            status=response.status_code,
            content_type=response.headers.get("content-type"),
            location=response.headers.get("location"),
            body=body[: config["body_limit"]].decode("utf-8", "replace"),
            body_truncated=len(body) > config["body_limit"],
        )
    result["tls"] = tls(url, result)
    result["dns"] = await dns
    return result


async def lookup(url, timeout):
    parts = urllib.parse.urlsplit(url or "")
    if not parts.hostname:
        return None
    try:
        port = parts.port or {"https": 443}.get(parts.scheme, 80)
        infos = await asyncio.wait_for(
            asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM),
            timeout,
        )
        return {"host": parts.hostname, "answers": sorted({i[4][0] for i in infos})}
    except asyncio.TimeoutError:
        return {"host": parts.hostname, "error": "no answer within the time limit"}
    except (OSError, ValueError) as e:
        return {"host": parts.hostname, "error": str(e)}


def proxy_for(url):
    """The proxy httpx sends this URL through (its own rule for the proxy variables)."""
    try:
        import httpx
        from httpx._utils import URLPattern, get_environment_proxies

        target = httpx.URL(url)
        mounts = sorted(get_environment_proxies().items(), key=lambda m: URLPattern(m[0]))
        for pattern, proxy in mounts:
            if URLPattern(pattern).matches(target):
                return hide_password(proxy) if proxy else None
    except Exception:
        pass
    return None


def tls(url, result):
    if not (url or "").lower().startswith("https://"):
        return "not used"
    logged_text = (result.get("error") or {}).get("logged") or ""
    if "SSL" in logged_text or "certificate" in logged_text.lower():
        return "failed"
    if "status" in result:
        ca = romm_value(os.environ, "OIDC_TLS_CACERTFILE")
        return "verified with %s" % (("OIDC_TLS_CACERTFILE " + ca) if ca else "RomM's default trust store")
    return "not reached"


def hide_password(url):
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc="%s:***@%s" % (parts.username, host)).geturl()


def qualified(cls):
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else "%s.%s" % (module, cls.__qualname__)


def logged(e):
    """The exception as RomM's log shows it: uvicorn prints the last one only."""
    return "".join(traceback.format_exception_only(type(e), e)).rstrip("\n")


def version(name):
    try:
        from importlib.metadata import version as installed

        return installed(name)
    except Exception:
        return None


if __name__ == "__main__":
    main()
