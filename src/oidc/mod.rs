//! OpenID Connect documents as the checks read them.

pub mod discovery;
pub mod id_token;
pub mod jwk;
pub mod loopback;
pub mod py;
