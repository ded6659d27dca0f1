"""The double's own tests, on RomM's pinned libraries (run by tests/cases/romm_agreement.rs:
`python -m unittest discover` in this folder, with the venv's python)."""

from __future__ import annotations

import contextlib
import io
import json
import ssl
import threading
import unittest
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import server  # first: it sets RomM's TLS flags before anything makes a context
from rommenv import Settings, env_bool, env_value
from rommusers import (
    DISABLED_USER,
    EMAIL_MISSING,
    EMAIL_NOT_VERIFIED,
    NO_ROLE,
    REGISTRATION_DISABLED,
    USERINFO_MISSING,
    IntegrityError,
    Refusal,
    Users,
    check_claims,
    sign_in,
)

with warnings.catch_warnings():
    # Starlette 1.6 prefers httpx2 for its test client; RomM pins httpx 0.28.1.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

SECRET = "double-test-secret-7f3a9c"


def settings(**env: str) -> Settings:
    base = {"OIDC_ENABLED": "true", "OIDC_CLIENT_ID": "romm", "OIDC_CLIENT_SECRET": SECRET}
    base.update(env)
    return Settings.from_environ(base)


def claims(**extra):
    c = {
        "sub": "1",
        "email": "alice@example.com",
        "email_verified": True,
        "preferred_username": "alice",
    }
    c.update(extra)
    return c


class EnvTests(unittest.TestCase):
    def test_empty_is_unset_and_values_are_stripped(self):
        env = {"A": "", "B": "  value \t", "C": '"quoted"', "D": "   "}
        self.assertEqual(env_value(env, "A", "fallback"), "fallback")
        self.assertEqual(env_value(env, "missing", "fallback"), "fallback")
        self.assertIsNone(env_value(env, "missing"))
        self.assertEqual(env_value(env, "B"), "value")
        self.assertEqual(env_value(env, "C"), '"quoted"')
        # Blank is not empty: it is stripped to "" and the default is not used.
        self.assertEqual(env_value(env, "D", "fallback"), "")

    def test_booleans(self):
        for yes in ["1", "true", "TRUE", " True ", "yes", "on", "ON"]:
            self.assertTrue(env_bool(yes), yes)
        for no in [None, "", "0", "false", "y", "enabled", '"true"', "truee"]:
            self.assertFalse(env_bool(no), no)

    def test_settings_defaults(self):
        s = Settings.from_environ({})
        self.assertFalse(s.oidc_enabled)
        self.assertTrue(s.allow_registration)
        self.assertEqual(s.username_attribute, "preferred_username")
        self.assertIsNone(s.server_metadata_url)
        self.assertIsNone(s.tls_cacertfile)
        self.assertEqual(s.session_max_age, 14 * 24 * 3600)
        # A blank OIDC_ALLOW_REGISTRATION reads as "" and so as false.
        self.assertFalse(Settings.from_environ({"OIDC_ALLOW_REGISTRATION": " "}).allow_registration)
        self.assertEqual(Settings.from_environ({"SESSION_MAX_AGE_SECONDS": "x"}).session_max_age,
                         14 * 24 * 3600)

    def test_discovery_url_as_romm_derives_it(self):
        cases = [
            ({"OIDC_SERVER_APPLICATION_URL": "https://id.example.com"},
             "https://id.example.com/.well-known/openid-configuration"),
            ({"OIDC_SERVER_APPLICATION_URL": " https://id.example.com// "},
             "https://id.example.com/.well-known/openid-configuration"),
            ({"OIDC_SERVER_APPLICATION_URL": "https://a/realms/x?q=1"},
             "https://a/realms/x?q=1/.well-known/openid-configuration"),
            ({"OIDC_SERVER_APPLICATION_URL": '"https://id.example.com"'},
             '"https://id.example.com"/.well-known/openid-configuration'),
            ({"OIDC_SERVER_APPLICATION_URL": "https://id.example.com/.well-known/openid-configuration"},
             "https://id.example.com/.well-known/openid-configuration/.well-known/openid-configuration"),
            ({}, "/.well-known/openid-configuration"),
            ({"OIDC_SERVER_APPLICATION_URL": "https://ignored",
              "OIDC_SERVER_METADATA_URL": "https://x/oidc/.well-known/openid-configuration/"},
             "https://x/oidc/.well-known/openid-configuration/"),
            ({"OIDC_SERVER_APPLICATION_URL": "https://id.example.com", "OIDC_SERVER_METADATA_URL": "  "},
             "https://id.example.com/.well-known/openid-configuration"),
        ]
        for env, want in cases:
            self.assertEqual(Settings.from_environ(env).discovery_url(), want, env)

    def test_scope_adds_the_roles_claim(self):
        self.assertEqual(settings().scope(), "openid profile email")
        self.assertEqual(settings(OIDC_CLAIM_ROLES=" groups ").scope(), "openid profile email groups")

    def test_the_registered_client_is_romms(self):
        client = server.register_client(
            settings(OIDC_SERVER_APPLICATION_URL="https://id.example.com/",
                     OIDC_CLAIM_ROLES="groups", OIDC_TLS_CACERTFILE="/ca.pem")
        )
        self.assertEqual(client.client_id, "romm")
        self.assertEqual(client.client_secret, SECRET)
        self.assertEqual(client._server_metadata_url,
                         "https://id.example.com/.well-known/openid-configuration")
        self.assertEqual(client.client_kwargs,
                         {"scope": "openid profile email groups", "verify": "/ca.pem"})
        # No PKCE, no token_endpoint_auth_method: authlib's default is client_secret_basic.
        self.assertNotIn("code_challenge_method", client.client_kwargs)
        self.assertNotIn("token_endpoint_auth_method", client.client_kwargs)


class ClaimRuleTests(unittest.TestCase):
    def refusal(self, fn, *args):
        with self.assertRaises(Refusal) as caught:
            fn(*args)
        return caught.exception.status, caught.exception.detail

    def test_order_and_texts(self):
        s = settings()
        self.assertEqual(self.refusal(check_claims, None, None, s), (400, USERINFO_MISSING))
        self.assertEqual(self.refusal(check_claims, claims(email=None, email_verified=False), None, s),
                         (400, EMAIL_MISSING))
        self.assertEqual(self.refusal(check_claims, claims(email_verified=False, preferred_username=None),
                                      None, s), (400, EMAIL_NOT_VERIFIED))
        self.assertEqual(self.refusal(check_claims, claims(preferred_username=None), None, s),
                         (400, "'preferred_username' attribute is missing from token."))
        s = settings(OIDC_USERNAME_ATTRIBUTE="nickname")
        self.assertEqual(self.refusal(check_claims, claims(), None, s),
                         (400, "'nickname' attribute is missing from token."))

    def test_email_verified_rule(self):
        listed = ["sub", "email", "email_verified"]
        cases = [
            # (email_verified claim, claims_supported, refused?)
            (True, listed, False),
            (True, None, False),
            (False, None, True),
            (False, ["email"], True),
            ("true", listed, True),
            ("true", ["email"], False),
            ("true", None, False),
            (None, listed, True),
            (None, ["email"], False),
            (None, None, False),
            (None, [], False),
            (1, listed, True),
        ]
        for verified, supported, refused in cases:
            c = claims()
            if verified is None:
                del c["email_verified"]
            else:
                c["email_verified"] = verified
            if refused:
                self.assertEqual(self.refusal(check_claims, c, supported, settings()),
                                 (400, EMAIL_NOT_VERIFIED), (verified, supported))
            else:
                check_claims(c, supported, settings())

    def test_roles(self):
        s = settings(OIDC_CLAIM_ROLES="groups", OIDC_ROLE_ADMIN="romm-admins", OIDC_ROLE_VIEWER="family")
        self.assertEqual(check_claims(claims(groups=["family", "romm-admins"]), None, s)[2], "admin")
        self.assertEqual(check_claims(claims(groups=["family"]), None, s)[2], "user")
        self.assertEqual(check_claims(claims(), None, s)[2], None, "no claim: no mapping")
        self.assertEqual(self.refusal(check_claims, claims(groups=["other"]), None, s), (403, NO_ROLE))
        self.assertEqual(self.refusal(check_claims, claims(groups=None), None, s), (403, NO_ROLE))
        # A string claim is a substring test; commas in the variable are not split.
        self.assertEqual(check_claims(claims(groups="xromm-adminsx"), None, s)[2], "admin")
        s2 = settings(OIDC_CLAIM_ROLES="groups", OIDC_ROLE_ADMIN="a,b")
        self.assertEqual(self.refusal(check_claims, claims(groups=["a", "b"]), None, s2), (403, NO_ROLE))
        star = settings(OIDC_CLAIM_ROLES="groups", OIDC_ROLE_VIEWER="*")
        self.assertEqual(check_claims(claims(groups=[]), None, star)[2], "user")
        with self.assertRaises(TypeError):
            check_claims(claims(groups=7), None, s)
        dotted = settings(OIDC_CLAIM_ROLES="realm_access.roles", OIDC_ROLE_ADMIN="admin")
        self.assertIsNone(check_claims(claims(realm_access={"roles": ["admin"]}), None, dotted)[2])


class UserTests(unittest.TestCase):
    def test_email_match_is_case_insensitive(self):
        users = Users([{"username": "al", "email": "ALICE@Example.COM"}])
        login = sign_in(claims(), None, settings(), users)
        self.assertEqual((login.user.username, login.created), ("al", False))
        self.assertEqual(len(users.rows), 1)

    def test_new_account_takes_the_username_claim(self):
        users = Users([])
        login = sign_in(claims(nickname="Ally"), None, settings(OIDC_USERNAME_ATTRIBUTE="nickname"), users)
        self.assertTrue(login.created)
        self.assertEqual((login.user.username, login.user.email, login.user.role),
                         ("Ally", "alice@example.com", "user"))

    def test_registration_off(self):
        with self.assertRaises(Refusal) as caught:
            sign_in(claims(), None, settings(OIDC_ALLOW_REGISTRATION="false"), Users([]))
        self.assertEqual((caught.exception.status, caught.exception.detail), (403, REGISTRATION_DISABLED))
        login = sign_in(claims(), None, settings(OIDC_ALLOW_REGISTRATION="false"),
                        Users([{"username": "alice", "email": "alice@example.com"}]))
        self.assertFalse(login.created)

    def test_disabled_user(self):
        users = Users([{"username": "alice", "email": "alice@example.com", "enabled": False}])
        with self.assertRaises(Refusal) as caught:
            sign_in(claims(), None, settings(), users)
        self.assertEqual((caught.exception.status, caught.exception.detail), (401, DISABLED_USER))

    def test_username_collision_fails_in_the_database(self):
        rows = [{"username": "Alice", "email": "admin@romm.example"}]
        with self.assertRaises(IntegrityError) as caught:
            sign_in(claims(), None, settings(), Users.for_settings(rows, settings()))
        self.assertIn("Duplicate entry 'alice'", str(caught.exception))
        # PostgreSQL compares exactly: "alice" is free there.
        pg = settings(ROMM_DB_DRIVER="postgresql")
        self.assertTrue(sign_in(claims(), None, pg, Users.for_settings(rows, pg)).created)

    def test_role_update_of_an_existing_user(self):
        s = settings(OIDC_CLAIM_ROLES="groups", OIDC_ROLE_ADMIN="romm-admins", OIDC_ROLE_VIEWER="*")
        users = Users([{"username": "alice", "email": "alice@example.com", "role": "user"}])
        login = sign_in(claims(groups=["romm-admins"]), None, s, users)
        self.assertEqual((login.user.role, login.role_changed), ("admin", True))
        # Without the claim in the token the role stays (no downgrade).
        login = sign_in(claims(), None, s, users)
        self.assertEqual((login.user.role, login.role_changed), ("admin", False))
        login = sign_in(claims(groups=["family"]), None, s, users)
        self.assertEqual((login.user.role, login.role_changed), ("user", True))


class _Discovery(BaseHTTPRequestHandler):
    def do_GET(self):
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        body = json.dumps({
            "issuer": base,
            "authorization_endpoint": base + "/authorize",
            "token_endpoint": base + "/token",
            "jwks_uri": base + "/jwks",
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class AppTests(unittest.TestCase):
    def run_app(self, env, path, users=()):
        out = io.StringIO()
        s = settings(**env)
        app = server.build_app(s, Users.for_settings(users, s))
        with contextlib.redirect_stdout(out):
            with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
                response = client.get(path)
        outcomes = [json.loads(line) for line in out.getvalue().splitlines()]
        self.assertNotIn(SECRET, out.getvalue())
        return response, outcomes

    def test_heartbeat(self):
        response, _ = self.run_app({"OIDC_PROVIDER": " pocket-id ", "OIDC_AUTOLOGIN": "yes"}, "/api/heartbeat")
        self.assertEqual(response.json()["OIDC"],
                         {"ENABLED": True, "AUTOLOGIN": True, "PROVIDER": "pocket-id",
                          "RP_INITIATED_LOGOUT": False})
        self.assertEqual(response.json()["SYSTEM"]["VERSION"], "5.2.0")

    def test_disabled_oidc(self):
        for path in ["/api/login/openid", "/api/oauth/openid"]:
            response, outcomes = self.run_app({"OIDC_ENABLED": "enabled"}, path)
            self.assertEqual((response.status_code, response.json()), (500, {"detail": "OAuth disabled"}))
            self.assertEqual(outcomes[-1]["detail"], "OAuth disabled")

    def test_unhandled_exception_is_a_bare_500_and_recorded(self):
        response, outcomes = self.run_app(
            {"OIDC_SERVER_APPLICATION_URL": '"https://id.example.com"'}, "/api/login/openid")
        self.assertEqual((response.status_code, response.text), (500, "Internal Server Error"))
        self.assertEqual(outcomes[-1]["exception"],
                         "UnsupportedProtocol: Request URL is missing an 'http://' or 'https://' protocol.")
        self.assertEqual(outcomes[-1]["exception_class"], "httpx.UnsupportedProtocol")
        self.assertEqual(outcomes[-1]["stage"], "discovery")

    def test_callback_without_login_state(self):
        response, outcomes = self.run_app({}, "/api/oauth/openid?code=x&state=forged")
        self.assertEqual(response.status_code, 500)
        self.assertEqual(
            outcomes[-1]["exception"],
            "MismatchingStateError: mismatching_state: CSRF Warning! State not equal in request and response.")

    def test_login_redirect_and_session_cookie(self):
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Discovery)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        issuer = f"http://127.0.0.1:{httpd.server_address[1]}"
        try:
            for secure, flags in [("false", "httponly; samesite=lax"),
                                  ("true", "httponly; samesite=lax; secure")]:
                response, outcomes = self.run_app(
                    {"OIDC_SERVER_APPLICATION_URL": issuer + "/",
                     "OIDC_REDIRECT_URI": "http://127.0.0.1:9/api/oauth/openid",
                     "OIDC_CLAIM_ROLES": "groups",
                     "ROMM_SESSION_SECURE_COOKIE": secure},
                    "/api/login/openid")
                self.assertEqual(response.status_code, 302)
                location = response.headers["location"]
                self.assertTrue(location.startswith(
                    issuer + "/authorize?response_type=code&client_id=romm"
                    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fapi%2Foauth%2Fopenid"
                    "&scope=openid+profile+email+groups&state="), location)
                self.assertIn("&nonce=", location)
                self.assertNotIn("code_challenge", location)
                cookie = response.headers["set-cookie"]
                self.assertRegex(cookie, r"^romm_session=[0-9a-f-]{36}; path=/; Max-Age=1209600; ")
                self.assertTrue(cookie.endswith(flags), cookie)
                self.assertEqual(outcomes[-1]["location"], location)
        finally:
            httpd.shutdown()
            httpd.server_close()


class PinnedSetTests(unittest.TestCase):
    def test_runs_on_romms_pinned_libraries(self):
        self.assertEqual(server.version_mismatches(), [])
        pins = server.pinned_versions()
        self.assertEqual((pins["authlib"], pins["httpx"]), ("1.6.12", "0.28.1"))

    def test_tls_verifies_as_python_3_13(self):
        context = ssl.create_default_context()
        self.assertTrue(context.verify_flags & ssl.VERIFY_X509_STRICT)
        self.assertTrue(context.verify_flags & ssl.VERIFY_X509_PARTIAL_CHAIN)


if __name__ == "__main__":
    unittest.main()
