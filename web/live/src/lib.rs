//! # zoolab-live
//!
//! Live mode (`/#live`): a running ensemble as `zoolab play --attach` polls it, drawn in
//! the playground's visual language. It runs no simulator and knows nothing of the
//! protocol, so it is a bundle of its own: `www/index.html` loads it (and `live.css`)
//! for `/#live` only, and the playground's bundle (`zoolab-web`) carries none of it.

pub mod app;
pub mod data;

pub use app::LiveApp;

use wasm_bindgen::prelude::*;

/// Mounts live mode on the page's `#app` element (or on `<body>` when absent).
#[wasm_bindgen]
pub fn start() {
    match gloo::utils::document().get_element_by_id("app") {
        Some(root) => yew::Renderer::<LiveApp>::with_root(root).render(),
        None => yew::Renderer::<LiveApp>::new().render(),
    };
}

// Its tests run in headless Chromium, as the playground's do (`make test-wasm`).
#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
