//! Checks: each returns findings and nothing else. Rendering is in `report`.

pub mod config;
