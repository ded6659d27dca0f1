//! OpenID Connect: the documents as the checks read them, and the steps of
//! the login test's authorization-code flow.

pub mod authcode;
pub mod discovery;
pub mod id_token;
pub mod jwk;
pub mod loopback;
pub mod py;
