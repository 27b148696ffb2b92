//! # zoolab-web
//!
//! The playground in the browser: Yew views and a reducer over `zoolab-core`'s
//! simulator. All protocol logic lives in the core; this crate only draws the world
//! and turns the user's clicks into actions on it.
//!
//! `www/index.html` loads the wasm module and calls [`start`].

pub mod components;
mod determinism;
pub mod state;

use wasm_bindgen::prelude::*;

/// Mounts the playground on the page's `#app` element (or on `<body>` when absent).
#[wasm_bindgen]
pub fn start() {
    let document = gloo::utils::document();
    match document.get_element_by_id("app") {
        Some(root) => {
            yew::Renderer::<components::App>::with_root(root).render();
        }
        None => {
            yew::Renderer::<components::App>::new().render();
        }
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod browser_tests {
    //! The app rendered by Yew in a real browser (headless Chromium via wasm-bindgen-test).
    use super::components::App;
    use super::state::{Action, Playground};
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::*;
    use zoolab_core::sim::Role;

    wasm_bindgen_test_configure!(run_in_browser);

    async fn settle() {
        gloo::timers::future::TimeoutFuture::new(30).await;
    }

    fn roles(root: &web_sys::Element) -> Vec<String> {
        let cards = root.query_selector_all(".server").unwrap();
        (0..cards.length())
            .map(|i| cards.item(i).unwrap().dyn_into::<web_sys::Element>().unwrap())
            .map(|e| e.get_attribute("data-role").unwrap())
            .collect()
    }

    #[wasm_bindgen_test]
    fn the_reducer_runs_the_core_in_wasm() {
        let p = Playground::default().apply(Action::Run(1_000));
        assert_eq!(p.servers().iter().filter(|s| s.role == Role::Leading).count(), 1);
    }

    #[wasm_bindgen_test]
    async fn the_app_renders_the_cores_servers_and_a_click_elects_a_leader() {
        let document = gloo::utils::document();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        yew::Renderer::<App>::with_root(root.clone()).render();
        settle().await;
        assert_eq!(roles(&root), vec!["LOOKING"; 3]);

        let click = |css: &str| {
            let e: web_sys::HtmlElement = root.query_selector(css).unwrap().unwrap().dyn_into().unwrap();
            e.click();
        };
        click("#run");
        settle().await;
        let after = roles(&root);
        assert_eq!(after.iter().filter(|r| *r == "LEADING").count(), 1, "{after:?}");
        assert_eq!(after.iter().filter(|r| *r == "FOLLOWING").count(), 2, "{after:?}");
        assert!(root.query_selector_all("#trace li").unwrap().length() > 0);

        // The page shows what the core computes: the same actions on a bare Playground agree.
        let expected = Playground::default().apply(Action::Run(1_000));
        let hash = root.query_selector("#trace-hash").unwrap().unwrap().text_content().unwrap();
        assert_eq!(hash, format!("trace {:016x}", expected.trace_hash()));

        // Kill the leader through its own card's button: it goes DOWN.
        let leader = expected.servers().into_iter().find(|s| s.role == Role::Leading).unwrap().id;
        click(&format!("[data-server='{leader}'] .server-action"));
        settle().await;
        assert_eq!(roles(&root).iter().filter(|r| *r == "DOWN").count(), 1);
        root.remove();
    }
}
