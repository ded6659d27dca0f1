//! The harness the cases share.

pub mod certs;
pub mod compose_dotenv;
pub mod everything;
pub mod peer;
pub mod romm_double;
pub mod sandbox;
