"""Tests of romm-oidc's container probe (src/container/probe.py) on RomM's pinned
libraries (authlib 1.6.12, httpx 0.28.1: the RomM client double's venv). Run by
tests/container.rs: `python -m unittest discover` in this folder with that venv's python.

Each test runs the probe as romm-oidc does, `python - CONFIG` with the script on stdin,
against a provider on loopback started here. The "container's" processes are a fake
/proc tree (the probe's `proc` setting): its PID 1 environment is RomM's environment."""

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROBE = HERE.parent.parent / "src" / "container" / "probe.py"
SHIM = HERE / "romm_shim"
CLIENT_ID = "romm"
SECRET_NAME = "OIDC_CLIENT_SECRET"
SECRET = "probe-test-secret-4d9e"
CODE = "romm-oidc-credential-probe-not-a-real-code"
KEY = "00112233445566778899aabbccddeeff"


class Provider(BaseHTTPRequestHandler):
    """Discovery, a key set and a token endpoint that answers invalid_grant to the
    right client credentials and invalid_client to any other. `routes` overrides."""

    routes = {}
    seen = []

    def log_message(self, *args):
        pass

    def answer(self, status, content_type, body):
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        Provider.seen.append(("GET", self.path, None))
        base = "http://%s:%d" % self.server.server_address
        if self.path in Provider.routes:
            return self.answer(*Provider.routes[self.path])
        if self.path == "/.well-known/openid-configuration":
            doc = {
                "issuer": base,
                "authorization_endpoint": base + "/authorize",
                "token_endpoint": base + "/token",
                "jwks_uri": base + "/jwks",
            }
            return self.answer(200, "application/json", json.dumps(doc))
        if self.path == "/jwks":
            return self.answer(200, "application/json", json.dumps({"keys": []}))
        self.answer(404, "text/plain", "not found")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = self.rfile.read(length).decode()
        Provider.seen.append(("POST", self.path, form))
        right = "Basic " + base64.b64encode(("%s:%s" % (CLIENT_ID, SECRET)).encode()).decode()
        if self.headers.get("Authorization") == right:
            self.answer(400, "application/json", '{"error":"invalid_grant"}')
        else:
            self.answer(401, "application/json", '{"error":"invalid_client"}')


class ProbeTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def setUp(self):
        Provider.routes = {}
        Provider.seen = []
        self.dir = tempfile.TemporaryDirectory()
        self.proc = Path(self.dir.name) / "proc"

    def tearDown(self):
        self.dir.cleanup()

    def process(self, pid, cmdline, env):
        folder = self.proc / str(pid)
        folder.mkdir(parents=True)
        (folder / "cmdline").write_bytes(b"\0".join(a.encode() for a in cmdline) + b"\0")
        (folder / "environ").write_bytes(
            b"".join(k.encode() + b"=" + (v if isinstance(v, bytes) else v.encode()) + b"\0" for k, v in env.items())
        )

    def romm_env(self, **changes):
        env = {
            "OIDC_ENABLED": "true",
            "OIDC_CLIENT_ID": CLIENT_ID,
            "OIDC_CLIENT_SECRET": SECRET,
            "OIDC_REDIRECT_URI": "https://romm.example.com/api/oauth/openid",
            "OIDC_SERVER_APPLICATION_URL": self.base,
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        }
        env.update(changes)
        return {k: v for k, v in env.items() if v is not None}

    def run_probe(self, mode, env=None, timeout=5, pythonpath=None):
        if env is not None:
            self.process(1, ["/init"], env)
        config = {
            "mode": mode,
            "key": KEY,
            "names": ["OIDC_ENABLED", "OIDC_PROVIDER", "OIDC_CLIENT_ID", SECRET_NAME, "OIDC_REDIRECT_URI", "OIDC_SERVER_APPLICATION_URL"],
            "timeout": timeout,
            "budget": 30,
            "body_limit": 1024,
            "code": CODE,
            "proc": str(self.proc),
        }
        exec_env = {"PATH": os.environ.get("PATH", "")}
        if pythonpath:
            exec_env["PYTHONPATH"] = pythonpath
        done = subprocess.run(
            [sys.executable, "-", json.dumps(config)],
            input=PROBE.read_bytes(),
            capture_output=True,
            timeout=60,
            env=exec_env,
        )
        self.assertEqual(done.returncode, 0, done.stderr.decode())
        out = done.stdout.decode()
        self.assertNotIn(SECRET, out)
        self.assertEqual(out.count("\n"), 1, out)
        return json.loads(out), done.stderr.decode()

    # ------------------------------------------------------------ the environment

    def test_the_server_process_environment_is_read_and_the_secret_never_leaves(self):
        self.process(1, ["/sbin/docker-init", "--", "/init"], {"OIDC_CLIENT_ID": "from-pid-1"})
        self.process(57, ["/src/.venv/bin/python3", "/src/.venv/bin/gunicorn", "main:app"], self.romm_env(DB_PASSWD="hunter2", OIDC_CLIENT_SECERT="typo-secret"))
        self.process(58, ["/src/.venv/bin/python3", "/src/.venv/bin/gunicorn", "main:app"], {"OIDC_CLIENT_ID": "worker"})
        doc, _ = self.run_probe("env")
        self.assertEqual(doc["source"], "/proc/57/environ (python3)")
        self.assertEqual(doc["values"]["OIDC_CLIENT_ID"], CLIENT_ID)
        # The named variables, and only the names of other OIDC_* ones (a misspelt
        # secret's value stays); nothing else (no database password).
        self.assertEqual(
            doc["values"],
            {
                "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECERT": "",
                "OIDC_ENABLED": "true",
                "OIDC_REDIRECT_URI": "https://romm.example.com/api/oauth/openid",
                "OIDC_SERVER_APPLICATION_URL": self.base,
            },
        )
        print_ = doc["secrets"][SECRET_NAME]
        want = hmac.new(bytes.fromhex(KEY), SECRET.encode(), hashlib.sha256).hexdigest()[:16]
        self.assertEqual(print_, {"length": len(SECRET), "hmac": want, "quoted": False})

    def test_the_secret_is_hashed_as_romm_reads_it_and_a_quote_is_told(self):
        doc, _ = self.run_probe("env", self.romm_env(OIDC_CLIENT_SECRET="  '%s'\n" % SECRET))
        fp = doc["secrets"][SECRET_NAME]
        quoted = "'%s'" % SECRET
        self.assertEqual(fp["length"], len(quoted))
        self.assertEqual(fp["hmac"], hmac.new(bytes.fromhex(KEY), quoted.encode(), hashlib.sha256).hexdigest()[:16])
        self.assertTrue(fp["quoted"])
        doc, _ = self.run_probe_fresh("env", self.romm_env(OIDC_CLIENT_SECRET="   "))
        self.assertEqual(doc["secrets"], {})

    def run_probe_fresh(self, mode, env):
        self.tearDown()
        self.setUp()
        return self.run_probe(mode, env)

    def test_pid_1_is_read_when_no_gunicorn_runs_and_bad_bytes_are_named(self):
        doc, _ = self.run_probe("env", self.romm_env(OIDC_PROVIDER=b"pocket\xff-id"))
        self.assertEqual(doc["source"], "/proc/1/environ (init)")
        self.assertEqual(doc["not_utf8"], ["OIDC_PROVIDER"])
        self.assertEqual(doc["values"]["OIDC_PROVIDER"], "pocket\ufffd-id")

    def test_without_a_readable_process_the_exec_env_and_file_values_are_read(self):
        secret_file = Path(self.dir.name) / "secret"
        secret_file.write_text(SECRET + "\n")
        config = {
            "mode": "env",
            "key": KEY,
            "names": [SECRET_NAME],
            "timeout": 5,
            "budget": 30,
            "proc": str(Path(self.dir.name) / "nothing"),
        }
        done = subprocess.run(
            [sys.executable, "-", json.dumps(config)],
            input=PROBE.read_bytes(),
            capture_output=True,
            env={"OIDC_CLIENT_SECRET_FILE": str(secret_file), "OIDC_CLIENT_ID": "x"},
            timeout=60,
        )
        doc = json.loads(done.stdout)
        self.assertIn("the exec's own environment", doc["source"])
        self.assertEqual(doc["secrets"][SECRET_NAME]["length"], len(SECRET))
        # A name RomM reads only through its entrypoint: the name alone.
        self.assertEqual(doc["values"]["OIDC_CLIENT_SECRET_FILE"], "")

    # ------------------------------------------------------------------ the probe

    def test_without_romms_modules_the_same_requests_are_rebuilt(self):
        doc, _ = self.run_probe("probe", self.romm_env())
        self.assertFalse(doc["client"]["romm"])
        self.assertIn("No module named 'handler'", doc["client"]["why"])
        self.assertEqual(doc["libraries"], {"authlib": "1.6.12", "httpx": "0.28.1"})
        steps = doc["steps"]
        discovery = steps["discovery"]
        self.assertEqual(discovery["url"], self.base + "/.well-known/openid-configuration")
        self.assertEqual((discovery["status"], discovery["content_type"]), (200, "application/json"))
        self.assertEqual(json.loads(discovery["body"])["issuer"], self.base)
        self.assertEqual(discovery["dns"], {"host": "127.0.0.1", "answers": ["127.0.0.1"]})
        self.assertEqual((discovery["tls"], discovery["proxy"]), ("not used", None))
        token = steps["token"]
        self.assertEqual(token["status"], 400)
        self.assertEqual(json.loads(token["body"]), {"error": "invalid_grant"})
        self.assertEqual(
            token["error"]["logged"],
            "authlib.integrations.base_client.errors.OAuthError: invalid_grant: ",
        )
        self.assertEqual(steps["jwks"]["status"], 200)
        post = [s for s in Provider.seen if s[0] == "POST"]
        self.assertEqual(len(post), 1)
        self.assertIn("code=" + CODE, post[0][2])
        self.assertIn("redirect_uri=https%3A%2F%2Fromm.example.com%2Fapi%2Foauth%2Fopenid", post[0][2])

    def test_romms_registered_client_is_used_when_its_modules_import(self):
        env = self.romm_env(PYTHONPATH=str(SHIM), OIDC_CLIENT_SECRET="wrong")
        doc, stderr = self.run_probe("probe", env, pythonpath=str(SHIM))
        self.assertEqual(doc["client"], {"romm": True})
        self.assertIn("the stand-in's import writes to stdout", stderr)
        token = doc["steps"]["token"]
        self.assertEqual(token["status"], 401)
        self.assertEqual(
            token["error"]["logged"],
            "authlib.integrations.base_client.errors.OAuthError: invalid_client: ",
        )

    def test_a_failing_discovery_is_logged_as_romm_logs_it_and_stops_there(self):
        Provider.routes = {"/.well-known/openid-configuration": (200, "text/html", "<html>Pocket ID</html>")}
        doc, _ = self.run_probe("probe", self.romm_env())
        steps = doc["steps"]
        self.assertEqual(list(steps), ["discovery"])
        self.assertEqual(steps["discovery"]["error"]["class"], "json.decoder.JSONDecodeError")
        self.assertEqual(
            steps["discovery"]["error"]["logged"],
            "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)",
        )
        self.assertEqual(steps["discovery"]["body"], "<html>Pocket ID</html>")

    def test_a_status_error_keeps_httpx_whole_message(self):
        Provider.routes = {"/.well-known/openid-configuration": (404, "text/plain", "x" * 5000)}
        doc, _ = self.run_probe("probe", self.romm_env())
        discovery = doc["steps"]["discovery"]
        url = self.base + "/.well-known/openid-configuration"
        self.assertEqual(
            discovery["error"]["logged"].splitlines()[0],
            "httpx.HTTPStatusError: Client error '404 Not Found' for url '%s'" % url,
        )
        self.assertEqual((len(discovery["body"]), discovery["body_truncated"]), (1024, True))

    def test_a_proxy_in_romms_environment_is_used_and_its_password_hidden(self):
        env = self.romm_env(HTTP_PROXY="http://user:pa55@127.0.0.1:9")
        doc, _ = self.run_probe("probe", env)
        self.assertEqual(doc["proxies"], {"HTTP_PROXY": "http://user:***@127.0.0.1:9"})
        discovery = doc["steps"]["discovery"]
        self.assertEqual(discovery["proxy"], "http://user:***@127.0.0.1:9")
        self.assertEqual(discovery["error"]["class"], "httpx.ConnectError")
        self.assertNotIn("status", discovery)
        self.assertEqual(Provider.seen, [])
        no_proxy = self.romm_env(HTTP_PROXY="http://127.0.0.1:9", NO_PROXY="127.0.0.1")
        doc, _ = self.run_probe_fresh("probe", no_proxy)
        self.assertIsNone(doc["steps"]["discovery"]["proxy"])
        self.assertEqual(doc["steps"]["discovery"]["status"], 200)

    def test_a_name_that_does_not_resolve_fails_as_a_connect_error(self):
        env = self.romm_env(OIDC_SERVER_APPLICATION_URL="http://id.romm-oidc-test.invalid")
        doc, _ = self.run_probe("probe", env)
        discovery = doc["steps"]["discovery"]
        self.assertTrue(discovery["error"]["logged"].startswith("httpx.ConnectError: [Errno -"), discovery)
        self.assertEqual(discovery["dns"]["host"], "id.romm-oidc-test.invalid")
        self.assertIn("error", discovery["dns"])

    def test_a_missing_ca_file_fails_before_anything_is_sent(self):
        env = self.romm_env(
            OIDC_SERVER_APPLICATION_URL="https://127.0.0.1:9",
            OIDC_TLS_CACERTFILE="/nonexistent/ca.pem",
        )
        doc, _ = self.run_probe("probe", env)
        error = doc["steps"]["discovery"]["error"]
        self.assertEqual(error["logged"], "FileNotFoundError: [Errno 2] No such file or directory")

    def test_a_step_that_does_not_answer_ends_at_the_time_limit(self):
        import socket

        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        try:
            port = silent.getsockname()[1]
            env = self.romm_env(OIDC_SERVER_APPLICATION_URL="http://127.0.0.1:%d" % port)
            doc, _ = self.run_probe("probe", env, timeout=0.5)
        finally:
            silent.close()
        discovery = doc["steps"]["discovery"]
        self.assertEqual(discovery["error"]["class"], "timeout")
        self.assertLess(discovery["seconds"], 2)


if __name__ == "__main__":
    unittest.main()
