//! # zoolab-web
//!
//! The playground in the browser: Yew views and a reducer over `zoolab-core`'s
//! simulator. All protocol logic lives in the core; this crate only draws the world
//! and turns the user's clicks into actions on it.
//!
//! `www/index.html` loads the wasm module and calls [`start`] (for any page but `/#live`,
//! which loads `zoolab-live`'s bundle instead).

pub mod codec;
pub mod components;
mod determinism;
pub mod exercise_file;
pub mod library;
pub mod migview;
pub mod profile;
pub mod state;
pub mod view;
pub mod worldedit;

use wasm_bindgen::prelude::*;

/// Mounts the playground on the page's `#app` element (or on `<body>` when absent),
/// once a link in the address bar is inflated and the exercise it names fetched
/// (`Source::prepare`). Live mode (`/#live`) is another bundle, `zoolab-live` (`web/live/`).
#[wasm_bindgen]
pub async fn start() {
    let hash = gloo::utils::window().location().hash().unwrap_or_default();
    let hash = hash.trim_start_matches('#');
    if !hash.is_empty() {
        state::Source::Link(hash.to_string()).prepare().await;
    }
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
    //! The reducer and the components in a real browser (headless Chromium via
    //! wasm-bindgen-test).
    use super::components::{invariants_panel, timeline, App, InvariantsProps, TimelineProps};
    use super::state::{Action, Playground, Source, FRESH_1S_HASH};
    use super::view;
    use wasm_bindgen::JsCast;
    use wasm_bindgen_test::*;
    use yew::prelude::*;

    wasm_bindgen_test_configure!(run_in_browser);

    /// Lets yew render (100 ms: 40 ms was not always enough for the debug build with
    /// the machine's two cores busy).
    async fn settle() {
        gloo::timers::future::TimeoutFuture::new(100).await;
    }

    /// Waits (up to 2 s) until `css` matches in `root`: a child component renders in a
    /// task of its own after the App, later than `settle` on a loaded machine.
    async fn wait_for(root: &web_sys::Element, css: &str) {
        for _ in 0..100 {
            if root.query_selector(css).unwrap().is_some() {
                return;
            }
            gloo::timers::future::TimeoutFuture::new(20).await;
        }
    }

    fn mount() -> web_sys::Element {
        let document = gloo::utils::document();
        let root = document.create_element("div").unwrap();
        document.body().unwrap().append_child(&root).unwrap();
        root
    }

    fn all(root: &web_sys::Element, css: &str) -> Vec<web_sys::Element> {
        let list = root.query_selector_all(css).unwrap();
        (0..list.length()).map(|i| list.item(i).unwrap().dyn_into::<web_sys::Element>().unwrap()).collect()
    }

    fn click(root: &web_sys::Element, css: &str) {
        let e: web_sys::HtmlElement =
            root.query_selector(css).unwrap().unwrap_or_else(|| panic!("{css}")).dyn_into().unwrap();
        e.click();
    }

    fn text(root: &web_sys::Element, css: &str) -> String {
        root.query_selector(css).unwrap().unwrap_or_else(|| panic!("{css}")).text_content().unwrap()
    }

    #[wasm_bindgen_test]
    fn the_reducer_runs_the_core_in_wasm_with_the_native_trace_hash() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::RunFor(1_000));
        assert!(p.world().leader(0).is_some() && p.world().leader(1).is_some());
        assert_eq!(p.trace_hash(), FRESH_1S_HASH, "the same scenario, the same trace, natively and in wasm");
        p.apply(Action::Share);
        let q = Playground::open(&Source::Link(p.link.clone().unwrap())).unwrap();
        assert_eq!(q.trace_hash(), p.trace_hash());
    }

    #[wasm_bindgen_test]
    async fn the_app_draws_the_clusters_and_the_controls_act_on_the_run() {
        let root = mount();
        yew::Renderer::<App>::with_root(root.clone()).render();
        settle().await;
        assert_eq!(all(&root, ".cluster").len(), 2);
        assert_eq!(all(&root, ".server").len(), 8);
        assert!(all(&root, ".server").iter().all(|e| e.get_attribute("data-role").unwrap() == "LOOKING"));
        assert_eq!(all(&root, ".invariants li.holds").len(), 6);

        click(&root, "#run");
        settle().await;
        let leaders = all(&root, ".server[data-role='LEADING']");
        assert_eq!(leaders.len(), 2, "one leader per cluster");
        assert_eq!(text(&root, "#trace-hash"), format!("trace {FRESH_1S_HASH:016x}"));
        assert!(text(&root, "[data-cluster='a'] .rule").starts_with("new epoch = max("));

        // Kill a's leader with its card's button; it is drawn down, with a cross.
        let a_leader = all(&root, "[data-cluster='a'] .server[data-role='LEADING']")[0]
            .get_attribute("data-server")
            .unwrap();
        click(&root, &format!(".server[data-server='{a_leader}'] .kill"));
        settle().await;
        assert_eq!(
            root.query_selector(&format!(".server[data-server='{a_leader}']"))
                .unwrap()
                .unwrap()
                .get_attribute("data-role")
                .unwrap(),
            "DOWN"
        );
        assert_eq!(all(&root, ".node-cross").len(), 1);

        // The keyboard: → steps one event, space plays and pauses.
        let before = text(&root, "#position");
        let key = |k: &str| {
            let init = web_sys::KeyboardEventInit::new();
            init.set_key(k);
            init.set_bubbles(true);
            let e = web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
            gloo::utils::document().body().unwrap().dispatch_event(&e).unwrap();
        };
        key("ArrowRight");
        settle().await;
        assert_ne!(text(&root, "#position"), before);
        key(" ");
        settle().await;
        assert!(text(&root, "#play").contains("Pause"));
        gloo::timers::future::TimeoutFuture::new(350).await;
        key(" ");
        settle().await;
        assert!(text(&root, "#play").contains("Play"));
        let sc = text(&root, "#scenario-text");
        assert!(sc.contains("\nstep\nrun "), "play ticks are steps of the scenario (merged runs): {sc}");

        // The inspector opens on a click.
        click(&root, ".server[data-server='a1']");
        settle().await;
        assert!(text(&root, ".inspector h2").contains("a1"));
        root.remove();
    }

    #[wasm_bindgen_test]
    async fn the_migration_panel_starts_and_steps_a_migration_as_scenario_steps() {
        let root = mount();
        yew::Renderer::<App>::with_root(root.clone()).render();
        settle().await;
        let strategies: Vec<String> =
            all(&root, "#mig-via option").iter().map(|o| o.get_attribute("value").unwrap()).collect();
        assert_eq!(
            strategies,
            crate::migview::strategies().iter().map(|(w, _)| w.to_string()).collect::<Vec<_>>()
        );
        click(&root, "#run");
        settle().await;
        click(&root, "#mig-start");
        settle().await;
        wait_for(&root, "#mig-run-until").await;
        let phase = |root: &web_sys::Element| {
            root.query_selector("#migration").unwrap().unwrap().get_attribute("data-phase").unwrap()
        };
        assert_eq!(phase(&root), "draft");
        assert_eq!(all(&root, "#mig-phases li").len(), 10);
        assert_eq!(all(&root, "#mig-phases li.current.open").len(), 1, "draft's gate holds at once");
        click(&root, "#mig-step");
        settle().await;
        assert_eq!(phase(&root), "preflight");
        assert_eq!(all(&root, "#mig-rules li.holds").len(), 5);
        let sc = text(&root, "#scenario-text");
        assert!(sc.contains("migrate a -> b via snapshot\nmigration step\n"), "{sc}");
        // The inspector's sessions and the tree comparison.
        click(&root, ".server[data-server='a1']");
        settle().await;
        assert!(text(&root, "#sessions h3").contains("a1"));
        click(&root, "#cmp-go");
        settle().await;
        assert!(text(&root, "#cmp-result").contains("a1"), "{}", text(&root, "#cmp-result"));
        root.remove();
    }

    #[wasm_bindgen_test]
    async fn a_cluster_draws_its_clients_and_their_messages_on_their_way() {
        use super::components::{cluster_panel, ClusterProps};
        use super::view::ClusterView;
        #[derive(Properties, PartialEq)]
        struct Props {
            cluster: ClusterView,
        }
        #[function_component(One)]
        fn one(props: &Props) -> Html {
            cluster_panel(&ClusterProps {
                cluster: props.cluster.clone(),
                selected: None,
                on_action: Callback::noop(),
                lock: None,
            })
        }
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::RunFor(1_000));
        p.apply(Action::Command(view::network_statement("1", "5", "0", "0", "30")));
        p.apply(Action::Command("you_a: create /x 1".into()));
        let mut cluster = None;
        for _ in 0..400 {
            p.apply(Action::StepEvent);
            let a = view::clusters(&p).remove(0);
            if a.client_messages.iter().any(|m| m.kind == "REQUEST") {
                cluster = Some(a);
                break;
            }
        }
        let cluster = cluster.expect("the request is drawn on its way");
        let root = mount();
        yew::Renderer::<One>::with_root_and_props(root.clone(), Props { cluster }).render();
        settle().await;
        assert_eq!(all(&root, ".client-node[data-client='you_a']").len(), 1);
        assert_eq!(all(&root, ".client-link").len(), 1, "its connection to its server");
        let msgs = all(&root, ".cmsg.c-request[data-kind='REQUEST']");
        assert_eq!(msgs.len(), 1);
        let label = msgs[0].query_selector("text").unwrap().unwrap().text_content().unwrap();
        assert_eq!(label, "create", "labelled, not only coloured");
        assert!(msgs[0]
            .query_selector("title")
            .unwrap()
            .unwrap()
            .text_content()
            .unwrap()
            .contains("create /x 1"));
        root.remove();
    }

    #[wasm_bindgen_test]
    async fn the_network_form_and_the_migration_choices_append_statements() {
        let root = mount();
        yew::Renderer::<App>::with_root(root.clone()).render();
        settle().await;
        // The network form, opened from the menu's last choice, prefilled.
        let select: web_sys::HtmlSelectElement =
            root.query_selector("#network").unwrap().unwrap().dyn_into().unwrap();
        select.set_value("custom");
        select.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
        settle().await;
        let client: web_sys::HtmlInputElement =
            root.query_selector("#net-client").unwrap().unwrap().dyn_into().unwrap();
        assert_eq!(client.value(), "0");
        client.set_value("15");
        click(&root, "#net-apply");
        settle().await;
        assert!(all(&root, "#network-form").is_empty(), "closed once set");
        assert!(text(&root, "#scenario-text")
            .contains("change network latency 1ms..5ms loss 0% duplicate 0% client latency 15ms"));
        // The migration form: into and on conflict; Run to the next gate.
        click(&root, "#run");
        settle().await;
        let input = |css: &str| -> web_sys::HtmlInputElement {
            root.query_selector(css).unwrap().unwrap().dyn_into().unwrap()
        };
        input("#mig-subtree").set_value("/app");
        input("#mig-into").set_value("/copy");
        let conflict: web_sys::HtmlSelectElement =
            root.query_selector("#mig-conflict").unwrap().unwrap().dyn_into().unwrap();
        conflict.set_value("overwrite");
        conflict.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
        settle().await;
        click(&root, "#mig-start");
        settle().await;
        wait_for(&root, "#mig-run-until").await;
        assert!(text(&root, "#scenario-text")
            .contains("migrate a -> b via snapshot subtree /app into /copy on conflict overwrite\n"));
        assert!(text(&root, "#mig-run-until").contains("to the next gate (preflight)"));
        click(&root, "#mig-run");
        settle().await;
        assert!(text(&root, "#scenario-text").contains("\nmigration run until preflight\n"));
        assert_eq!(
            root.query_selector("#migration").unwrap().unwrap().get_attribute("data-phase").unwrap(),
            "preflight"
        );
        root.remove();
    }

    #[wasm_bindgen_test]
    async fn the_panels_render_their_properties() {
        let root = mount();
        #[function_component(Panels)]
        fn panels() -> Html {
            let mut p = Playground::open(&Source::Fresh).unwrap();
            p.apply(Action::RunFor(300));
            html! {
                <>
                    { invariants_panel(&InvariantsProps { invariants: view::invariants(p.world()) }) }
                    { timeline(&TimelineProps { position: 5, head: 10, time_ms: 300, trace: vec!["t=1 x".to_string()],
                                                spacetime: view::spacetime(&p), on_action: Callback::noop() }) }
                </>
            }
        }
        yew::Renderer::<Panels>::with_root(root.clone()).render();
        settle().await;
        assert_eq!(all(&root, ".invariants li").len(), 6);
        assert_eq!(text(&root, "#position"), "event 5 / 10 · t = 300 ms");
        assert_eq!(all(&root, "#trace li").len(), 1);
        assert_eq!(all(&root, ".spacetime .lane").len(), 3);
        assert!(!all(&root, ".spacetime .st-msg").is_empty());
        root.remove();
    }

    #[wasm_bindgen_test]
    fn exercises_grade_and_lock_in_wasm_as_natively() {
        use super::state::{ExerciseRun, LinkKind};
        use zoolab_core::scenario::classroom::Control;
        let mut p = Playground::open(&Source::Exercise("break-the-quorum".into())).unwrap();
        p.apply(Action::TeacherLink(vec![Control::Kill, Control::Client]));
        assert_eq!(p.link_kind, LinkKind::Teacher);
        let mut s = Playground::open(&Source::Link(p.link.clone().unwrap())).unwrap();
        assert!(s.lock().is_some() && !s.allows(Control::Partition));
        for line in ["kill a3", "kill a4", "kill a5", "c1: create /stalled x", "run 5s"] {
            s.apply(Action::Command(line.into()));
        }
        s.apply(Action::Command("heal".into()));
        assert!(s.banner.is_some(), "heal is locked");
        s.apply(Action::Submit);
        assert!(s.exercise.as_ref().is_some_and(ExerciseRun::solved));
        let again = Playground::open(&Source::Link(s.link.clone().unwrap())).unwrap();
        assert_eq!(again.lock(), s.lock(), "the lock survives the submit link");
    }

    #[wasm_bindgen_test]
    async fn the_exercise_pane_checks_goals_and_reveals_hints() {
        use super::components::{exercise_pane, PaneProps};
        use super::state::ExerciseRun;
        #[derive(Properties, PartialEq)]
        struct Props {
            run: ExerciseRun,
        }
        #[function_component(Pane)]
        fn pane(props: &Props) -> Html {
            exercise_pane(&PaneProps { run: props.run.clone(), lock: None, on_action: Callback::noop() })
        }
        let mut p = Playground::open(&Source::Exercise("break-the-quorum".into())).unwrap();
        p.apply(Action::Command("kill a5".into()));
        p.apply(Action::Hint);
        p.apply(Action::Check);
        let root = mount();
        yew::Renderer::<Pane>::with_root_and_props(root.clone(), Props { run: p.exercise.clone().unwrap() })
            .render();
        settle().await;
        assert_eq!(all(&root, "#goals li").len(), 4);
        assert!(!all(&root, "#goals li.fail").is_empty());
        assert!(text(&root, "#verdict").starts_with("✗ Not yet"));
        assert_eq!(all(&root, "#hints li").len(), 1);
        assert!(text(&root, "#hint").contains("1 of 2"));
        assert!(all(&root, "#explanation").is_empty(), "no explanation before it is solved");
        assert!(!all(&root, "#instructions p").is_empty(), "the Markdown is rendered");
        root.remove();
    }
}
