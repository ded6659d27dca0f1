//! The closing verdict: does the report prove that RomM accepts the login?
//!
//! The checks are grouped by what RomM's login needs. A need is proven only
//! when its proof passed and nothing in it failed or stayed unproven (a
//! warning, or a skip where a skip means "not checked"). A check id this
//! table does not know counts too: a warning or a skip of it keeps the
//! verdict from reading as proven, so a new check can only make it stricter.

use crate::checks::id;
use crate::report::{Finding, Open, Status, Verdict};

struct Need {
    what: &'static str,
    /// The ids that belong here: exact ids, `family.*`, or `*` for any.
    ids: &'static [&'static str],
    /// Alternatives, each a set of ids that must all pass: one is the proof.
    proof: &'static [&'static [&'static str]],
    /// Ids whose skip means "not applicable" rather than "not checked".
    may_skip: &'static [&'static str],
    /// How to prove it; empty: each open finding's own advice.
    how: &'static str,
}

/// Checks that never bear on RomM accepting the login.
const IGNORED: &[&str] = &[
    // The button's icon only.
    id::CONFIG_PROVIDER_NAME,
    // RomM never calls userinfo.
    id::LOGIN_USERINFO,
];

const ROMM_URL: &str = "give --romm-url with the address users open RomM at";

/// In the order the verdict lists them.
const NEEDS: &[Need] = &[
    Need {
        what: "RomM's own env was read",
        ids: &[id::CONFIG_ENV_FILE, id::CONTAINER_ENV],
        proof: &[&[id::CONFIG_ENV_FILE]],
        may_skip: &[],
        how: "give --env-file with the file RomM's container reads (or run the doctor inside RomM's container)",
    },
    Need {
        what: "RomM's settings",
        ids: &["config.*", "tls.*"],
        proof: &[],
        may_skip: &["*"],
        how: "",
    },
    Need {
        what: "the provider, its keys, and RomM's client id and secret",
        ids: &[
            "discovery.*",
            "jwks.*",
            id::CLIENT_EXISTS,
            id::CLIENT_CREDENTIALS,
            id::POCKETID_VERSION,
            id::POCKETID_CLIENT,
        ],
        proof: &[&[
            id::DISCOVERY_FETCH,
            id::DISCOVERY_ISSUER,
            id::JWKS_KEYS,
            id::CLIENT_CREDENTIALS,
        ]],
        may_skip: &["*"],
        how: "",
    },
    Need {
        what: "RomM's callback at the provider",
        ids: &[id::CLIENT_REDIRECT_URI, id::POCKETID_CALLBACKS],
        proof: &[&[id::CLIENT_REDIRECT_URI], &[id::POCKETID_CALLBACKS]],
        may_skip: &["*"],
        how: "see client.redirect-uri; with Pocket ID 2.9 or older give --pocket-id-api-key, so that pocketid.callbacks reads the registered callback URLs",
    },
    Need {
        what: "RomM's session cookie comes back with the callback",
        ids: &[id::CONFIG_SESSION_COOKIE],
        proof: &[&[id::CONFIG_SESSION_COOKIE]],
        may_skip: &[],
        how: ROMM_URL,
    },
    Need {
        what: "the running RomM uses these settings",
        ids: &[id::ROMM_HEARTBEAT, id::ROMM_LOGIN_REDIRECT],
        proof: &[&[id::ROMM_HEARTBEAT, id::ROMM_LOGIN_REDIRECT]],
        may_skip: &[],
        how: ROMM_URL,
    },
    Need {
        what: "the ID token RomM would get, judged by RomM's rules",
        ids: &["login.*", id::POCKETID_USERS, id::POCKETID_PREVIEW],
        proof: &[&[
            id::LOGIN_CALLBACK,
            id::LOGIN_TOKEN,
            id::LOGIN_ID_TOKEN,
            id::LOGIN_EMAIL,
            id::LOGIN_EMAIL_VERIFIED,
            id::LOGIN_USERNAME,
        ]],
        may_skip: &[id::LOGIN_ROLES, "pocketid.*"],
        how: "run with --login (a real sign-in through a loopback callback)",
    },
    Need {
        what: "RomM finds (or may create) the user",
        ids: &[id::ROMM_ACCOUNT, id::ROMM_USERS, id::LOGIN_EMAIL_MATCH],
        proof: &[&[id::ROMM_ACCOUNT]],
        may_skip: &[id::ROMM_USERS, id::LOGIN_EMAIL_MATCH],
        how: "give --romm-username (read-only access to RomM's users), or --email with the RomM user's email (RomM matches users by email)",
    },
    Need {
        what: "RomM's own log shows no failed login",
        ids: &[id::ROMM_LOG],
        proof: &[],
        may_skip: &[],
        how: "",
    },
    Need {
        what: "other checks",
        ids: &["*"],
        proof: &[],
        may_skip: &[],
        how: "",
    },
];

/// How closely a pattern names an id: exact 2, family 1, any 0.
fn specificity(pattern: &str, id: &str) -> Option<u8> {
    if pattern == id {
        Some(2)
    } else if pattern == "*" {
        Some(0)
    } else {
        pattern
            .strip_suffix('*')
            .filter(|prefix| id.starts_with(prefix))
            .map(|_| 1)
    }
}

fn listed(patterns: &[&str], id: &str) -> bool {
    patterns.iter().any(|p| specificity(p, id).is_some())
}

/// The need an id belongs to: the one that names it most closely.
fn need_of(id: &str) -> Option<usize> {
    NEEDS
        .iter()
        .enumerate()
        .filter_map(|(i, n)| {
            n.ids
                .iter()
                .filter_map(|p| specificity(p, id))
                .max()
                .map(|s| (s, std::cmp::Reverse(i)))
        })
        .max()
        .map(|(_, std::cmp::Reverse(i))| i)
}

pub fn judge(findings: &[Finding]) -> Verdict {
    let relevant: Vec<&Finding> = findings
        .iter()
        .filter(|f| !IGNORED.contains(&f.id))
        .collect();
    let open: Vec<Open> = NEEDS
        .iter()
        .enumerate()
        .filter_map(|(i, need)| {
            let members: Vec<&Finding> = relevant
                .iter()
                .copied()
                .filter(|f| need_of(f.id) == Some(i))
                .collect();
            judge_need(need, &members, &relevant)
        })
        .collect();
    let (status, summary) = closing(&open);
    Verdict {
        status,
        summary,
        open,
    }
}

/// What stays open of one need, given the findings that belong to it
/// (`members`) and every finding that bears on the login (`relevant`).
fn judge_need(need: &Need, members: &[&Finding], relevant: &[&Finding]) -> Option<Open> {
    let failed: Vec<String> = members
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| f.id.to_string())
        .collect();
    if !failed.is_empty() {
        return Some(Open {
            status: Status::Fail,
            what: need.what,
            ids: failed,
            not_run: Vec::new(),
            how: "see the ✘ findings in the report".into(),
        });
    }
    let (unproven, not_run) = unproven(need, members, relevant);
    if unproven.is_empty() && not_run.is_empty() {
        return None;
    }
    let how = if need.how.is_empty() {
        unproven
            .iter()
            .map(|f| advice(f))
            .collect::<Vec<_>>()
            .join("; ")
    } else {
        need.how.to_string()
    };
    Some(Open {
        status: Status::Warn,
        what: need.what,
        ids: unproven.iter().map(|f| f.id.to_string()).collect(),
        not_run,
        how,
    })
}

/// The findings that leave a need (none of whose findings failed) unproven,
/// and the ids of its first proof that did not run at all.
fn unproven<'a>(
    need: &Need,
    members: &[&'a Finding],
    relevant: &[&'a Finding],
) -> (Vec<&'a Finding>, Vec<String>) {
    // Seen from here and from RomM's container, a check proves its part when either
    // view passed (a failure of either already failed the need).
    let status_of = |id: &str| {
        relevant
            .iter()
            .filter(|f| f.id == id)
            .map(|f| f.status)
            .min()
    };
    let proven_by = need
        .proof
        .iter()
        .find(|set| set.iter().all(|id| status_of(id) == Some(Status::Pass)));
    // With one proof passed, the other alternatives' findings are moot.
    let moot = |id: &str| {
        proven_by.is_some_and(|set| !set.contains(&id))
            && need.proof.iter().any(|set| set.contains(&id))
    };
    let unproven: Vec<&Finding> = members
        .iter()
        .copied()
        .filter(|f| !moot(f.id))
        .filter(|f| match f.status {
            Status::Warn => true,
            Status::Skip => !listed(need.may_skip, f.id),
            _ => false,
        })
        .collect();
    let (Some(first), None) = (need.proof.first(), proven_by) else {
        return (unproven, Vec::new());
    };
    let not_run: Vec<String> = first
        .iter()
        .filter(|id| status_of(id).is_none())
        .map(|id| id.to_string())
        .collect();
    if !unproven.is_empty() || !not_run.is_empty() {
        return (unproven, not_run);
    }
    // Every proof id is present yet none set passed: name them.
    let named = need
        .proof
        .iter()
        .flat_map(|set| set.iter())
        .filter_map(|id| relevant.iter().copied().find(|f| f.id == *id))
        .filter(|f| f.status != Status::Pass)
        .collect();
    (named, not_run)
}

/// The verdict's status and summary from what stays open.
fn closing(open: &[Open]) -> (Status, String) {
    let failed: Vec<&str> = open
        .iter()
        .filter(|o| o.status == Status::Fail)
        .map(|o| o.what)
        .collect();
    if !failed.is_empty() {
        (
            Status::Fail,
            format!("RomM's login would fail ({})", failed.join("; ")),
        )
    } else if !open.is_empty() {
        (
            Status::Warn,
            format!(
                "Not proven that RomM would accept this login: {} of what it needs {} open",
                open.len(),
                if open.len() == 1 { "is" } else { "are" }
            ),
        )
    } else {
        (
            Status::Pass,
            "Proven: RomM would accept this login (every check that bears on it passed)".into(),
        )
    }
}

/// A finding's own advice: what a skip asks for, or a warning's fix.
fn advice(f: &Finding) -> String {
    let said = match f.status {
        Status::Warn if !f.fix.is_empty() => f.fix.lines().next().unwrap_or(""),
        _ => f.summary.as_str(),
    };
    format!("{}: {said}", f.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every check of a complete, proven run.
    fn proven() -> Vec<Finding> {
        [
            id::CONFIG_ISSUER_URL,
            id::CONFIG_REDIRECT_URI,
            id::CONFIG_SESSION_COOKIE,
            id::CONFIG_CLIENT,
            id::CONFIG_ENV_FILE,
            id::DISCOVERY_FETCH,
            id::DISCOVERY_ISSUER,
            id::DISCOVERY_METADATA,
            id::JWKS_KEYS,
            id::CLIENT_EXISTS,
            id::CLIENT_CREDENTIALS,
            id::CLIENT_REDIRECT_URI,
            id::ROMM_HEARTBEAT,
            id::ROMM_LOGIN_REDIRECT,
            id::LOGIN_CALLBACK,
            id::LOGIN_TOKEN,
            id::LOGIN_ID_TOKEN,
            id::LOGIN_EMAIL,
            id::LOGIN_EMAIL_VERIFIED,
            id::LOGIN_USERNAME,
            id::LOGIN_EMAIL_MATCH,
            id::ROMM_ACCOUNT,
        ]
        .into_iter()
        .map(|id| Finding::pass(id, "ok"))
        .chain([
            Finding::skip(id::CONFIG_ROLES, "No role mapping"),
            Finding::skip(id::LOGIN_ROLES, "No role mapping"),
            Finding::skip(id::TLS_CA_FILE, "system store"),
            Finding::skip(id::POCKETID_CALLBACKS, "Give --pocket-id-api-key"),
            Finding::skip(id::ROMM_USERS, "Give RomM access"),
            Finding::warn(id::CONFIG_PROVIDER_NAME, "no icon"),
            Finding::warn(id::LOGIN_USERINFO, "HTTP 500"),
        ])
        .collect()
    }

    fn with(mut findings: Vec<Finding>, changed: Finding) -> Vec<Finding> {
        findings.retain(|f| f.id != changed.id);
        findings.push(changed);
        findings
    }

    #[test]
    fn a_complete_run_is_proven_and_ignores_what_romm_never_reads() {
        let v = judge(&proven());
        assert_eq!(v.status, Status::Pass, "{v:?}");
        assert!(v.open.is_empty());
    }

    #[test]
    fn a_skip_or_warning_of_any_bearing_check_leaves_it_unproven() {
        for id in [
            id::CLIENT_REDIRECT_URI,
            id::CONFIG_SESSION_COOKIE,
            id::ROMM_LOGIN_REDIRECT,
            id::LOGIN_ID_TOKEN,
            id::ROMM_ACCOUNT,
            id::CONFIG_ENV_FILE,
        ] {
            for changed in [Finding::skip(id, "not run"), Finding::warn(id, "unsure")] {
                let v = judge(&with(proven(), changed));
                assert_eq!(v.status, Status::Warn, "{id}: {v:?}");
                assert!(
                    v.open.iter().any(|o| o.ids.iter().any(|i| i == id)),
                    "{id}: {v:?}"
                );
            }
        }
        // A warning where a skip would do still counts.
        let v = judge(&with(
            proven(),
            Finding::warn(id::LOGIN_EMAIL_MATCH, "unsure"),
        ));
        assert_eq!(v.status, Status::Warn, "{v:?}");
        // A check this table has never heard of counts too.
        for changed in [
            Finding::skip("romm.new-check", "not run"),
            Finding::warn("login.new-rule", "unsure"),
        ] {
            let v = judge(&with(proven(), changed.clone()));
            assert_eq!(v.status, Status::Warn, "{}: {v:?}", changed.id);
        }
    }

    #[test]
    fn a_check_seen_from_romms_container_too_proves_by_either_view_and_fails_by_either() {
        use crate::report::View;
        let inside = |f: Finding| f.view(View::Container);
        // Only RomM's container holds the secret: its probe proves the credentials.
        let mut findings = with(
            proven(),
            Finding::skip(
                id::CLIENT_CREDENTIALS,
                "The secret is only in RomM's container",
            ),
        );
        findings.push(inside(Finding::pass(id::CLIENT_CREDENTIALS, "accepted")));
        findings.push(inside(Finding::pass(id::CONTAINER_ENV, "read")));
        let v = judge(&findings);
        assert_eq!(v.status, Status::Pass, "{v:?}");
        // A failure from RomM's container fails the need, whatever passed here.
        let mut findings = proven();
        findings.push(inside(Finding::fail(id::DISCOVERY_FETCH, "cannot resolve")));
        let v = judge(&findings);
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert_eq!(v.open[0].ids, [id::DISCOVERY_FETCH], "{v:?}");
    }

    #[test]
    fn missing_checks_are_unproven_not_proven() {
        let mut findings = proven();
        findings.retain(|f| !f.id.starts_with("login."));
        let v = judge(&findings);
        assert_eq!(v.status, Status::Warn);
        let login = v
            .open
            .iter()
            .find(|o| o.how.contains("--login"))
            .expect("names --login");
        assert!(
            login.not_run.iter().any(|i| i == id::LOGIN_ID_TOKEN),
            "{v:?}"
        );
    }

    #[test]
    fn the_callback_is_proven_by_either_check() {
        let legacy = with(
            with(
                proven(),
                Finding::warn(id::CLIENT_REDIRECT_URI, "Pocket ID 2.9"),
            ),
            Finding::pass(id::POCKETID_CALLBACKS, "registered"),
        );
        assert_eq!(judge(&legacy).status, Status::Pass);
        let neither = with(
            proven(),
            Finding::warn(id::CLIENT_REDIRECT_URI, "Pocket ID 2.9"),
        );
        let v = judge(&neither);
        assert_eq!(v.status, Status::Warn);
        assert!(v.open[0].how.contains("--pocket-id-api-key"), "{v:?}");
    }

    #[test]
    fn a_failure_anywhere_fails_and_names_the_need() {
        let v = judge(&with(
            proven(),
            Finding::fail(id::CLIENT_REDIRECT_URI, "not registered"),
        ));
        assert_eq!(v.status, Status::Fail);
        assert!(
            v.summary.contains("RomM's callback at the provider"),
            "{v:?}"
        );
        let v = judge(&with(
            proven(),
            Finding::fail(id::ROMM_USERS, "registration off"),
        ));
        assert_eq!(v.status, Status::Fail, "{v:?}");
    }

    #[test]
    fn romms_log_counts_when_given_and_names_its_need() {
        let v = judge(&with(proven(), Finding::pass(id::ROMM_LOG, "no failure")));
        assert_eq!(v.status, Status::Pass, "{v:?}");
        let v = judge(&with(proven(), Finding::fail(id::ROMM_LOG, "net.dns")));
        assert_eq!(v.status, Status::Fail, "{v:?}");
        assert!(
            v.summary.contains("RomM's own log shows no failed login"),
            "{v:?}"
        );
        let v = judge(&with(
            proven(),
            Finding::warn(id::ROMM_LOG, "a later login succeeded"),
        ));
        assert_eq!(
            v.open[0].what, "RomM's own log shows no failed login",
            "{v:?}"
        );
    }

    #[test]
    fn generic_needs_quote_each_findings_own_advice() {
        let v = judge(&with(
            proven(),
            Finding::warn(id::CONFIG_REDIRECT_URI, "plain http").fix("Serve RomM over https"),
        ));
        assert!(v.open[0].how.contains("Serve RomM over https"), "{v:?}");
    }
}
