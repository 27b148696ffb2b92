//! Helpers for the end-to-end tests live in `tests/e2e/` modules; this crate has no library API.
