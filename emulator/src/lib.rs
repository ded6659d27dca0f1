//! A faithful, in-process emulator of **Pocket ID** (a passkey-only OpenID
//! Connect provider) and of **RomM**'s OIDC login endpoint, used as the test
//! double and demo peer of the `romm-oidc` CLI.
//!
//! The behaviour follows the project's reference notes (`pocketid.md`,
//! `romm.md`): [`Profile::Modern`] is Pocket ID v2.14 (fosite),
//! [`Profile::Legacy`] is v2.9 (the hand-written OAuth code). Every JSON body,
//! JWT and JWK is built here by hand; no code is shared with the CLI.
//!
//! With [`Config::api_keys`] the emulator also serves Pocket ID's admin REST
//! API (`X-API-Key`; pocketid-admin-api.md), shaped by [`Config::version`]:
//! see the `admin` module.
//!
//! The API is synchronous: [`Emulator::start`] binds `127.0.0.1:0`, runs a
//! 2-worker tokio runtime on a background thread and returns at once;
//! dropping the [`Emulator`] stops it.
//!
//! ```no_run
//! let idp = pocket_id_emulator::Emulator::start(Default::default()).unwrap();
//! println!("{}/.well-known/openid-configuration", idp.issuer());
//! ```

mod admin;
mod authorize;
mod callback_match;
mod discovery;
mod errors;
mod keys;
pub mod romm;
mod server;
mod spa;
mod token;
mod userinfo;
mod util;

pub use romm::{BASE_URL_PLACEHOLDER, RommClientToken, RommConfig, RommEmulator, RommUser};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::HeaderMap;
use axum::response::Response;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use util::Form;

// ====================================================================== public types

/// Which Pocket ID generation to emulate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Profile {
    /// v2.14 (fosite): `state` required, exact token `redirect_uri`, array
    /// `aud`, `at_hash`, `token_type "bearer"`, 303 redirects.
    #[default]
    Modern,
    /// v2.9 (hand-written): permissive `state`, TOFU callbacks,
    /// `{"error":"Capitalized message"}` bodies, string `aud`, `"Bearer"`.
    Legacy,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        match s.to_ascii_lowercase().as_str() {
            "modern" | "v2.14" | "2.14" => Some(Profile::Modern),
            "legacy" | "v2.9" | "2.9" => Some(Profile::Legacy),
            _ => None,
        }
    }
}

/// The algorithm of the one signing key (`pocket-id key-rotate --alg`).
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SigningAlg {
    /// RSA-2048 (the Pocket ID default).
    #[default]
    RS256,
    /// RSA-3072.
    RS384,
    /// RSA-4096.
    RS512,
    ES256,
    ES384,
    /// P-521.
    ES512,
    /// Ed25519.
    EdDSA,
}

impl SigningAlg {
    pub const ALL: [SigningAlg; 7] = [
        SigningAlg::RS256,
        SigningAlg::RS384,
        SigningAlg::RS512,
        SigningAlg::ES256,
        SigningAlg::ES384,
        SigningAlg::ES512,
        SigningAlg::EdDSA,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlg::RS256 => "RS256",
            SigningAlg::RS384 => "RS384",
            SigningAlg::RS512 => "RS512",
            SigningAlg::ES256 => "ES256",
            SigningAlg::ES384 => "ES384",
            SigningAlg::ES512 => "ES512",
            SigningAlg::EdDSA => "EdDSA",
        }
    }

    pub fn parse(s: &str) -> Option<SigningAlg> {
        SigningAlg::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
}

/// An OIDC client as registered in Pocket ID.
///
/// Build one with [`Client::confidential`] or [`Client::public`] and `..` for
/// the rest: the admin API's fields below default to the values a client
/// created in the UI has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    /// The client's secret: `None` for public clients (and for a confidential
    /// client without a secret, which then can never authenticate). After an
    /// admin-API `POST …/secret(s)` this is the newest secret; on v2.14 the
    /// older ones stay valid too (see [`Emulator::secret_is_valid`]).
    pub secret: Option<String>,
    pub callback_urls: Vec<String>,
    pub is_public: bool,
    pub pkce_enabled: bool,
    /// `description` (v2.10+).
    pub description: String,
    pub logout_callback_urls: Vec<String>,
    pub launch_url: Option<String>,
    pub requires_reauthentication: bool,
    /// `requiresPushedAuthorizationRequests` (v2.9+).
    pub requires_par: bool,
    /// `skipConsent` (v2.10+).
    pub skip_consent: bool,
    /// `isGroupRestricted` (v2.0+): only members of `allowed_user_groups` may
    /// sign in (none when the list is empty). Before v2.0 a non-empty
    /// `allowed_user_groups` restricts by itself.
    pub is_group_restricted: bool,
    /// Names of the allowed user groups ([`UserGroup::name`]).
    pub allowed_user_groups: Vec<String>,
    /// `credentials.federatedIdentities`, kept verbatim.
    pub federated_identities: Vec<serde_json::Value>,
    /// `accessTokenDurationMinutes` (v2.13+; default 60).
    pub access_token_minutes: u32,
    /// `refreshTokenDurationMinutes` (v2.13+; default 43200).
    pub refresh_token_minutes: u32,
}

impl Client {
    pub fn confidential(id: &str, secret: &str, callback_urls: &[&str]) -> Client {
        Client {
            id: id.to_string(),
            name: id.to_string(),
            secret: Some(secret.to_string()),
            callback_urls: callback_urls.iter().map(|s| s.to_string()).collect(),
            is_public: false,
            pkce_enabled: false,
            description: String::new(),
            logout_callback_urls: Vec::new(),
            launch_url: None,
            requires_reauthentication: false,
            requires_par: false,
            skip_consent: false,
            is_group_restricted: false,
            allowed_user_groups: Vec::new(),
            federated_identities: Vec::new(),
            access_token_minutes: DEFAULT_ACCESS_TOKEN_MINUTES,
            refresh_token_minutes: DEFAULT_REFRESH_TOKEN_MINUTES,
        }
    }

    /// A public client; Pocket ID (1.2+) always stores `PkceEnabled` for one.
    pub fn public(id: &str, callback_urls: &[&str]) -> Client {
        Client {
            secret: None,
            is_public: true,
            pkce_enabled: true,
            ..Client::confidential(id, "", callback_urls)
        }
    }
}

/// `accessTokenDurationMinutes` when a client sets none.
pub const DEFAULT_ACCESS_TOKEN_MINUTES: u32 = 60;
/// `refreshTokenDurationMinutes` when a client sets none.
pub const DEFAULT_REFRESH_TOKEN_MINUTES: u32 = 43200;

/// A Pocket ID user group (Settings → Admin → User Groups).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserGroup {
    pub id: String,
    /// The `groups` claim value.
    pub name: String,
    pub friendly_name: String,
}

impl UserGroup {
    pub fn new(name: &str) -> UserGroup {
        UserGroup {
            id: util::uuid_v4(),
            name: name.to_string(),
            friendly_name: name.to_string(),
        }
    }
}

/// An admin-API key (Settings → Admin → API Keys). It acts as its owner:
/// admin routes need an owner with [`Config::admins`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// The plaintext sent in `X-API-Key`.
    pub key: String,
    /// The owning user's username.
    pub owner_username: String,
    /// An expired key is refused (401) but not deleted.
    pub expired: bool,
}

impl ApiKey {
    pub fn new(key: &str, owner_username: &str) -> ApiKey {
        ApiKey {
            key: key.to_string(),
            owner_username: owner_username.to_string(),
            expired: false,
        }
    }
}

/// A user with the account fields only the admin API shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserAccount {
    pub user: User,
    pub display_name: String,
    pub is_admin: bool,
    pub disabled: bool,
    pub locale: Option<String>,
}

/// A Pocket ID user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The `sub` claim (a UUID).
    pub id: String,
    pub username: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub first_name: String,
    pub last_name: String,
    /// Group names, released with the `groups` scope.
    pub groups: Vec<String>,
}

impl User {
    /// A verified user with a fresh random id.
    pub fn new(username: &str, email: Option<&str>) -> User {
        User {
            id: util::uuid_v4(),
            username: username.to_string(),
            email: email.map(str::to_string),
            email_verified: true,
            first_name: username.to_string(),
            last_name: String::new(),
            groups: Vec::new(),
        }
    }
}

/// A canned HTTP answer (see [`Faults::overrides`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> RawResponse {
        RawResponse {
            status,
            headers: vec![("content-type".to_string(), content_type.to_string())],
            body: body.into(),
        }
    }
}

/// A deliberately bad (or merely unusual) ID token from the token endpoint,
/// for testing a relying party's verification: each is something a real
/// provider can send. Every other part of the token response stays valid.
/// Built by hand here, never with the CLI's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenFault {
    /// Unsigned: header `{"alg":"none",...}` and an empty signature part.
    AlgNone,
    /// The algorithm-confusion attack: header `alg` `HS256`, HMAC-SHA256 keyed
    /// with the published public key's bytes (its SubjectPublicKeyInfo PEM,
    /// `-----BEGIN PUBLIC KEY-----`, as a naive verifier would load it; see
    /// [`Emulator::public_key_pem`]).
    Hs256WithPublicKey,
    /// Signed by another key of the same algorithm that is not in the JWKS,
    /// under the published key's `kid`.
    WrongKey,
    /// `aud` names another client (`"another-client"`; array or string, as the
    /// profile shapes `aud`), and there is no `azp`.
    WrongAudience,
    /// `aud` is `[client, "another-client"]` and there is no `azp`.
    AudienceWithOther,
    /// `aud` names only another client, but `azp` is the client.
    OtherAudienceWithAzp,
    /// `azp` is `"another-client"` (`aud` as usual).
    WrongAzp,
    /// `exp` 1 h in the past, `iat` 2 h in the past (a 1-hour token issued 2 h ago).
    Expired,
    /// `exp` 60 s in the past (a 1-hour token issued 61 min ago): the
    /// provider's clock runs a minute behind.
    ExpiredWithinLeeway,
    /// `iat` 5 min in the future (`exp` 1 h after it): the provider's clock
    /// runs 5 minutes ahead.
    IssuedInFuture,
    /// `exp` is a JSON string of the usual number.
    ExpAsString,
    /// No `iat` claim.
    NoIat,
    /// No `sub` claim.
    NoSub,
    /// `nonce` is not the one sent to `/authorize`.
    WrongNonce,
    /// No `nonce` claim although one was sent.
    NoNonce,
    /// `iss` is [`WRONG_TOKEN_ISSUER`] instead of the issuer.
    WrongIssuer,
    /// The header has no `kid` (the JWKS still holds one key).
    NoKid,
    /// The header has no `kid`, and the JWKS publishes a second key (same
    /// algorithm, another `kid`) besides the signing key.
    NoKidTwoKeys,
    /// No `at_hash` (legacy tokens never have one).
    NoAtHash,
    /// `at_hash` of another string than the access token.
    WrongAtHash,
    /// `at_hash` hashed as RFC 8037 and authlib hash EdDSA tokens, with
    /// SHA-512 (fosite, and so Pocket ID 2.10+, uses SHA-256); other
    /// algorithms as usual. Legacy tokens get one too.
    AtHashSha512ForEdDsa,
}

/// The `iss` of [`TokenFault::WrongIssuer`] tokens.
pub const WRONG_TOKEN_ISSUER: &str = "https://impostor.example.com";
/// The other client id of the audience and `azp` faults.
pub const WRONG_TOKEN_AUDIENCE: &str = "another-client";

impl TokenFault {
    pub const ALL: [TokenFault; 21] = [
        TokenFault::AlgNone,
        TokenFault::Hs256WithPublicKey,
        TokenFault::WrongKey,
        TokenFault::WrongAudience,
        TokenFault::AudienceWithOther,
        TokenFault::OtherAudienceWithAzp,
        TokenFault::WrongAzp,
        TokenFault::Expired,
        TokenFault::ExpiredWithinLeeway,
        TokenFault::IssuedInFuture,
        TokenFault::ExpAsString,
        TokenFault::NoIat,
        TokenFault::NoSub,
        TokenFault::WrongNonce,
        TokenFault::NoNonce,
        TokenFault::WrongIssuer,
        TokenFault::NoKid,
        TokenFault::NoKidTwoKeys,
        TokenFault::NoAtHash,
        TokenFault::WrongAtHash,
        TokenFault::AtHashSha512ForEdDsa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenFault::AlgNone => "alg-none",
            TokenFault::Hs256WithPublicKey => "hs256-with-public-key",
            TokenFault::WrongKey => "wrong-key",
            TokenFault::WrongAudience => "wrong-audience",
            TokenFault::AudienceWithOther => "audience-with-other",
            TokenFault::OtherAudienceWithAzp => "other-audience-with-azp",
            TokenFault::WrongAzp => "wrong-azp",
            TokenFault::Expired => "expired",
            TokenFault::ExpiredWithinLeeway => "expired-within-leeway",
            TokenFault::IssuedInFuture => "issued-in-future",
            TokenFault::ExpAsString => "exp-as-string",
            TokenFault::NoIat => "no-iat",
            TokenFault::NoSub => "no-sub",
            TokenFault::WrongNonce => "wrong-nonce",
            TokenFault::NoNonce => "no-nonce",
            TokenFault::WrongIssuer => "wrong-issuer",
            TokenFault::NoKid => "no-kid",
            TokenFault::NoKidTwoKeys => "no-kid-two-keys",
            TokenFault::NoAtHash => "no-at-hash",
            TokenFault::WrongAtHash => "wrong-at-hash",
            TokenFault::AtHashSha512ForEdDsa => "at-hash-sha512-for-eddsa",
        }
    }

    pub fn parse(s: &str) -> Option<TokenFault> {
        TokenFault::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
    }
}

/// Misbehaviour to inject.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Every response is delayed by this much (async sleep: requests stay concurrent).
    pub latency: Duration,
    /// Discovery publishes this `issuer` (tokens keep the real one).
    pub wrong_issuer: Option<String>,
    /// Discovery answers `301 Moved Permanently` with this `Location`.
    pub discovery_redirect: Option<String>,
    /// Discovery answers the SPA HTML shell, `200 text/html`.
    pub html_discovery: bool,
    /// The JWKS answers JSON that is not a key set.
    pub broken_jwks: bool,
    /// A canned answer for an exact path (any method, any query).
    pub overrides: Vec<(String, RawResponse)>,
    /// Every ID token the token endpoint issues (code and refresh grants, both
    /// profiles) is broken this way.
    pub id_token: Option<TokenFault>,
}

/// How to start an [`Emulator`].
#[derive(Clone, Debug)]
pub struct Config {
    pub profile: Profile,
    pub alg: SigningAlg,
    pub clients: Vec<Client>,
    pub users: Vec<User>,
    pub faults: Faults,
    /// Serve HTTPS with a certificate from a freshly generated private CA
    /// (SANs `localhost` and `127.0.0.1`); see [`Emulator::ca_pem`].
    pub tls: bool,
    /// Serve HTTPS with exactly this chain instead (implies `tls`).
    pub tls_chain: Option<TlsChain>,
    /// `APP_URL` = `http(s)://localhost:<port>`, `INTERNAL_APP_URL` =
    /// `http(s)://127.0.0.1:<port>` (same listener). Without it both are
    /// `http(s)://127.0.0.1:<port>`.
    pub split_internal_url: bool,
    /// `APP_URL` = `http(s)://<app_host>:<port>` (a name the client looks
    /// up, e.g. from its /etc/hosts), `INTERNAL_APP_URL` as with
    /// `split_internal_url`.
    pub app_host: Option<String>,
    /// The username already signed in (with consent given): `/authorize`
    /// redirects straight to the callback. `None` shows the login step.
    pub session_user: Option<String>,
    /// `ALLOW_INSECURE_CALLBACK_URLS` (Modern; default true since v2.11).
    pub allow_insecure_callback_urls: bool,
    /// The server version the admin API behaves as and reports ("2.14.0",
    /// "2.13.0", "2.9.0", "2.1.0", "1.16.0", or "unknown" like a build
    /// without the version flag). `None`: "2.14.0" for [`Profile::Modern`],
    /// "2.9.0" for [`Profile::Legacy`]. It does not change the profile of
    /// the login flow: [`Config::for_version`] sets both consistently.
    pub version: Option<String>,
    /// Admin-API keys; none by default (the API then answers 401 to all).
    pub api_keys: Vec<ApiKey>,
    /// Usernames whose `isAdmin` is true.
    pub admins: Vec<String>,
    /// Usernames whose `disabled` is true.
    pub disabled_users: Vec<String>,
    /// The user groups; a group named by a user or a client but missing
    /// here is created with a random id.
    pub user_groups: Vec<UserGroup>,
    /// The app-config `emailsVerified` ("Emails Verified"). Before v2.2 it is
    /// every user's `email_verified` claim; from v2.2 it only seeds new users.
    pub emails_verified: bool,
}

/// A certificate chain to serve, leaf first (DER), and the leaf's PKCS#8 key.
#[derive(Clone, Debug)]
pub struct TlsChain {
    pub certs: Vec<Vec<u8>>,
    pub key: Vec<u8>,
}

pub const DEFAULT_CLIENT_ID: &str = "romm";
pub const DEFAULT_CLIENT_SECRET: &str = "romm-secret-0123456789abcdefABCD";
pub const DEFAULT_CALLBACK: &str = "https://romm.example.com/api/oauth/openid";
pub const DEFAULT_USER_ID: &str = "5f0c6f0e-8d1b-4c63-9a4e-2b7c1d9e3a51";

impl Default for Config {
    fn default() -> Config {
        Config {
            profile: Profile::Modern,
            alg: SigningAlg::RS256,
            clients: vec![Client {
                name: "RomM".to_string(),
                ..Client::confidential(
                    DEFAULT_CLIENT_ID,
                    DEFAULT_CLIENT_SECRET,
                    &[DEFAULT_CALLBACK],
                )
            }],
            users: vec![User {
                id: DEFAULT_USER_ID.to_string(),
                username: "alice".to_string(),
                email: Some("alice@example.com".to_string()),
                email_verified: true,
                first_name: "Alice".to_string(),
                last_name: "Example".to_string(),
                groups: Vec::new(),
            }],
            faults: Faults::default(),
            tls: false,
            tls_chain: None,
            split_internal_url: false,
            app_host: None,
            session_user: Some("alice".to_string()),
            allow_insecure_callback_urls: true,
            version: None,
            api_keys: Vec::new(),
            admins: Vec::new(),
            disabled_users: Vec::new(),
            user_groups: Vec::new(),
            emails_verified: false,
        }
    }
}

/// The username of the admin [`Config::with_admin_api_key`] adds.
pub const ADMIN_USERNAME: &str = "admin";
/// The id of that admin.
pub const ADMIN_USER_ID: &str = "0b6a3c1e-7d2f-4e8a-9c5b-1f2e3d4c5b6a";

impl Config {
    /// The default setup as Pocket ID `version` would behave: the admin API
    /// per [`Config::version`], and the [`Profile::Legacy`] login flow below
    /// v2.10. So ID tokens carry no `at_hash` up to v2.9, and from v2.10 on
    /// fosite's, whose hash follows the key's alg (SHA-256 for EdDSA): every
    /// fosite release records the alg on the session, none hashes EdDSA with
    /// SHA-512 (pocket-id v2.10.0…v2.14.0 `backend/internal/oidc/claims_service.go`).
    pub fn for_version(version: &str) -> Config {
        let legacy = admin::parse_version(version).is_some_and(|v| v < (2, 10, 0));
        Config {
            profile: if legacy {
                Profile::Legacy
            } else {
                Profile::Modern
            },
            version: Some(version.to_string()),
            ..Config::default()
        }
    }

    /// Adds an admin user [`ADMIN_USERNAME`] (`admin@example.org`) owning the
    /// API key `key`.
    pub fn with_admin_api_key(mut self, key: &str) -> Config {
        if !self.users.iter().any(|u| u.username == ADMIN_USERNAME) {
            self.users.push(User {
                id: ADMIN_USER_ID.to_string(),
                username: ADMIN_USERNAME.to_string(),
                email: Some("admin@example.org".to_string()),
                email_verified: true,
                first_name: "Ada".to_string(),
                last_name: "Admin".to_string(),
                groups: Vec::new(),
            });
        }
        if !self.admins.iter().any(|a| a == ADMIN_USERNAME) {
            self.admins.push(ADMIN_USERNAME.to_string());
        }
        self.api_keys.push(ApiKey::new(key, ADMIN_USERNAME));
        self
    }
}

/// One request as the emulator received it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// The raw (still percent-encoded) path.
    pub path: String,
    /// The raw query string without `?` (empty when absent).
    pub query: String,
    /// Header names lowercased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded as `application/x-www-form-urlencoded`.
    pub fn form(&self) -> Vec<(String, String)> {
        Form::parse(&self.body).0
    }

    pub fn form_value(&self, key: &str) -> Option<String> {
        self.form()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    pub fn query_pairs(&self) -> Vec<(String, String)> {
        Form::parse(self.query.as_bytes()).0
    }

    pub fn query_value(&self, key: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

// ====================================================================== shared state

const MAX_BODY: usize = 1 << 20;
const MAX_LOG: usize = 10_000;
/// Recorded bodies are truncated to this many bytes (bounds the log's memory).
const MAX_LOGGED_BODY: usize = 64 * 1024;
const MAX_ENTRIES: usize = 50_000;

pub(crate) struct CodeGrant {
    pub client_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub nonce: String,
    /// The raw `redirect_uri` form value sent to `/authorize` (may be empty).
    pub redirect_uri: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
    pub requested_at: i64,
    pub auth_time: i64,
    pub expires_at: i64,
    pub used: bool,
    pub issued_tokens: Vec<String>,
}

pub(crate) struct AccessGrant {
    pub username: String,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
    pub expires_at: i64,
}

pub(crate) struct RefreshGrant {
    pub client_id: String,
    pub username: String,
    pub scopes: Vec<String>,
    pub auth_time: i64,
    pub expires_at: i64,
}

#[derive(Clone)]
pub(crate) struct Interaction {
    pub params: Vec<(String, String)>,
    pub username: Option<String>,
    pub auth_time: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

pub(crate) struct BrowserSession {
    pub username: String,
    pub auth_time: i64,
    pub expires_at: i64,
}

pub(crate) trait Expiring {
    fn expires_at(&self) -> i64;
}

macro_rules! expiring {
    ($($t:ty),*) => {$(impl Expiring for $t { fn expires_at(&self) -> i64 { self.expires_at } })*};
}
expiring!(
    CodeGrant,
    AccessGrant,
    RefreshGrant,
    Interaction,
    BrowserSession
);

/// Inserts into one of the stores, keeping it bounded: expired entries are
/// purged once the map grows, and past the hard cap arbitrary entries go.
pub(crate) fn bounded_insert<V: Expiring>(map: &mut HashMap<String, V>, key: String, value: V) {
    // Purge now and then (not on every insert) once the map is large.
    if map.len() >= MAX_ENTRIES / 5 && map.len().is_multiple_of(1024) {
        let now = util::now_secs();
        map.retain(|_, v| v.expires_at() > now);
    }
    while map.len() >= MAX_ENTRIES {
        let Some(k) = map.keys().next().cloned() else {
            break;
        };
        map.remove(&k);
    }
    map.insert(key, value);
}

#[derive(Default)]
pub(crate) struct State {
    pub clients: Vec<Client>,
    pub users: Vec<User>,
    pub codes: HashMap<String, CodeGrant>,
    pub access_tokens: HashMap<String, AccessGrant>,
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    pub interactions: HashMap<String, Interaction>,
    pub sessions: HashMap<String, BrowserSession>,
    /// Admin-API state: secrets, account fields, groups, keys.
    pub admin: admin::AdminState,
}

impl State {
    pub fn client(&self, id: &str) -> Option<Client> {
        self.clients.iter().find(|c| c.id == id).cloned()
    }

    pub fn user(&self, username: &str) -> Option<User> {
        self.users.iter().find(|u| u.username == username).cloned()
    }

    /// Whether `secret` authenticates the confidential client `client_id`.
    pub fn secret_ok(&self, client_id: &str, secret: &str) -> bool {
        !secret.is_empty() && self.admin.secret_ok(client_id, secret)
    }
}

pub(crate) struct App {
    pub profile: Profile,
    pub issuer: String,
    pub internal: String,
    pub key: keys::SigningKey,
    /// The unpublished key of [`TokenFault::WrongKey`] (same alg and kid).
    pub impostor_key: Option<keys::SigningKey>,
    /// The second published key of [`TokenFault::NoKidTwoKeys`] (same alg,
    /// another kid); it never signs.
    pub second_key: Option<keys::SigningKey>,
    pub faults: Faults,
    pub allow_insecure: bool,
    pub session_user: Option<String>,
    pub started_at: i64,
    /// The admin API's version (parsed [`Config::version`]).
    pub version: admin::Version,
    /// [`Config::version`] as reported by `/api/version/current`.
    pub version_text: String,
    pub emails_verified: bool,
    pub state: Mutex<State>,
    pub log: Mutex<VecDeque<RecordedRequest>>,
}

impl App {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, req: RecordedRequest) {
        let mut log = self.log.lock().unwrap_or_else(|p| p.into_inner());
        if log.len() >= MAX_LOG {
            log.pop_front();
        }
        log.push_back(req);
    }
}

/// A parsed incoming request.
pub(crate) struct Req {
    pub method: String,
    /// Percent-decoded path (gin routes on `URL.Path`).
    pub path: String,
    pub query: Form,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Go's `PostForm`: the body, only for a form content type.
    pub fn post_form(&self) -> Form {
        let is_form = self
            .header("content-type")
            .map(|ct| {
                ct.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
            .unwrap_or(false);
        if is_form && self.method == "POST" {
            Form::parse(&self.body)
        } else {
            Form::default()
        }
    }

    /// Go's `r.Form`: body values first, then the URL query.
    pub fn form(&self) -> Form {
        let mut f = self.post_form();
        f.extend(self.query.clone());
        f
    }

    /// Go's `r.BasicAuth()` (values not decoded).
    pub fn basic_auth(&self) -> Option<(String, String)> {
        use base64::Engine;
        let auth = self.header("authorization")?;
        let prefix = auth.get(..6)?;
        if !prefix.eq_ignore_ascii_case("basic ") {
            return None;
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.get(6..)?)
            .ok()?;
        // Go's BasicAuth keeps the bytes as they are; bytes that are not UTF-8
        // (a latin-1 secret) then simply fail to match.
        let text = String::from_utf8_lossy(&decoded);
        let (id, secret) = text.split_once(':')?;
        Some((id.to_string(), secret.to_string()))
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    }
}

// ====================================================================== routing

async fn handle(AxumState(app): AxumState<Arc<App>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_BODY).await;
    let raw_path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    app.record(RecordedRequest {
        method: parts.method.as_str().to_string(),
        path: raw_path.clone(),
        query: raw_query.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body
            .as_ref()
            .map(|b| b[..b.len().min(MAX_LOGGED_BODY)].to_vec())
            .unwrap_or_default(),
    });
    if !app.faults.latency.is_zero() {
        tokio::time::sleep(app.faults.latency).await;
    }
    if let Some((_, raw)) = app.faults.overrides.iter().find(|(p, _)| *p == raw_path) {
        let headers: Vec<(&str, String)> = raw
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        return util::response(raw.status, &headers, raw.body.clone());
    }
    let Ok(body) = body else {
        return util::gin_json(413, r#"{"error":"Request body too large"}"#.to_string());
    };
    let req = Req {
        method: parts.method.as_str().to_string(),
        path: util::percent_decode_lossy(&raw_path),
        query: Form::parse(raw_query.as_bytes()),
        headers: parts.headers,
        body,
    };
    route(&app, &req)
}

fn route(app: &App, req: &Req) -> Response {
    let modern = app.profile == Profile::Modern;
    let get = req.method == "GET" || req.method == "HEAD";
    let post = req.method == "POST";
    let path = req.path.as_str();
    match path {
        "/.well-known/openid-configuration" if get => discovery::openid_configuration(app),
        "/.well-known/oauth-authorization-server" if get && modern => {
            discovery::openid_configuration(app)
        }
        "/.well-known/jwks.json" if get => discovery::jwks(app),
        "/authorize" if modern && (get || post) => authorize::modern(app, req),
        "/authorize" if !modern && get => authorize::legacy_page(req),
        "/authorize" if !modern && post => authorize::legacy(app, req),
        "/interaction" if modern && get => authorize::interaction_page(app, req),
        "/api/oidc/token" if post => token::token(app, req),
        "/api/oidc/userinfo" if get || post => userinfo::userinfo(app, req),
        "/api/oidc/end-session" if get || post => {
            util::redirect(302, &format!("{}/logout", app.issuer))
        }
        _ => {
            if get
                && let Some(id) = path
                    .strip_prefix("/api/oidc/clients/")
                    .and_then(|rest| rest.strip_suffix("/meta"))
                && !id.is_empty()
                && !id.contains('/')
            {
                return discovery::client_meta(app, id);
            }
            if post
                && let Some(id) = path
                    .strip_prefix("/interaction/")
                    .and_then(|rest| rest.strip_suffix("/login"))
                && !id.contains('/')
            {
                return authorize::interaction_login(app, req, id);
            }
            if let Some(response) = admin::route(app, req) {
                return response;
            }
            not_found(path)
        }
    }
}

/// gin `NoRoute`: JSON 404 under `/api/` and `/.well-known/`, the SPA shell elsewhere.
fn not_found(path: &str) -> Response {
    if path.starts_with("/api/") || path.starts_with("/.well-known/") {
        util::gin_json(404, r#"{"error":"API endpoint not found"}"#.to_string())
    } else {
        spa::shell()
    }
}

// ====================================================================== the emulator

/// A running Pocket ID double. Dropping it shuts the server down.
pub struct Emulator {
    app: Arc<App>,
    server: Option<server::Server>,
    port: u16,
    tls: Option<(String, Vec<u8>)>,
}

impl Emulator {
    /// Binds `127.0.0.1:0` and starts serving in the background.
    pub fn start(config: Config) -> io::Result<Emulator> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let port = listener.local_addr()?.port();
        let scheme = if config.tls || config.tls_chain.is_some() {
            "https"
        } else {
            "http"
        };
        let internal = format!("{scheme}://127.0.0.1:{port}");
        let issuer = match (&config.app_host, config.split_internal_url) {
            (Some(host), _) => format!("{scheme}://{host}:{port}"),
            (None, true) => format!("{scheme}://localhost:{port}"),
            (None, false) => internal.clone(),
        };
        let key = keys::SigningKey::new(config.alg)?;
        let impostor_key = match config.faults.id_token {
            Some(TokenFault::WrongKey) => Some(key.impostor()?),
            _ => None,
        };
        let second_key = match config.faults.id_token {
            Some(TokenFault::NoKidTwoKeys) => Some(key.sibling()?),
            _ => None,
        };
        let tls = match &config.tls_chain {
            Some(chain) => Some(server::Tls {
                ca_pem: None,
                server_config: server::server_config(chain)?,
            }),
            None if config.tls => Some(server::generate_tls()?),
            None => None,
        };
        let started_at = util::now_secs();
        let version_text = config.version.clone().unwrap_or_else(|| {
            match config.profile {
                Profile::Modern => "2.14.0",
                Profile::Legacy => "2.9.0",
            }
            .to_string()
        });
        let admin_state = admin::AdminState::new(&config, started_at);
        let app = Arc::new(App {
            profile: config.profile,
            issuer,
            internal,
            key,
            impostor_key,
            second_key,
            faults: config.faults,
            allow_insecure: config.allow_insecure_callback_urls,
            session_user: config.session_user,
            started_at,
            version: admin::parse_version(&version_text).unwrap_or(admin::LATEST),
            version_text,
            emails_verified: config.emails_verified,
            state: Mutex::new(State {
                clients: config.clients,
                users: config.users,
                admin: admin_state,
                ..State::default()
            }),
            log: Mutex::new(VecDeque::new()),
        });
        let router = Router::new().fallback(handle).with_state(app.clone());
        let server = server::Server::spawn(
            listener,
            router,
            tls.as_ref().map(|t| t.server_config.clone()),
            "pocket-id-emulator",
        )?;
        Ok(Emulator {
            app,
            server: Some(server),
            port,
            tls: tls.and_then(|t| t.ca_pem),
        })
    }

    /// `APP_URL` (the issuer), without a trailing slash.
    pub fn issuer(&self) -> String {
        self.app.issuer.clone()
    }

    /// `INTERNAL_APP_URL` (token, userinfo, introspection, JWKS and PAR endpoints).
    pub fn internal_url(&self) -> String {
        self.app.internal.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn profile(&self) -> Profile {
        self.app.profile
    }

    /// The `kid` of the signing key.
    pub fn kid(&self) -> String {
        self.app.key.kid.clone()
    }

    /// The signing key's public half as a SubjectPublicKeyInfo PEM
    /// (`-----BEGIN PUBLIC KEY-----`): the HMAC key of
    /// [`TokenFault::Hs256WithPublicKey`] tokens.
    pub fn public_key_pem(&self) -> String {
        self.app.key.public_pem()
    }

    /// The private CA certificate (PEM) when serving TLS.
    pub fn ca_pem(&self) -> Option<String> {
        self.tls.as_ref().map(|(pem, _)| pem.clone())
    }

    /// The private CA certificate (DER) when serving TLS.
    pub fn ca_der(&self) -> Option<Vec<u8>> {
        self.tls.as_ref().map(|(_, der)| der.clone())
    }

    /// Every request seen so far (the most recent 10 000; bodies beyond 64 KiB
    /// are truncated).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let log = self.app.log.lock().unwrap_or_else(|p| p.into_inner());
        log.iter().cloned().collect()
    }

    pub fn clear_requests(&self) {
        self.app
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Marks a user's email verified or unverified (Admin → Users → "Mark as verified").
    pub fn set_user_email_verified(&self, username: &str, verified: bool) {
        let mut st = self.app.state();
        for user in st.users.iter_mut().filter(|u| u.username == username) {
            user.email_verified = verified;
        }
    }

    /// The version the admin API behaves as (see [`Config::version`]).
    pub fn version(&self) -> String {
        self.app.version_text.clone()
    }

    /// A client as it is now (after any admin-API writes).
    pub fn client(&self, id: &str) -> Option<Client> {
        self.app.state().client(id)
    }

    /// Every client, in creation order.
    pub fn clients(&self) -> Vec<Client> {
        self.app.state().clients.clone()
    }

    /// A user as it is now (after any admin-API writes).
    pub fn user(&self, username: &str) -> Option<User> {
        self.app.state().user(username)
    }

    /// A user with its admin-only account fields.
    pub fn account(&self, username: &str) -> Option<UserAccount> {
        let st = self.app.state();
        let user = st.user(username)?;
        Some(st.admin.account(&user))
    }

    /// Whether the token endpoint accepts `secret` for `client_id` now.
    pub fn secret_is_valid(&self, client_id: &str, secret: &str) -> bool {
        self.app.state().secret_ok(client_id, secret)
    }

    /// The admin-API writes received so far (POST, PUT, PATCH and DELETE
    /// requests under `/api/` that carry an `X-API-Key`), bodies as sent.
    pub fn admin_writes(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| {
                matches!(r.method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE")
                    && r.path.starts_with("/api/")
                    && r.header("x-api-key").is_some()
            })
            .collect()
    }

    /// The client's current callback URLs (legacy TOFU can append one).
    pub fn callback_urls(&self, client_id: &str) -> Vec<String> {
        self.app
            .state()
            .client(client_id)
            .map(|c| c.callback_urls)
            .unwrap_or_default()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // Stops the runtime and joins the server thread.
        drop(self.server.take());
    }
}

#[cfg(test)]
mod tests;
