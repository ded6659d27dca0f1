//! The tests, a module per subject.

mod colors;
mod completions;
mod emit_env;
mod generated;
mod hostile_input;
mod input_files;
mod json_report;
mod login;
mod malformed;
mod network_checks;
mod non_utf8;
mod peer_smoke;
mod pocketid_api;
mod progress;
mod readme;
mod redirect_uri;
mod romm_agreement;
mod romm_log;
mod romm_users;
mod secrets;
mod secrets_never_shown;
mod static_checks;
mod tls;
mod untrusted;
mod wizard;
mod write_target;
