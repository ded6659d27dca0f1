//! OpenID Connect documents as the checks read them.

pub mod discovery;
