//! Every check's id, and the order the report lists them in. Ids are the
//! stable interface of `--json` and of the README's tables: change one and
//! every user's script breaks, so each is spelled once, here.

pub const CONFIG_ISSUER_URL: &str = "config.issuer-url";
pub const CONFIG_METADATA_URL: &str = "config.metadata-url";
pub const CONFIG_REDIRECT_URI: &str = "config.redirect-uri";
pub const CONFIG_SESSION_COOKIE: &str = "config.session-cookie";
pub const CONFIG_CLIENT: &str = "config.client";
pub const CONFIG_ENV_FILE: &str = "config.env-file";
pub const CONFIG_PROVIDER_NAME: &str = "config.provider-name";
pub const CONFIG_ROLES: &str = "config.roles";
pub const CONTAINER_ENV: &str = "container.env";
pub const CONTAINER_PROBE: &str = "container.probe";
pub const TLS_CA_FILE: &str = "tls.ca-file";
pub const TLS_INSECURE: &str = "tls.insecure";
pub const DISCOVERY_FETCH: &str = "discovery.fetch";
pub const DISCOVERY_ISSUER: &str = "discovery.issuer";
pub const DISCOVERY_METADATA: &str = "discovery.metadata";
pub const JWKS_KEYS: &str = "jwks.keys";
pub const CLIENT_EXISTS: &str = "client.exists";
pub const CLIENT_CREDENTIALS: &str = "client.credentials";
pub const CLIENT_REDIRECT_URI: &str = "client.redirect-uri";
pub const POCKETID_VERSION: &str = "pocketid.version";
pub const POCKETID_CLIENT: &str = "pocketid.client";
pub const POCKETID_CALLBACKS: &str = "pocketid.callbacks";
pub const POCKETID_USERS: &str = "pocketid.users";
pub const POCKETID_PREVIEW: &str = "pocketid.preview";
pub const ROMM_HEARTBEAT: &str = "romm.heartbeat";
pub const ROMM_LOGIN_REDIRECT: &str = "romm.login-redirect";
pub const ROMM_USERS: &str = "romm.users";
pub const LOGIN_CALLBACK: &str = "login.callback";
pub const LOGIN_TOKEN: &str = "login.token";
pub const LOGIN_ID_TOKEN: &str = "login.id-token";
pub const LOGIN_USERINFO: &str = "login.userinfo";
pub const LOGIN_EMAIL: &str = "login.email";
pub const LOGIN_EMAIL_VERIFIED: &str = "login.email-verified";
pub const LOGIN_USERNAME: &str = "login.username";
pub const LOGIN_ROLES: &str = "login.roles";
pub const LOGIN_EMAIL_MATCH: &str = "login.email-match";
pub const ROMM_ACCOUNT: &str = "romm.account";
pub const ROMM_LOG: &str = "romm.log";

/// The report order: what RomM reads first (its settings), then what it
/// fetches (the provider), then the running RomM, then a login.
pub const ORDER: &[&str] = &[
    CONFIG_ISSUER_URL,
    CONFIG_METADATA_URL,
    CONFIG_REDIRECT_URI,
    CONFIG_SESSION_COOKIE,
    CONFIG_CLIENT,
    CONFIG_ENV_FILE,
    CONFIG_PROVIDER_NAME,
    CONFIG_ROLES,
    CONTAINER_ENV,
    CONTAINER_PROBE,
    TLS_CA_FILE,
    TLS_INSECURE,
    DISCOVERY_FETCH,
    DISCOVERY_ISSUER,
    DISCOVERY_METADATA,
    JWKS_KEYS,
    CLIENT_EXISTS,
    CLIENT_CREDENTIALS,
    CLIENT_REDIRECT_URI,
    POCKETID_VERSION,
    POCKETID_CLIENT,
    POCKETID_CALLBACKS,
    POCKETID_USERS,
    POCKETID_PREVIEW,
    ROMM_HEARTBEAT,
    ROMM_LOGIN_REDIRECT,
    ROMM_USERS,
    LOGIN_CALLBACK,
    LOGIN_TOKEN,
    LOGIN_ID_TOKEN,
    LOGIN_USERINFO,
    LOGIN_EMAIL,
    LOGIN_EMAIL_VERIFIED,
    LOGIN_USERNAME,
    LOGIN_ROLES,
    LOGIN_EMAIL_MATCH,
    ROMM_ACCOUNT,
    ROMM_LOG,
];

/// The Pocket ID admin API checks, in report order.
pub const POCKET_ID: &[&str] = ORDER.split_at(19).1.split_at(5).0;

/// What the login test reports, in report order (`romm.account` last: the
/// login proves or refutes it).
pub const LOGIN: &[&str] = ORDER.split_at(27).1.split_at(10).0;

/// Where `id` stands in the report; an id not in [`ORDER`] goes last.
pub fn rank(id: &str) -> usize {
    ORDER.iter().position(|o| *o == id).unwrap_or(ORDER.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_groups_hold_their_checks_and_no_other() {
        let kind = |id: &str| id.split('.').next().unwrap_or_default().to_string();
        let pocket_id = ORDER.iter().filter(|id| kind(id) == "pocketid");
        assert!(pocket_id.eq(POCKET_ID.iter()), "{POCKET_ID:?}");
        let login = ORDER
            .iter()
            .filter(|id| kind(id) == "login" || **id == ROMM_ACCOUNT);
        assert!(login.eq(LOGIN.iter()), "{LOGIN:?}");
    }

    #[test]
    fn every_id_is_listed_once_and_spelled_as_its_kind_dot_name() {
        for (n, id) in ORDER.iter().enumerate() {
            assert_eq!(rank(id), n, "{id} listed twice");
            let (kind, name) = id.split_once('.').expect("kind.name");
            assert!(!kind.is_empty() && !name.is_empty(), "{id}");
            assert!(
                id.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '.' || c == '-'),
                "{id}"
            );
        }
        assert_eq!(rank("x.not-a-check"), ORDER.len());
    }
}
