//! One setup in which the doctor uses every secret it can hold: a Pocket ID
//! emulator with an admin API key and a confidential client (whose callbacks
//! include the login test's loopback one), and a RomM double with users, read
//! with an admin's password or a `users.read` client token. With `--login` the
//! run also gets an authorization code, an ID token and an access token.

use pocket_id_emulator::{
    Client, Config, Emulator, Faults, RommClientToken, RommConfig, RommEmulator, RommUser,
};

use std::path::Path;

use super::browser;
use super::emulator;
use super::sandbox::Args;

pub const CLIENT_ID: &str = "romm";
pub const CLIENT_SECRET: &str = "Cs-4hV9qLz2WmX7pRt3K-everything";
pub const API_KEY: &str = "Ak-8nB1vCx5ZsQ0yTw6J-everything";
pub const ROMM_PASSWORD: &str = "Pw-3dF7gHj2KlM9nBv5C-everything";
pub const ROMM_TOKEN: &str = "rmm_5e1f2a3b4c5d6e7f8091a2b3c4d5e6f70f1e2d3c4b5a69788796a5b4c3d2e1f0";
pub const REDIRECT_URI: &str = "https://romm.example.com/api/oauth/openid";
/// Every secret given to the tool; the ones it gets during a run are in
/// [`Everything::issued`].
pub const GIVEN: &[&str] = &[CLIENT_SECRET, API_KEY, ROMM_PASSWORD, ROMM_TOKEN];

pub struct Everything {
    pub pocket_id: Emulator,
    pub romm: RommEmulator,
}

impl Everything {
    pub fn start() -> Everything {
        Everything::with_faults(Faults::default())
    }

    /// The same setup, the provider misbehaving as `faults` say.
    pub fn with_faults(faults: Faults) -> Everything {
        let pocket_id = emulator::pocket_id(
            Config {
                faults,
                clients: vec![Client {
                    name: "RomM".into(),
                    ..Client::confidential(
                        CLIENT_ID,
                        CLIENT_SECRET,
                        &[REDIRECT_URI, "http://127.0.0.1/callback"],
                    )
                }],
                ..Config::default()
            }
            .with_admin_api_key(API_KEY),
        );
        let issuer = pocket_id.issuer();
        let env = [
            ("OIDC_ENABLED", "true"),
            ("OIDC_PROVIDER", "pocket-id"),
            ("OIDC_CLIENT_ID", CLIENT_ID),
            ("OIDC_CLIENT_SECRET", CLIENT_SECRET),
            ("OIDC_REDIRECT_URI", REDIRECT_URI),
            ("OIDC_SERVER_APPLICATION_URL", issuer.as_str()),
        ];
        let romm = emulator::romm(RommConfig {
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            users: vec![
                RommUser::new("admin", Some("admin@example.com"), ROMM_PASSWORD, "admin"),
                RommUser::new("alice", Some("alice@example.com"), "alice-pw", "user"),
            ],
            client_tokens: vec![RommClientToken {
                token: ROMM_TOKEN.into(),
                username: "admin".into(),
                scopes: vec!["users.read".into()],
            }],
            ..RommConfig::default()
        });
        Everything { pocket_id, romm }
    }

    /// RomM's settings, the client secret given with `--client-secret`.
    pub fn settings(&self) -> Args {
        Args::new()
            .set("--issuer", &self.pocket_id.issuer())
            .set("--client-id", CLIENT_ID)
            .set("--client-secret", CLIENT_SECRET)
            .set("--redirect-uri", REDIRECT_URI)
            .set("--romm-url", &self.romm.base_url())
    }

    /// `doctor` with every secret: the API key, RomM access by password
    /// (`ROMM_PASSWORD`, see [`Everything::env`]) and a real login, whose
    /// browser stand-in logs (the callback URL, code included) to
    /// `dir/browser.log`, not to the doctor's stderr.
    pub fn doctor(&self, dir: &Path) -> Args {
        let browser = browser::logged(&dir.join("browser.log"), None);
        self.settings()
            .set("--pocket-id-api-key", API_KEY)
            .set("--romm-username", "admin")
            .set("--email", "alice@example.com")
            .flag("--login")
            .set("--listen", "127.0.0.1:0")
            .set("--login-timeout", "20")
            .set("--browser-command", &browser)
    }

    /// The environment the runs need: the peers on loopback, RomM's password.
    pub fn env() -> Vec<(&'static str, &'static str)> {
        vec![
            ("NO_PROXY", "127.0.0.1,localhost"),
            ("ROMM_PASSWORD", ROMM_PASSWORD),
        ]
    }

    /// What the provider issued to the tool so far and the tool sent back:
    /// the login's authorization codes (exchanged with the loopback callback;
    /// the credential probe sends a made-up one to RomM's), every bearer
    /// token presented.
    pub fn issued(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in self.pocket_id.requests() {
            if r.method == "POST"
                && r.path.ends_with("/token")
                && r.form_value("redirect_uri")
                    .is_some_and(|u| u.starts_with("http://127.0.0.1:"))
                && let Some(code) = r.form_value("code")
            {
                out.push(code);
            }
            if let Some(bearer) = r
                .header("authorization")
                .and_then(|h| h.strip_prefix("Bearer "))
            {
                out.push(bearer.to_string());
            }
        }
        out
    }
}
