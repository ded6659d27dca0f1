//! `doctor --container` and `--exec`: the real binary against the Pocket ID emulator,
//! with a container engine stand-in on PATH (tests/container/engine, copied into the
//! test's own temp dir as docker, podman and kubectl; `support::standin`). The stand-in runs the probe
//! here with the RomM client double's Python (RomM's pinned authlib and httpx), the
//! "container's" environment from the test, as PID 1 of a PID namespace of its own and,
//! for the network cases, in a network namespace of its own (`unshare`, as root: CI
//! runs as root). Each case is shown both ways: where the container differs, and where
//! it does not.

use std::path::Path;
use std::time::Duration;

use pocket_id_emulator::{Config, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Emulator};

use crate::support::prelude::*;
use crate::support::romm_double;
use crate::support::standin::*;

const RESTART: &str = "docker compose up -d --force-recreate romm";

/// A finding's status.
fn state(c: &Value) -> &str {
    c["status"].as_str().unwrap()
}

#[test]
fn a_forgotten_restart_shows_as_the_container_running_the_old_value() {
    let e = emulator();
    let env = romm_env(&e);
    let old = changed(&env, "OIDC_CLIENT_SECRET", WRONG_SECRET);
    let stand = Stand::new(&pairs(&old));
    let dotenv: String = env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let file = stand.sb.file("romm.env", &dotenv);
    let (report, run) = stand.doctor(&["--env-file", file.to_str().unwrap()]);
    let env_file = check(&report, "config.env-file");
    assert_eq!(state(env_file), "fail", "{env_file:#}");
    let said = text(env_file);
    assert!(said.contains("OIDC_CLIENT_SECRET: "), "{said}");
    assert!(said.contains("romm.env:3 sets a secret of 32 characters, but the container runs with the old value: another secret of 35 characters"), "{said}");
    assert!(
        env_file["fix"].as_str().unwrap().contains(RESTART),
        "{env_file:#}"
    );
    // What the restart would fix, seen from both sides: the file's secret works.
    assert_eq!(state(view(&report, "client.credentials", false)), "pass");
    let inside = view(&report, "client.credentials", true);
    assert_eq!(state(inside), "fail", "{inside:#}");
    assert!(inside["summary"].as_str().unwrap().starts_with("Passes from here but fails from RomM's container: The provider refused the client credentials"), "{inside:#}");
    assert_eq!(run.code, 1);
    for secret in [DEFAULT_CLIENT_SECRET, WRONG_SECRET] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{}",
            run.show()
        );
    }

    // Restarted: the container runs with the file's values.
    let stand = Stand::new(&pairs(&env));
    let file = stand.sb.file("romm.env", &dotenv);
    let (report, _) = stand.doctor(&["--env-file", file.to_str().unwrap()]);
    let env_file = check(&report, "config.env-file");
    assert_eq!(state(env_file), "pass", "{env_file:#}");
    assert!(
        env_file["summary"]
            .as_str()
            .unwrap()
            .contains("and RomM's container"),
        "{env_file:#}"
    );
    let inside = view(&report, "client.credentials", true);
    assert_eq!(state(inside), "pass", "{inside:#}");
    assert!(
        inside["summary"]
            .as_str()
            .unwrap()
            .starts_with("From RomM's container too: ")
    );
}

#[test]
fn a_provider_reachable_from_here_only_fails_from_romms_container() {
    let e = emulator();
    // A name, which RomM's container looks up too (localhost: from its hosts file).
    let by_name = e.issuer().replace("127.0.0.1", "localhost");
    let env = changed(&romm_env(&e), "OIDC_SERVER_APPLICATION_URL", &by_name);
    let (report, run) = Stand::new(&pairs(&env)).own_network().doctor(&[]);
    assert_eq!(state(view(&report, "discovery.fetch", false)), "pass");
    let inside = view(&report, "discovery.fetch", true);
    assert_eq!(state(inside), "fail", "{inside:#}");
    let summary = inside["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Passes from here but fails from RomM's container: `httpx.ConnectError: All connection attempts failed` for localhost — nothing answers at localhost from RomM's network"),
        "{summary}"
    );
    assert!(
        inside["fix"]
            .as_str()
            .unwrap()
            .contains("OIDC_SERVER_APPLICATION_URL"),
        "{inside:#}"
    );
    assert_eq!(
        inside["data"]["exception"],
        "httpx.ConnectError: All connection attempts failed"
    );
    let dns = inside["data"]["dns"].as_str().unwrap();
    assert!(
        dns.starts_with("localhost → ") && dns.contains("127.0.0.1"),
        "{dns}"
    );
    assert_eq!(state(view(&report, "jwks.keys", true)), "skip");
    assert_eq!(report["verdict"]["status"], "fail", "{}", run.show());
    // The settings came from the container alone, each shown as from there.
    assert_eq!(state(check(&report, "container.env")), "pass");
    let probe = check(&report, "container.probe");
    assert_eq!(state(probe), "pass", "{probe:#}");
    assert!(
        probe["summary"]
            .as_str()
            .unwrap()
            .starts_with("RomM's own OIDC client made RomM's requests in container romm (docker)")
    );

    // On the host's network, the container sees what this side sees.
    let (report, _) = Stand::new(&pairs(&env)).doctor(&[]);
    for id in ["discovery.fetch", "jwks.keys", "client.credentials"] {
        let inside = view(&report, id, true);
        assert_eq!(state(inside), "pass", "{inside:#}");
    }
    assert_eq!(
        view(&report, "discovery.fetch", true)["data"]["status"],
        200
    );
}

#[test]
fn the_settings_read_in_the_container_are_shown_as_from_there() {
    let e = emulator();
    let env = romm_env(&e);
    let stand = Stand::new(&pairs(&env));
    let run = stand.run(&["--container", "romm", "-v"]);
    assert!(
        run.stderr.contains(&format!(
            "setting OIDC_SERVER_APPLICATION_URL = {} [RomM's container]",
            e.issuer()
        )),
        "{}",
        run.show()
    );
    // The secret is set there; only its length comes out.
    let (report, run) = stand.doctor(&[]);
    let client = check(&report, "config.client");
    assert_eq!(state(client), "pass", "{client:#}");
    assert!(
        client["summary"]
            .as_str()
            .unwrap()
            .contains("secret in RomM's container (32 chars"),
        "{client:#}"
    );
    assert_eq!(state(view(&report, "client.credentials", false)), "skip");
    assert_eq!(state(view(&report, "client.credentials", true)), "pass");
    let open: Vec<&Value> = report["verdict"]["open"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    assert!(
        !open.iter().any(|o| o["ids"]
            .as_array()
            .unwrap()
            .iter()
            .any(|id| id == "client.credentials")),
        "the container's probe proves the credentials: {open:#?}"
    );
    assert!(
        !run.stdout.contains(DEFAULT_CLIENT_SECRET) && !run.stderr.contains(DEFAULT_CLIENT_SECRET)
    );
    // A flag wins over the container's value.
    let (report, _) = stand.doctor(&["--issuer", "http://127.0.0.1:9"]);
    let env_file = check(&report, "config.env-file");
    assert_eq!(state(env_file), "warn", "{env_file:#}");
    assert!(text(env_file).contains(&format!("OIDC_SERVER_APPLICATION_URL (--issuer) is `http://127.0.0.1:9`, but RomM's container runs with `{}`", e.issuer())), "{env_file:#}");
}

#[test]
fn a_certificate_trusted_here_only_fails_from_romms_container() {
    let e = Emulator::start(Config {
        tls: true,
        ..Config::default()
    })
    .expect("start the emulator over TLS");
    let env = romm_env(&e);
    let stand = Stand::new(&pairs(&env));
    let ca = stand.sb.file("ca.pem", e.ca_pem().unwrap());
    let (report, _) = stand.doctor(&["--ca-file", ca.to_str().unwrap()]);
    assert_eq!(state(view(&report, "discovery.fetch", false)), "pass");
    let inside = view(&report, "discovery.fetch", true);
    assert_eq!(state(inside), "fail", "{inside:#}");
    let said = text(inside);
    assert!(
        said.contains(
            "`httpx.ConnectError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
        ),
        "{said}"
    );
    assert!(
        said.contains("RomM's container does not trust the provider's certificate"),
        "{said}"
    );
    let fix = inside["fix"].as_str().unwrap();
    assert!(
        fix.contains("set OIDC_TLS_CACERTFILE")
            && fix.contains("This run trusts it through --ca-file"),
        "{fix}"
    );
    assert_eq!(inside["data"]["tls"], "failed");

    // With the CA file in RomM's environment (the stand-in's "container" shares this
    // file system), RomM's container trusts it too.
    let with_ca = changed(&env, "OIDC_TLS_CACERTFILE", ca.to_str().unwrap());
    let (report, _) = Stand::new(&pairs(&with_ca)).doctor(&["--ca-file", ca.to_str().unwrap()]);
    let inside = view(&report, "discovery.fetch", true);
    assert_eq!(state(inside), "pass", "{inside:#}");
    assert_eq!(
        inside["data"]["tls"],
        format!("verified with OIDC_TLS_CACERTFILE {}", ca.display())
    );
}

#[test]
fn a_proxy_in_romms_environment_is_what_romm_goes_through() {
    let e = emulator();
    let env = changed(
        &romm_env(&e),
        "HTTP_PROXY",
        "http://proxy-user:proxy-pass@127.0.0.1:9",
    );
    let (report, run) = Stand::new(&pairs(&env)).doctor(&[]);
    assert_eq!(state(view(&report, "discovery.fetch", false)), "pass");
    let inside = view(&report, "discovery.fetch", true);
    assert_eq!(state(inside), "fail", "{inside:#}");
    let said = text(inside);
    assert!(
        said.contains("RomM's httpx goes through the proxy http://proxy-user:***@127.0.0.1:9"),
        "{said}"
    );
    assert!(
        inside["fix"]
            .as_str()
            .unwrap()
            .contains("add 127.0.0.1 to NO_PROXY in RomM's environment"),
        "{inside:#}"
    );
    assert!(
        text(check(&report, "container.probe"))
            .contains("HTTP_PROXY=http://proxy-user:***@127.0.0.1:9")
    );
    assert!(!run.stdout.contains("proxy-pass"), "{}", run.show());

    // Exempted with NO_PROXY, as RomM's httpx reads it.
    let exempt = changed(&env, "NO_PROXY", "127.0.0.1");
    let (report, _) = Stand::new(&pairs(&exempt)).doctor(&[]);
    let inside = view(&report, "discovery.fetch", true);
    assert_eq!(state(inside), "pass", "{inside:#}");
    assert_eq!(inside["data"]["proxy"], Value::Null);
}

#[test]
fn a_wrong_secret_only_in_the_container_is_seen_there_and_named() {
    let e = emulator();
    let env = changed(&romm_env(&e), "OIDC_CLIENT_SECRET", WRONG_SECRET);
    let stand = Stand::new(&pairs(&env));
    let secret = stand
        .sb
        .file("secret.txt", format!("{DEFAULT_CLIENT_SECRET}\n"));
    let (report, run) = stand.doctor(&["--client-secret-file", secret.to_str().unwrap()]);
    assert_eq!(state(view(&report, "client.credentials", false)), "pass");
    let inside = view(&report, "client.credentials", true);
    assert_eq!(state(inside), "fail", "{inside:#}");
    assert_eq!(
        inside["data"]["exception"],
        "authlib.integrations.base_client.errors.OAuthError: invalid_client: Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method)."
    );
    let env_file = check(&report, "config.env-file");
    assert_eq!(state(env_file), "warn", "{env_file:#}");
    assert!(text(env_file).contains("is a secret of 32 characters, but RomM's container runs with another secret of 35 characters"), "{env_file:#}");
    for s in [DEFAULT_CLIENT_SECRET, WRONG_SECRET] {
        assert!(
            !run.stdout.contains(s) && !run.stderr.contains(s),
            "{}",
            run.show()
        );
    }

    // The same secret on both sides: nothing to say.
    let stand = Stand::new(&pairs(&romm_env(&e)));
    let secret = stand
        .sb
        .file("secret.txt", format!("{DEFAULT_CLIENT_SECRET}\n"));
    let (report, _) = stand.doctor(&["--client-secret-file", secret.to_str().unwrap()]);
    assert_eq!(state(check(&report, "config.env-file")), "pass");
    assert_eq!(state(view(&report, "client.credentials", true)), "pass");
}

#[test]
fn without_romms_modules_the_requests_are_rebuilt_and_that_is_a_warning() {
    let e = emulator();
    let mut env = romm_env(&e);
    env.push(("PYTHONPATH", "/nonexistent".into()));
    let (report, _) = Stand::new(&pairs(&env)).doctor(&[]);
    let probe = check(&report, "container.probe");
    assert_eq!(state(probe), "warn", "{probe:#}");
    assert!(
        text(probe).contains("No module named 'handler'"),
        "{probe:#}"
    );
    assert_eq!(state(view(&report, "client.credentials", true)), "pass");
    assert!(
        report["verdict"]["open"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["ids"]
                .as_array()
                .unwrap()
                .iter()
                .any(|id| id == "container.probe"))
    );
}

#[test]
fn kubectl_exec_reaches_the_container_as_the_engine_does() {
    let e = emulator();
    let stand = Stand::new(&pairs(&romm_env(&e))).with("STANDIN_NAME", "deploy/romm");
    let run = stand.run(&[
        "--json",
        "--exec",
        "kubectl exec -i -n media deploy/romm --",
    ]);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.show()));
    let env = check(&report, "container.env");
    assert_eq!(state(env), "pass", "{env:#}");
    assert!(
        env["summary"]
            .as_str()
            .unwrap()
            .contains("`kubectl exec -i -n media deploy/romm --`"),
        "{env:#}"
    );
    assert_eq!(state(view(&report, "client.credentials", true)), "pass");
    // A program that is not there, or a target kubectl does not know: input errors.
    let run = stand.run(&["--exec", "kubeclt exec -i deploy/romm --"]);
    assert_eq!(run.code, 2, "{}", run.show());
    assert!(
        run.stderr
            .contains("--exec: kubeclt is not an executable file on PATH"),
        "{}",
        run.show()
    );
    let run = stand.run(&["--exec", "kubectl exec -i deploy/other --"]);
    assert_eq!(run.code, 2, "{}", run.show());
    assert!(run.stderr.contains("(NotFound)"), "{}", run.show());
}

#[test]
fn what_the_user_names_wrong_is_exit_2_and_what_the_machine_lacks_a_finding() {
    let e = emulator();
    let stand = Stand::new(&pairs(&romm_env(&e)));
    // A container the engine does not know.
    let run = stand.run(&["--container", "romm-typo"]);
    assert_eq!(run.code, 2, "{}", run.show());
    assert!(
        run.stderr.contains("No such container: romm-typo"),
        "{}",
        run.show()
    );
    assert!(run.stdout.is_empty());
    // An engine named but not installed.
    std::fs::remove_file(stand.bin.join("podman")).unwrap();
    let run = stand.run(&["--container", "romm", "--engine", "podman"]);
    assert_eq!(run.code, 2, "{}", run.show());
    assert!(
        run.stderr
            .contains("--engine podman: podman is not on PATH"),
        "{}",
        run.show()
    );
    // Flags that cannot go together.
    for args in [
        &["--container", "romm", "--exec", "kubectl exec -i x --"][..],
        &["--engine", "docker"][..],
        &["--exec", "'unbalanced"][..],
        &["--demo", "--container", "romm"][..],
    ] {
        let run = stand.run(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.show());
    }
    // No engine at all: the machine's doing, a finding; the checks from here still run.
    let empty = stand.sb.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let stand = stand.with("PATH", empty.to_str().unwrap());
    let (report, run) = stand.doctor(&[]);
    assert_eq!(run.code, 1, "{}", run.show());
    let env = check(&report, "container.env");
    assert_eq!(state(env), "fail", "{env:#}");
    assert_eq!(
        env["summary"],
        "No container engine on PATH (docker, podman or nerdctl)"
    );
    assert_eq!(state(check(&report, "container.probe")), "skip");
    assert_eq!(
        state(check(&report, "discovery.fetch")),
        "skip",
        "no settings: nothing to fetch"
    );
}

#[test]
fn an_exec_that_fails_or_hangs_is_a_finding_within_its_bound() {
    let e = emulator();
    let stand = Stand::new(&pairs(&romm_env(&e)));
    let (report, _) = stand.with("STANDIN_EXEC", "fail").doctor(&[]);
    let env = check(&report, "container.env");
    assert_eq!(state(env), "fail", "{env:#}");
    assert!(
        env["summary"]
            .as_str()
            .unwrap()
            .contains("container romm is not running"),
        "{env:#}"
    );

    let stand = Stand::new(&pairs(&romm_env(&e))).with("STANDIN_EXEC", "nopython");
    let (report, _) = stand.doctor(&[]);
    assert_eq!(
        check(&report, "container.env")["summary"],
        "container romm (docker) has no python3 on PATH"
    );

    let stand = Stand::new(&pairs(&romm_env(&e))).with("STANDIN_EXEC", "hang");
    let run = stand.run(&["--json", "--container", "romm", "--timeout", "1"]);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.show()));
    let env = check(&report, "container.env");
    assert_eq!(
        env["summary"],
        "Reading RomM's environment did not end within 2 s in container romm (docker)"
    );
    // The read's 2 × --timeout, the runner's grace for the pipes, and the binary's own start.
    assert!(run.elapsed < Duration::from_secs(4), "{:?}", run.elapsed);
    let pid = std::fs::read_to_string(stand.sb.path().join("standin.pid")).unwrap();
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "the hung exec {pid} was left running"
    );

    // The environment read, the probe hanging: the report comes all the same.
    let stand = Stand::new(&pairs(&romm_env(&e))).with("STANDIN_EXEC", "hang-probe");
    let run = stand.run(&["--json", "--container", "romm", "--timeout", "1"]);
    let report: Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.show()));
    assert_eq!(state(check(&report, "container.env")), "pass");
    let probe = check(&report, "container.probe");
    assert_eq!(
        probe["summary"],
        "The probe did not end within 4 s in container romm (docker)"
    );
    assert_eq!(state(check(&report, "discovery.fetch")), "pass");
    // The environment's read, the probe's 4 × --timeout, the runner's grace, start-up.
    assert!(run.elapsed < Duration::from_secs(6), "{:?}", run.elapsed);
    let pid = std::fs::read_to_string(stand.sb.path().join("standin.pid")).unwrap();
    assert!(
        !Path::new(&format!("/proc/{}", pid.trim())).exists(),
        "{pid} left running"
    );
}

#[test]
fn the_wizard_makes_sure_romms_container_reaches_the_provider() {
    let e = emulator();
    let issuer = e.issuer();
    let wizard = |stand: &Stand| {
        let secret = stand.sb.file("secret.txt", DEFAULT_CLIENT_SECRET);
        let args = [
            "--yes",
            "--container",
            "romm",
            "--romm-url",
            "https://romm.example.com",
            "--issuer",
            issuer.as_str(),
            "--client-id",
            DEFAULT_CLIENT_ID,
            "--client-secret-file",
            secret.to_str().unwrap(),
        ];
        stand.command("wizard", &args)
    };
    // RomM's container (with its old, unreachable provider URL) cannot reach the new one either.
    let old = changed(
        &romm_env(&e),
        "OIDC_SERVER_APPLICATION_URL",
        "http://127.0.0.1:9",
    );
    let run = wizard(&Stand::new(&pairs(&old)).own_network());
    assert_eq!(run.code, 2, "{}", run.show());
    assert!(
        run.stderr
            .contains("RomM's environment read in container romm (docker)"),
        "{}",
        run.show()
    );
    assert!(
        run.stderr.contains("from RomM's container: Passes from here but fails from RomM's container: `httpx.ConnectError: All connection attempts failed`"),
        "{}",
        run.show()
    );
    assert!(run.stdout.is_empty(), "{}", run.show());
    // On the host's network, the answer given here is fetched there too.
    let run = wizard(&Stand::new(&pairs(&old)));
    assert_eq!(run.code, 0, "{}", run.show());
    assert!(
        run.stderr
            .contains("From RomM's container too: Discovery read from"),
        "{}",
        run.show()
    );
    assert!(
        run.stdout
            .contains(&format!("OIDC_SERVER_APPLICATION_URL='{issuer}'")),
        "{}",
        run.show()
    );
}

#[test]
fn romms_log_is_read_from_its_container_and_judged_as_explain_judges_it() {
    let e = emulator();
    let excerpt = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/excerpts/romm.log");
    let stand = Stand::new(&pairs(&romm_env(&e)));
    let calls = stand.sb.path().join("calls");
    let stand = stand
        .with("STANDIN_LOG", excerpt.to_str().unwrap())
        .with("STANDIN_CALLS", calls.to_str().unwrap());
    let (report, _) = stand.doctor(&[]);
    let logged: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["id"] == "romm.log")
        .collect();
    // What `explain` finds in the same log, each with the log's origin.
    let mut c = bin::command(stand.sb.path());
    c.plain()
        .args(["explain", "--json", excerpt.to_str().unwrap()]);
    let explained = process::run(&mut c, Duration::from_secs(60));
    let explained: Value = serde_json::from_str(&explained.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", explained.show()));
    let summaries = |checks: Vec<&Value>| {
        checks
            .iter()
            .map(|c| (c["status"].clone(), c["summary"].clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        summaries(logged.clone()),
        summaries(explained["checks"].as_array().unwrap().iter().collect())
    );
    assert!(logged.len() >= 2, "{logged:#?}");
    assert!(
        text(logged[0]).contains("the last 24 h of RomM's log (docker logs --since 24h romm)"),
        "{:#}",
        logged[0]
    );
    let calls = std::fs::read_to_string(&calls).unwrap();
    assert!(
        calls.lines().any(|l| l.ends_with("logs --since 24h romm")),
        "{calls}"
    );

    // A log the engine cannot read: a warning that says how to give it.
    let (report, _) = stand.with("STANDIN_LOGS", "fail").doctor(&[]);
    let log = check(&report, "romm.log");
    assert_eq!(state(log), "warn", "{log:#}");
    assert!(
        text(log).contains("configured logging driver does not support reading"),
        "{log:#}"
    );
    assert!(
        log["fix"].as_str().unwrap().contains("--romm-log FILE"),
        "{log:#}"
    );

    // --exec reads no log; --romm-log is read instead of the container's.
    let stand = Stand::new(&pairs(&romm_env(&e))).with("STANDIN_NAME", "deploy/romm");
    let run = stand.run(&["--json", "--exec", "kubectl exec -i deploy/romm --"]);
    let (report, _) = sandbox::report(run);
    assert!(
        !report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "romm.log"),
        "{report:#}"
    );
}

#[test]
fn the_probe_passes_its_own_tests_on_romms_pinned_libraries() {
    let probe = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/probe");
    romm_double::unit_tests(&probe, 12);
}
