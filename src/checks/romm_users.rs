//! RomM's users: which account RomM will log the token's email into, judged
//! with RomM's own rules (`backend/handler/auth/base_handler.py`,
//! `get_current_active_user_from_openid_token`, RomM 5.2) — from RomM's user
//! list when the doctor may read it (`romm.users`), else from what the user
//! told it (`--email`), never from a guess.

use serde_json::{Map, Value};

use super::{login, unreachable};
use crate::checks::id;
use crate::http::Http;
use crate::report::Finding;
use crate::romm_api::{self, Access, Account, ApiError, USERS_READ};
use crate::settings::Settings;

const USERS: &str = id::ROMM_USERS;
const ACCOUNT: &str = id::ROMM_ACCOUNT;

const REGISTRATION_OFF: &str =
    "User registration is disabled. Please contact an administrator to create an account.";

/// How to let the doctor read RomM's users, for fixes.
const GIVE_ACCESS: &str = "--romm-url URL --romm-username ADMIN (password from --romm-password-file FILE, ROMM_PASSWORD or a prompt) or --romm-token-file FILE";

/// `romm.users`, and the accounts when they could be read.
pub struct Users {
    pub finding: Finding,
    pub accounts: Option<Vec<Account>>,
}

impl Users {
    /// A panic in the fetch becomes a failing finding, not a crash.
    pub fn crashed() -> Users {
        Users {
            finding: Finding::fail(USERS, "This check crashed; please report it"),
            accounts: None,
        }
    }
}

/// Reads RomM's users with the access given; `romm.users` says how it went.
pub fn fetch(settings: &Settings, http: &Http, access: Option<&Access>) -> Users {
    let failed = |finding: Finding| Users {
        finding,
        accounts: None,
    };
    let Some(access) = access else {
        return failed(Finding::skip(
            USERS,
            "Optional: give --romm-username or --romm-token-file (with --romm-url) to check the token's email against RomM's users, read-only",
        ));
    };
    let Some(base) = settings.romm_url.as_deref() else {
        return failed(Finding::skip(USERS, "RomM access needs --romm-url"));
    };
    let base = base.trim().trim_end_matches('/');
    let who = access.who();
    let bearer = match romm_api::sign_in(http, base, access) {
        Ok(bearer) => bearer,
        Err(e) => return failed(sign_in_failure(base, &who, &e)),
    };
    match romm_api::users(http, base, &bearer) {
        Ok(accounts) => Users {
            finding: Finding::pass(
                USERS,
                format!(
                    "Read RomM's {} user{} as {who} (scope {USERS_READ} only; nothing is changed)",
                    accounts.len(),
                    if accounts.len() == 1 { "" } else { "s" }
                ),
            ),
            accounts: Some(accounts),
        },
        Err(e) => failed(list_failure(base, &who, access, &e)),
    }
}

fn sign_in_failure(base: &str, who: &str, error: &ApiError) -> Finding {
    let url = format!("{base}/api/token");
    let detail = format!("POST {url} (password grant, scope {USERS_READ}) answered {error}.");
    match error {
        ApiError::Transport(failure) => unreachable(USERS, "Signing in to RomM", &url, failure),
        ApiError::Status { status: 401, .. } => Finding::fail(USERS, format!("RomM refused the password of {who}"))
            .detail(detail)
            .fix("Check --romm-username and the password (--romm-password-file, ROMM_PASSWORD or the prompt): they are the ones that open RomM's own login form."),
        ApiError::Status { status: 403, detail: d } if d.contains("disabled") => Finding::fail(USERS, format!("{who} is disabled in RomM"))
            .detail(detail)
            .fix("Sign in as an enabled RomM admin."),
        ApiError::Status { status: 403, .. } => Finding::fail(USERS, format!("{who} may not read RomM's users (scope {USERS_READ})"))
            .detail(detail)
            .mismatch(format!("an account with the {USERS_READ} scope (a RomM admin)"), who.to_string())
            .fix("Sign in as a RomM admin (--romm-username), or use a client API token with the users.read scope (--romm-token-file)."),
        _ => Finding::fail(USERS, "RomM's token endpoint gave an unexpected answer")
            .detail(detail)
            .fix("Check that --romm-url is RomM's address (the page users open)."),
    }
}

fn list_failure(base: &str, who: &str, access: &Access, error: &ApiError) -> Finding {
    let url = format!("{base}/api/users");
    let detail = format!("GET {url} answered {error}.");
    let token = matches!(access, Access::Token(_));
    match error {
        ApiError::Transport(failure) => unreachable(USERS, "Reading RomM's users", &url, failure),
        ApiError::Status { status: 401, .. } if token => Finding::fail(USERS, "RomM refused the client API token")
            .detail(format!("{detail} The token is unknown, expired, or its account is disabled."))
            .fix("Create a client API token with the users.read scope (RomM → Settings → Client API Tokens, signed in as an admin) and pass its file with --romm-token-file."),
        ApiError::Status { status: 403, .. } => Finding::fail(USERS, format!("{who} may not read RomM's users (scope {USERS_READ})"))
            .detail(detail)
            .fix("Use a RomM admin's account, or a client API token that has the users.read scope."),
        _ => Finding::fail(USERS, "RomM's user list gave an unexpected answer")
            .detail(detail)
            .fix("Check that --romm-url is RomM's address (the page users open)."),
    }
}

/// The email (and claims) RomM will look the account up with.
pub enum Token<'a> {
    /// An ID token's claims (the login's, or Pocket ID's claims preview).
    Claims(&'a Map<String, Value>, &'static str),
    /// Only `--email`: the account is known, the username claim is not.
    Email(&'a str),
    None,
}

fn same(a: &str, b: &str) -> bool {
    a.to_lowercase() == b.to_lowercase()
}

/// `romm.account`: the account RomM uses for the token's email, or why
/// RomM refuses — proven from RomM's users when they were read.
pub fn account(
    settings: &Settings,
    token: Token<'_>,
    email_flag: Option<&str>,
    accounts: Option<&[Account]>,
) -> Finding {
    let (email, claims, from) = match &token {
        Token::Claims(claims, from) => match claims.get("email").and_then(Value::as_str) {
            Some(email) => (email, Some(*claims), *from),
            None => return Finding::skip(ACCOUNT, "The token has no email (see login.email)"),
        },
        Token::Email(email) => (*email, None, "--email"),
        Token::None => {
            return Finding::skip(
                ACCOUNT,
                "Needs the token's email: run with --login (or, for Pocket ID, --pocket-id-api-key with --email)",
            );
        }
    };
    let registration = settings.flag("OIDC_ALLOW_REGISTRATION");
    match accounts {
        Some(accounts) => with_users(settings, email, claims, from, registration, accounts),
        None => without_users(settings, email, claims, email_flag, registration),
    }
}

/// `romm.account` when no login ran: the claims of Pocket ID's preview
/// (`pocketid.preview`) when there are some, else `--email` alone.
pub fn account_without_login(
    settings: &Settings,
    findings: &[Finding],
    email_flag: Option<&str>,
    accounts: Option<&[Account]>,
) -> Finding {
    let preview = findings
        .iter()
        .find(|f| f.id == id::POCKETID_PREVIEW)
        .and_then(|f| f.data.as_ref()?.get("claims")?.as_object());
    let token = match (preview, email_flag) {
        (Some(claims), _) => Token::Claims(claims, "Pocket ID's claims preview"),
        (None, Some(email)) => Token::Email(email),
        (None, None) => Token::None,
    };
    account(settings, token, email_flag, accounts)
}

fn with_users(
    settings: &Settings,
    email: &str,
    claims: Option<&Map<String, Value>>,
    from: &str,
    registration: bool,
    accounts: &[Account],
) -> Finding {
    let count = accounts.len();
    let found = accounts
        .iter()
        .find(|a| a.email.as_deref().is_some_and(|e| same(e, email)));
    if let Some(user) = found {
        let data = serde_json::json!({ "username": user.username, "role": user.role, "enabled": user.enabled });
        if !user.enabled {
            return Finding::fail(ACCOUNT, format!("RomM account {} has this email but is disabled: RomM answers 401 \"Disabled user\"", user.username))
                .detail(format!("RomM matches the email {email} ({from}) to {} case-insensitively, then refuses a disabled account.", user.username))
                .mismatch("an enabled account", format!("{} (disabled)", user.username))
                .fix(disabled_fix(&user.username))
                .data(data);
        }
        let role = claims
            .and_then(|c| login::mapped_role(settings, c))
            .flatten();
        // Only RomM 5.x's two roles compare; 4.x stored viewer/editor.
        let note = match role {
            Some(new) if new != user.role && matches!(user.role.as_str(), "admin" | "user") => {
                format!(
                    "\nAt this login RomM changes {}'s role from {} to {new} (OIDC_CLAIM_ROLES mapping).",
                    user.username, user.role
                )
            }
            _ => String::new(),
        };
        return Finding::pass(ACCOUNT, format!("RomM logs in as {} ({}, enabled): the account with email {email}", user.username, user.role))
            .detail(format!("RomM matches the email {email} ({from}) to its users case-insensitively; {count} RomM users were read.{note}"))
            .data(data);
    }
    if !registration {
        return Finding::fail(ACCOUNT, format!("RomM: \"{REGISTRATION_OFF}\" (403)"))
            .detail(format!("No RomM account has the email {email} ({from}; {count} RomM users read, emails compared case-insensitively), and OIDC_ALLOW_REGISTRATION is false."))
            .mismatch(format!("a RomM account with email {email}"), format!("none among {count} accounts"))
            .fix(registration_off_fix(email));
    }
    let attr = settings.username_attribute();
    let Some(claims) = claims else {
        return Finding::warn(ACCOUNT, format!("No RomM account has {email}: RomM creates one at the first login, named by the token's {attr} claim"))
            .detail(format!("Unproven: whether a RomM user already has that username, which makes RomM's insert fail (a 500). Only the token shows the {attr} value."))
            .fix("Run with --login (or, for Pocket ID, --pocket-id-api-key) to check the new account's username, or create the RomM account with this email first.");
    };
    let Some(username) = claims.get(attr).filter(|v| !v.is_null()).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }) else {
        return Finding::skip(
            ACCOUNT,
            format!("No {attr} claim for the new account's username (see login.username)"),
        );
    };
    let role = match login::mapped_role(settings, claims) {
        Some(Some(role)) => role,
        _ => "user",
    };
    if let Some(taken) = accounts.iter().find(|a| same(&a.username, &username)) {
        let owner = taken.email.as_deref().unwrap_or("no email");
        return Finding::fail(ACCOUNT, format!("RomM would create an account named {username}, but RomM user {} exists: the login fails (500)", taken.username))
            .detail(format!(
                "No RomM account has the email {email}, so RomM creates one whose username is the token's {attr} ({username}). RomM's username column is unique: on MariaDB or MySQL (RomM's default database, whose collation ignores letter case) the insert fails with an IntegrityError, an unhandled 500; on PostgreSQL a name differing only in case is stored, but RomM finds users by username case-insensitively and cannot tell the two apart. The existing {} has {owner}.",
                taken.username
            ))
            .mismatch("a username no RomM user has", taken.username.clone())
            .fix(username_taken_fix(email, &taken.username));
    }
    Finding::pass(
        ACCOUNT,
        format!("No RomM account has {email}: RomM creates {username} ({role}) at the first login"),
    )
    .detail(format!(
        "The username comes from the token's {attr} ({from}); none of RomM's {count} users has it."
    ))
}

/// The fixes of `romm.account`, shared with `romm.log` (RomM's own log of
/// the same refusals).
pub fn disabled_fix(username: &str) -> String {
    format!(
        "Enable {username} in RomM (Settings → Users → edit the user), or log in with a Pocket ID user whose email belongs to an enabled RomM account."
    )
}

pub fn registration_off_fix(email: &str) -> String {
    format!(
        "In RomM (Settings → Users), create the user with email {email} or put that email on the existing account; or set OIDC_ALLOW_REGISTRATION=true to let RomM create it."
    )
}

pub fn username_taken_fix(email: &str, username: &str) -> String {
    format!(
        "Put the email {email} on the RomM account {username} (RomM then logs into it), or rename that account, or set OIDC_USERNAME_ATTRIBUTE to a claim whose value is unique (e.g. email)."
    )
}

fn without_users(
    settings: &Settings,
    email: &str,
    claims: Option<&Map<String, Value>>,
    email_flag: Option<&str>,
    registration: bool,
) -> Finding {
    if claims.is_none() {
        return Finding::skip(
            ACCOUNT,
            format!("Needs the token's email (--login) or RomM's users ({GIVE_ACCESS})"),
        );
    }
    if email_flag.is_some_and(|flag| same(flag, email)) {
        return Finding::pass(ACCOUNT, format!("RomM logs into the account with email {email} (--email)"))
            .detail("The token's email is the RomM user's email given with --email (RomM matches it case-insensitively). That this account exists and is enabled is taken from --email, not read from RomM.");
    }
    let how = format!(
        "Prove it with --email (the RomM user's email, checked against the token), or let the doctor read RomM's users: {GIVE_ACCESS}."
    );
    if !registration {
        return Finding::warn(ACCOUNT, format!("Registration is off: RomM accepts {email} only if a RomM account has it (unproven)"))
            .detail(format!("Unproven: whether a RomM account has the email {email}. If none has, RomM answers 403 \"{REGISTRATION_OFF}\"."))
            .fix(format!("Create the RomM user with this email if needed. {how}"));
    }
    let attr = settings.username_attribute();
    Finding::warn(ACCOUNT, format!("RomM logs into the account with {email}, or creates one (unproven which)"))
        .detail(format!("Unproven: whether a RomM account has the email {email}. If none has, RomM creates one named by the token's {attr}, and that fails (a 500) when a RomM user already has that username (for example the admin made during RomM's setup, with another email)."))
        .fix(how)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_settings::flags as settings;

    fn user(name: &str, email: Option<&str>, role: &str, enabled: bool) -> Account {
        Account {
            username: name.into(),
            email: email.map(str::to_string),
            role: role.into(),
            enabled,
        }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn registration_off_and_no_account_fails_with_romms_text() {
        let s = settings(&[("OIDC_ALLOW_REGISTRATION", "false")]);
        let c =
            claims(serde_json::json!({"email": "new@example.com", "preferred_username": "new"}));
        let users = [user("admin", Some("admin@example.com"), "admin", true)];
        let f = account(&s, Token::Claims(&c, "t"), None, Some(&users));
        assert_eq!(f.status, crate::report::Status::Fail);
        assert!(f.summary.contains(REGISTRATION_OFF));
    }

    #[test]
    fn email_matches_case_insensitively_and_a_role_change_is_noted() {
        let s = settings(&[
            ("OIDC_CLAIM_ROLES", "groups"),
            ("OIDC_ROLE_ADMIN", "romm-admins"),
            ("OIDC_ROLE_VIEWER", "*"),
        ]);
        let c = claims(serde_json::json!({"email": "Alice@Example.com", "groups": []}));
        let users = [user("alice", Some("alice@example.COM"), "admin", true)];
        let f = account(&s, Token::Claims(&c, "t"), None, Some(&users));
        assert_eq!(f.status, crate::report::Status::Pass);
        assert!(f.detail.contains("from admin to user"), "{}", f.detail);
    }

    #[test]
    fn a_username_taken_in_another_case_is_a_collision() {
        let s = settings(&[]);
        let c =
            claims(serde_json::json!({"email": "bob@example.com", "preferred_username": "Admin"}));
        let users = [user("admin", None, "admin", true)];
        let f = account(&s, Token::Claims(&c, "t"), None, Some(&users));
        assert_eq!(f.status, crate::report::Status::Fail);
        let free = [user("root", None, "admin", true)];
        let f = account(&s, Token::Claims(&c, "t"), None, Some(&free));
        assert_eq!(f.status, crate::report::Status::Pass);
    }

    #[test]
    fn without_users_only_email_proves_the_account() {
        let c = claims(serde_json::json!({"email": "a@example.com", "preferred_username": "a"}));
        for registration in ["true", "false"] {
            let s = settings(&[("OIDC_ALLOW_REGISTRATION", registration)]);
            let f = account(&s, Token::Claims(&c, "t"), None, None);
            assert_eq!(f.status, crate::report::Status::Warn, "{registration}");
            assert!(f.fix.contains("--romm-username") && f.fix.contains("--email"));
            let f = account(&s, Token::Claims(&c, "t"), Some("A@example.com"), None);
            assert_eq!(f.status, crate::report::Status::Pass);
        }
    }
}
