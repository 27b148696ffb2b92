use super::use_value;
use crate::components::{
    cluster_panel, exercise_list, exercise_pane, invariants_panel, sessions, timeline, ClusterProps,
    CompareTrees, InspectorProps, InvariantsProps, ListProps, MigrationPanel, PaneProps, SessionsProps,
    TimelineProps, ZkConsole,
};
use crate::library::SCENARIOS;
use crate::migview;
use crate::state::{
    Action, Banner, LinkKind, Model, Playground, Progress, Source, PROGRESS_KEY, SPEEDS, STEP_KINDS,
    TOPOLOGIES,
};
use crate::view;
use gloo::events::EventListener;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use zoolab_core::scenario::classroom::Control;

/// While playing, the space-time diagram is drawn again at most this often (real
/// milliseconds): ten times a second.
const SPACETIME_PLAY_MS: f64 = 100.0;

/// The browser's local storage, when the page may use it.
fn storage() -> Option<web_sys::Storage> {
    gloo::utils::window().local_storage().ok().flatten()
}

/// The student's exercise progress as this browser kept it.
pub fn stored_progress() -> Progress {
    storage()
        .and_then(|s| s.get_item(PROGRESS_KEY).ok().flatten())
        .map_or_else(Progress::default, |t| Progress::parse(&t))
}

/// Opens what the URL's fragment names (a share link), or the first-visit scenario;
/// a link that does not open leaves the first-visit scenario and a banner saying why.
pub fn initial() -> Playground {
    let mut p = initial_run();
    p.progress = stored_progress();
    p
}

fn initial_run() -> Playground {
    let hash = gloo::utils::window().location().hash().unwrap_or_default();
    let hash = hash.trim_start_matches('#');
    if hash.is_empty() {
        return Playground::open(&Source::Fresh).expect("the first-visit scenario opens");
    }
    match Playground::open(&Source::Link(hash.to_string())) {
        Ok(p) => p,
        Err(e) => {
            let mut p = Playground::open(&Source::Fresh).expect("the first-visit scenario opens");
            p.banner = Some(Banner::Error(e));
            p
        }
    }
}

/// The frame loop's callback, shared with the loop (which re-requests it each frame).
type FrameCallback = Rc<RefCell<Option<Closure<dyn FnMut(f64)>>>>;

/// Calls its function at every animation frame (`requestAnimationFrame`) with the real
/// time since the previous frame, in microseconds, until dropped.
struct FrameLoop {
    id: Rc<Cell<i32>>,
    callback: FrameCallback,
}

impl FrameLoop {
    fn start(mut f: impl FnMut(u32) + 'static) -> FrameLoop {
        let id = Rc::new(Cell::new(0));
        let callback: FrameCallback = Rc::default();
        let mut last: Option<f64> = None;
        let (next_id, next) = (id.clone(), Rc::downgrade(&callback));
        *callback.borrow_mut() = Some(Closure::new(move |t: f64| {
            crate::profile::mark(0);
            if let Some(l) = last {
                f(((t - l).max(0.0) * 1_000.0) as u32);
            }
            last = Some(t);
            if let Some(cb) = next.upgrade() {
                if let Some(cb) = cb.borrow().as_ref() {
                    next_id.set(request_frame(cb));
                }
            }
        }));
        if let Some(cb) = callback.borrow().as_ref() {
            id.set(request_frame(cb));
        }
        FrameLoop { id, callback }
    }
}

fn request_frame(cb: &Closure<dyn FnMut(f64)>) -> i32 {
    gloo::utils::window().request_animation_frame(cb.as_ref().unchecked_ref()).unwrap_or(0)
}

impl Drop for FrameLoop {
    fn drop(&mut self) {
        let _ = gloo::utils::window().cancel_animation_frame(self.id.get());
        self.callback.borrow_mut().take();
    }
}

fn typing_in_a_field(e: &web_sys::KeyboardEvent) -> bool {
    e.target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "SELECT" | "TEXTAREA" | "BUTTON"))
}

/// The whole playground.
#[function_component(App)]
pub fn app() -> Html {
    crate::profile::mark(2);
    let model = use_reducer(|| Model::new(initial()));
    // The frame's profile, when the benchmark asks for it (`profile.rs`): after every render.
    use_effect(crate::profile::done);
    // Opening a built-in or a link waits, in the page, for its text to be fetched or the
    // link to be inflated (`Source::prepare`); everything else is dispatched at once.
    let dispatch = {
        let model = model.clone();
        Callback::from(move |a: Action| match a {
            Action::Open(source) if source.needs_preparing() => {
                let model = model.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    source.prepare().await;
                    model.dispatch(Action::Open(source));
                });
            }
            a => model.dispatch(a),
        })
    };
    let pg = model.pg.borrow();
    let playing = pg.playing;
    // While playing, the space-time diagram is drawn anew at most every
    // `SPACETIME_PLAY_MS` of real time (at high speed its 90 columns all change every
    // frame, faster than anyone can read them, and were about half the page's DOM
    // changes); paused or stepping, it shows the step shown.
    let spacetime_shown = use_mut_ref(|| (f64::NEG_INFINITY, None::<view::SpaceTime>));
    let spacetime = {
        let mut shown = spacetime_shown.borrow_mut();
        let now = crate::profile::now();
        match &shown.1 {
            Some(st) if playing && now - shown.0 < SPACETIME_PLAY_MS => st.clone(),
            _ => {
                let st = view::spacetime(&pg);
                *shown = (now, Some(st.clone()));
                st
            }
        }
    };

    // Play: one `Action::Frame` per animation frame while playing (`Playground::frame`
    // runs the ticks due within the frame's budget, so the page keeps drawing).
    {
        let dispatch = dispatch.clone();
        use_effect_with(playing, move |&playing| {
            let frames = playing.then(|| FrameLoop::start(move |us| dispatch.emit(Action::Frame(us))));
            move || drop(frames)
        });
    }
    // Keyboard: space plays or pauses, → steps one event, ← goes back one.
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&gloo::utils::document(), "keydown", move |e| {
                let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else { return };
                if typing_in_a_field(e) || e.ctrl_key() || e.meta_key() || e.alt_key() {
                    return;
                }
                match e.key().as_str() {
                    " " => {
                        e.prevent_default();
                        dispatch.emit(Action::TogglePlay);
                    }
                    "ArrowRight" => {
                        e.prevent_default();
                        dispatch.emit(Action::StepEvent);
                    }
                    "ArrowLeft" => {
                        e.prevent_default();
                        dispatch.emit(Action::Back);
                    }
                    _ => {}
                }
            });
            move || drop(listener)
        });
    }
    // A link pasted into the address bar of an open page (only the fragment changes).
    {
        let dispatch = dispatch.clone();
        use_effect_with((), move |_| {
            let listener = EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
                let hash = gloo::utils::window().location().hash().unwrap_or_default();
                let hash = hash.trim_start_matches('#');
                if !hash.is_empty() {
                    dispatch.emit(Action::Open(Source::Link(hash.to_string())));
                }
            });
            move || drop(listener)
        });
    }
    // A link asked for, in the page: the browser deflates it (`codec.rs`), then it is shown.
    {
        let model = model.clone();
        let dispatch = dispatch.clone();
        use_effect_with(pg.sealings, move |_| {
            // The request is numbered as the model is now (it may have moved on since
            // this render): `Action::Linked` shows the latest one only.
            let (sealing, n) = {
                let mut pg = model.pg.borrow_mut();
                (pg.sealing.take(), pg.sealings)
            };
            if let Some((payload, kind)) = sealing {
                wasm_bindgen_futures::spawn_local(async move {
                    dispatch.emit(Action::Linked(kind, n, crate::codec::deflate(&payload).await));
                });
            }
        });
    }
    // Share: the link goes into the URL's fragment and, when allowed, the clipboard.
    {
        let link = pg.link.clone();
        use_effect_with(link, move |link| {
            if let Some(l) = link {
                let w = gloo::utils::window();
                if let Ok(h) = w.history() {
                    let _ =
                        h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("#{l}")));
                }
                let _ = w.navigator().clipboard().write_text(&format!(
                    "{}{}#{l}",
                    w.location().origin().unwrap_or_default(),
                    w.location().pathname().unwrap_or_default()
                ));
            }
        });
    }

    // The exercise progress goes back to local storage whenever a check changes it.
    {
        let text = pg.progress.to_text();
        use_effect_with(text, move |text| {
            if let Some(s) = storage() {
                if !text.is_empty() {
                    let _ = s.set_item(PROGRESS_KEY, text);
                }
            }
        });
    }

    let locked = pg.lock().cloned();
    // The client console: the cluster chosen (else the first with a client) and its view.
    let names = pg.clusters();
    let (console_cluster, console_client) = pg.console.clone().unwrap_or_default();
    let console_cluster = if names.contains(&console_cluster) {
        console_cluster
    } else {
        names
            .iter()
            .find(|n| !view::clients_of(&pg, n).is_empty())
            .or(names.first())
            .cloned()
            .unwrap_or_default()
    };
    let console_view = view::console(&pg, &console_cluster, console_client.as_deref());
    let complete = {
        let pg = model.pg.clone();
        Callback::from(move |(client, line): (String, String)| view::complete(&pg.borrow(), &client, &line))
    };
    let hide = |c: Control| (!pg.allows(c)).then_some("locked");
    let button = |id: &'static str, label: &str, title: &'static str, action: Action, disabled: bool| {
        let dispatch = dispatch.clone();
        html! {
            <button id={id} {title} {disabled} onclick={Callback::from(move |_| dispatch.emit(action.clone()))}>{ label }</button>
        }
    };
    let clusters = view::clusters(&pg);
    let migration_broken = migview::violation(&pg);
    let halted = pg.world().violation().is_some() || migration_broken.is_some();
    let on_speed = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            if let Ok(i) = s.value().parse() {
                dispatch.emit(Action::SetSpeed(i));
            }
        })
    };
    let scenario = pg.scenario();
    let title = scenario.title.clone().unwrap_or_else(|| "untitled scenario".into());
    let seed = scenario.seed;
    let on_seed = {
        let dispatch = dispatch.clone();
        Callback::from(move |e: Event| {
            let s: HtmlInputElement = e.target_unchecked_into();
            match s.value().trim().parse() {
                Ok(v) => dispatch.emit(Action::Reseed(v)),
                Err(_) => s.set_value(&seed.to_string()),
            }
        })
    };
    let page = html! {
        <main class={classes!("playground", pg.in_past().then_some("past"))}>
            <header class="topbar">
                <h1 title="zoolab: a ZooKeeper laboratory">{ "zoolab" }</h1>
                <span class="scenario-title" id="scenario-title" title="The scenario this run started from">{ title }</span>
                if locked.is_none() {
                    <ScenarioMenu origin={pg.origin.clone()} on_action={dispatch.clone()} />
                } else {
                    <span class="locked-badge" id="locked-badge" title="Your teacher's link fixes the world: topology, seed, network and the controls this exercise does not need">{ "🔒 classroom mode" }</span>
                }
                <button id="share" class="primary" title="Copy a link that reopens exactly this state, anywhere"
                        onclick={let d = dispatch.clone(); Callback::from(move |_| d.emit(Action::Share))}>{ "Share" }</button>
            </header>
            <div class="controls" role="toolbar" aria-label="simulation controls">
                if playing {
                    { button("play", "❚❚ Pause", "Pause (space)", Action::Pause, false) }
                } else {
                    { button("play", "▶ Play", "Play: let simulated time run (space)", Action::Play, halted) }
                }
                { button("step", "Step ▸", "Run exactly one event: a message delivered, a timer fired, a disk write acknowledged (→)", Action::StepEvent, halted) }
                { step_to(&dispatch, halted) }
                { button("run", "Run 1 s ▸▸", "Let one simulated second pass", Action::RunFor(1_000), halted) }
                <label title="How fast simulated time runs while playing">
                    { "speed " }
                    <select id="speed" onchange={on_speed}>
                        { for SPEEDS.iter().enumerate().map(|(i, (l, _))| html! {
                            <option value={i.to_string()} selected={i == pg.speed}>{ *l }</option>
                        }) }
                    </select>
                    // Always there (empty when paused), so the toolbar does not shift.
                    <span id="reached" class="reached" title="The speed simulated time actually ran at over the last second, while playing (less than asked when the machine cannot keep up)">{ view::reached(&pg).unwrap_or_default() }</span>
                </label>
                <span class="sep" />
                { for clusters.iter().map(|c| {
                    let d = dispatch.clone();
                    let name = c.name.clone();
                    let onclick = Callback::from(move |_| d.emit(Action::Write(name.clone())));
                    html! {
                        <button id={format!("write-{}", c.name)} class={classes!(hide(Control::Client))} disabled={halted || hide(Control::Client).is_some()}
                                title={format!("A client (you_{0}) creates a sequential znode through cluster {0}", c.name)}
                                {onclick}>{ format!("Write to {}", c.name) }</button>
                    }
                }) }
                if pg.allows(Control::Partition) {
                    <PartitionEditor clusters={clusters.iter().map(|c| (c.name.clone(), c.servers.len() as u8)).collect::<Vec<_>>()} on_action={dispatch.clone()} />
                    { button("heal", "Heal", "Repair every partition and cut link", Action::Heal, halted) }
                }
                if pg.allows(Control::Network) {
                    <NetworkMenu current={view::network(&pg)} on_action={dispatch.clone()} />
                }
                <span class="sep" />
                <label title="Every random choice of the world (latencies, losses, timeouts) derives from the seed: change it to start over with another run">
                    { "seed " }<input id="seed" class="seed" type="number" min="0" value={seed.to_string()} onchange={on_seed} disabled={locked.is_some()} />
                </label>
                { button("reset", "Reset", "Start this world over: same topology and seed, nothing run", Action::Reset, false) }
            </div>
            <div class="banners">
                if let Some(b) = &pg.banner {
                    <p class={classes!("banner", match b { Banner::Error(_) => "error", Banner::Info(_) => "info" })} role="alert" id="banner">
                        { match b { Banner::Error(e) | Banner::Info(e) => e.clone() } }
                        <button class="close" title="Dismiss" onclick={let d = dispatch.clone(); Callback::from(move |_| d.emit(Action::Dismiss))}>{ "×" }</button>
                    </p>
                }
                if let Some(v) = view::violation(&pg) {
                    <p class="banner error" role="alert" id="violation">
                        <strong>{ "Invariant broken — the run stopped. " }</strong>
                        { format!("At event {} (t = {} ms), {} reported: {}. ", v.step, v.time_ms, v.server, v.what) }
                        { stopped_at(&v.scenario_step, &v.servers) }
                        { button("violation-before", "Show the event before", "Scrub to the state just before the breaking event", Action::Scrub(v.step.saturating_sub(1)), false) }
                    </p>
                }
                if let Some(v) = &migration_broken {
                    <p class="banner error" role="alert" id="migration-violation">
                        <strong>{ format!("✗ Migration rule broken ({}) — the run stopped. ", v.rule) }</strong>
                        { format!("Migration {} → {}, in {} at t = {} ms (event {}): {}. ", v.source, v.target, v.phase, v.time_ms, v.step, v.what) }
                        { stopped_at(&v.scenario_step, &v.servers) }
                    </p>
                }
                if pg.in_past() {
                    <p class="banner info" id="past">
                        { format!("Viewing the past: event {} of {}. Acting here continues the run from this point (the later events are dropped). ", pg.position(), pg.head_events()) }
                        { button("live", "Back to now", "Show the latest state again", Action::Live, false) }
                    </p>
                }
                if let Some(l) = &pg.link {
                    <p class={classes!("banner", "info", "share", format!("link-{:?}", pg.link_kind).to_ascii_lowercase())} id="link-banner">
                        <span title="Anyone who opens it gets this exact state: same scenario, same events, same trace hash">{ match pg.link_kind {
                            LinkKind::Share => "Share this link (also in the address bar, and copied where the browser allows): ",
                            LinkKind::Submit => "Submit this link to your teacher — it holds your attempt and the exercise's name (copied where the browser allows): ",
                            LinkKind::Teacher => "Hand out this locked link to the class — the world and the unneeded controls are fixed (copied where the browser allows): ",
                        } }</span>
                        <input id="share-link" readonly=true value={l.clone()} size="60" />
                    </p>
                }
            </div>
            <div class={classes!("workspace", pg.exercise.is_some().then_some("with-exercise"))}>
                <div class="main-column">
                <div class={classes!("clusters", (clusters.len() > 2).then_some("many"))}>
                    { for clusters.into_iter().map(|c| cluster_panel(&ClusterProps { cluster: c, selected: pg.selected.clone(), on_action: dispatch.clone(), lock: locked.clone() })) }
                    if locked.is_none() && names.len() < zoolab_core::scenario::MAX_CLUSTERS {
                        { button("add-cluster", "+ cluster", "Add a cluster of 3 servers to this world: clusters exist from time zero, so the run replays its steps over the new world", Action::AddCluster(3), false) }
                    }
                </div>
                <MigrationPanel clusters={names.clone()} view={migview::migration(&pg)}
                                disabled={halted || !pg.allows(Control::Migration)} on_action={dispatch.clone()} />
                </div>
                <aside class="side">
                    { exercise_list(&ListProps { progress: pg.progress.clone(), current: pg.exercise.as_ref().map(|e| e.name.clone()),
                                                 locked: locked.is_some(), on_action: dispatch.clone() }) }
                    if let Some(run) = &pg.exercise {
                        { exercise_pane(&PaneProps { run: run.clone(), lock: locked.clone(), on_action: dispatch.clone() }) }
                    }
                    { invariants_panel(&InvariantsProps { invariants: view::invariants(pg.world()) }) }
                    { crate::components::inspector(&InspectorProps { view: view::inspector(&pg), on_action: dispatch.clone() }) }
                    if let Some(sel) = &pg.selected {
                        { sessions(&SessionsProps { server: format!("{}{}", sel.cluster, sel.id), leads: migview::leads(&pg, sel), rows: migview::sessions(&pg, sel) }) }
                    }
                    <CompareTrees servers={migview::servers(&pg)} diff={pg.compare.as_ref().map(|(a, b)| migview::compare(&pg, a, b))}
                                  on_action={dispatch.clone()} />
                </aside>
            </div>
            { timeline(&TimelineProps { position: pg.position(), head: pg.head_events(), time_ms: pg.world().now(),
                      trace: view::trace_tail(pg.world(), view::TRACE_LINES, &pg.clusters()), spacetime, on_action: dispatch.clone() }) }
            <ZkConsole clusters={names.clone()} cluster={console_cluster} view={console_view} locked={!pg.allows(Control::Client)}
                       complete={complete} on_action={dispatch.clone()} />
            <section class="panel console" aria-label="scenario">
                { command_line(&dispatch) }
                <table class="clients" id="clients" title="Each client command of the run and what became of it (as `expect c1 succeeded` sees it)">
                    { for view::client_log(&pg).into_iter().map(|l| html! {
                        <tr class={l.status}>
                            <td class="op">{ l.op }</td><td><code>{ l.command }</code></td><td class="result">{ l.result }</td>
                        </tr>
                    }) }
                </table>
                if !pg.checks.is_empty() {
                    <ul class="checks" id="checks" title="The scenario's expectations and what was seen (the same lines `zoolab run` prints)">
                        { for pg.checks.iter().rev().take(6).rev().map(|c| html! {
                            <li class={if c.passed { "ok" } else { "failed" }}>
                                { format!("{} {}: {}", if c.passed { "✓" } else { "✗" }, c.text, c.detail) }
                            </li>
                        }) }
                    </ul>
                }
                <details>
                    <summary title="Every action you take is a step of this scenario; Share carries it">{ format!("The scenario so far ({} steps)", scenario.steps.len()) }</summary>
                    <pre id="scenario-text">{ scenario.to_string() }</pre>
                </details>
            </section>
            <footer class="status">
                <span title="Simulated time since the start">{ format!("t = {} ms", pg.world().now()) }</span>
                <span title="Events run so far">{ format!("events {}", pg.position()) }</span>
                <span id="trace-hash" title="A hash of the whole trace: two runs with the same hash did the same thing">
                    { format!("trace {:016x}", pg.trace_hash()) }
                </span>
                <span class="legend" aria-label="legend">
                    <span class="msg-key m-vote" title={view::message_help("NOTIFICATION")}>{ "VOTE" }</span>
                    <span class="msg-key m-proposal" title={view::message_help("PROPOSAL")}>{ "PROP" }</span>
                    <span class="msg-key m-ack" title={view::message_help("ACK")}>{ "ACK" }</span>
                    <span class="msg-key m-commit" title={view::message_help("COMMIT")}>{ "COMMIT" }</span>
                    <span class="msg-key m-sync" title="Synchronisation with a new leader: FOLLOWERINFO, LEADERINFO, ACKEPOCH, DIFF, TRUNC, SNAP, NEWLEADER, UPTODATE">{ "SYNC" }</span>
                    <span class="msg-key m-ping" title={view::message_help("PING")}>{ "PING" }</span>
                    <span class="msg-key m-request" title={view::message_help("REQUEST")}>{ "REQ" }</span>
                    <span class="msg-key c-request" title={view::client_message_help("REQUEST")}>{ "client req" }</span>
                    <span class="msg-key c-reply" title={view::client_message_help("REPLY")}>{ "↩ reply" }</span>
                    <span class="msg-key c-watch" title={view::client_message_help("WATCH")}>{ "EVENT" }</span>
                    <span class="keys">{ "space play/pause · → step · ← back" }</span>
                </span>
            </footer>
        </main>
    };
    crate::profile::mark(3);
    page
}

/// Where a broken invariant or migration rule happened: the scenario's step that was
/// running (as the scenario text numbers its steps) and the servers involved.
fn stopped_at(step: &Option<(usize, String)>, servers: &[String]) -> Html {
    html! {
        <span class="stopped-at">
            if let Some((n, text)) = step {
                <span class="at-step" title="The step of the run's scenario (below, “The scenario so far”) that was running">
                    { format!("During step {n} of the scenario: ") }<code>{ text.clone() }</code>{ ". " }
                </span>
            }
            if !servers.is_empty() {
                <span class="at-servers">{ format!("Servers involved: {}.", servers.join(", ")) }</span>
            }
        </span>
    }
}

/// Properties of the [`ScenarioMenu`].
#[derive(Properties, PartialEq)]
pub struct MenuProps {
    /// Where the current run came from.
    pub origin: String,
    /// Where opening goes.
    pub on_action: Callback<Action>,
}

/// The built-in scenarios, to open run through or from their start.
#[function_component(ScenarioMenu)]
pub fn scenario_menu(props: &MenuProps) -> Html {
    let choice = use_value(if SCENARIOS.contains(&props.origin.as_str()) {
        props.origin.clone()
    } else {
        "minority-cannot-commit".to_string()
    });
    let on_change = {
        let choice = choice.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            choice.set(s.value());
        })
    };
    let open = |from_start: bool| {
        let cb = props.on_action.clone();
        let choice = choice.clone();
        Callback::from(move |_| {
            let name = (*choice).clone();
            cb.emit(Action::Open(if from_start {
                Source::BuiltinTopology(name)
            } else {
                Source::Builtin(name)
            }))
        })
    };
    let fresh = {
        let cb = props.on_action.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            if let Some((_, text)) = s.value().parse::<usize>().ok().and_then(|i| TOPOLOGIES.get(i)) {
                cb.emit(Action::Open(Source::Text(text.to_string())));
            }
            s.set_value("");
        })
    };
    html! {
        <span class="menu">
            <select id="builtin" onchange={on_change} aria-label="built-in scenarios" title="Ready scenarios of ZooKeeper's behaviour">
                { for SCENARIOS.iter().map(|n| html! { <option value={*n} selected={*n == *choice}>{ n.replace('-', " ") }</option> }) }
            </select>
            <button id="open-builtin" title="Open it, run to its end; then scrub back or carry on" onclick={open(false)}>{ "Open" }</button>
            <button id="open-builtin-start" title="Open its topology only, and play it yourself" onclick={open(true)}>{ "Start it" }</button>
            <select id="new-world" onchange={fresh} aria-label="new world" title="Start a new world: clusters and servers, nothing run yet">
                <option value="" selected=true>{ "New world…" }</option>
                { for TOPOLOGIES.iter().enumerate().map(|(i, (l, _))| html! { <option value={i.to_string()}>{ *l }</option> }) }
            </select>
        </span>
    }
}

/// Properties of the [`PartitionEditor`].
#[derive(Properties, PartialEq)]
pub struct PartitionProps {
    /// The clusters and their sizes.
    pub clusters: Vec<(String, u8)>,
    /// Where the partition goes.
    pub on_action: Callback<Action>,
}

/// Put the servers of a cluster in groups (click a server to move it to the next
/// group), then cut the links between the groups.
#[function_component(PartitionEditor)]
pub fn partition_editor(props: &PartitionProps) -> Html {
    let cluster = use_value(0usize);
    let groups = use_value(Vec::<u8>::new());
    let open = use_value(false);
    let Some((name, size)) = props.clusters.get(*cluster).cloned() else { return html! {} };
    let size = size as usize;
    let mut g: Vec<u8> = (*groups).clone();
    if g.len() != size {
        g = (0..size).map(|i| if i < size / 2 { 0 } else { 1 }).collect();
    }
    let toggle_open = {
        let open = open.clone();
        Callback::from(move |_| open.set(!*open))
    };
    if !*open {
        return html! { <button id="partition-open" title="Put servers in groups that cannot reach each other" onclick={toggle_open}>{ "Partition…" }</button> };
    }
    let on_cluster = {
        let cluster = cluster.clone();
        let groups = groups.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            cluster.set(s.value().parse().unwrap_or(0));
            groups.set(Vec::new());
        })
    };
    let apply = {
        let cb = props.on_action.clone();
        let g = g.clone();
        let open = open.clone();
        let name = name.clone();
        Callback::from(move |_| {
            let mut out = vec![Vec::new(), Vec::new(), Vec::new()];
            for (i, k) in g.iter().enumerate() {
                out[*k as usize].push(i as u8 + 1);
            }
            cb.emit(Action::Partition(name.clone(), out));
            open.set(false);
        })
    };
    html! {
        <span class="partition-editor" id="partition-editor">
            <select id="partition-cluster" onchange={on_cluster} aria-label="cluster to partition">
                { for props.clusters.iter().enumerate().map(|(i, (n, _))| html! { <option value={i.to_string()} selected={i == *cluster}>{ n.clone() }</option> }) }
            </select>
            { for g.iter().enumerate().map(|(i, k)| {
                let groups = groups.clone();
                let g = g.clone();
                let onclick = Callback::from(move |_| {
                    let mut g = g.clone();
                    g[i] = (g[i] + 1) % 3;
                    groups.set(g);
                });
                html! {
                    <button class={classes!("group-chip", format!("group-{k}"))} data-chip={format!("{name}{}", i + 1)}
                            title="Click to move this server to the next group (I, II, III)" {onclick}>
                        { format!("{name}{} {}", i + 1, ["I", "II", "III"][*k as usize]) }
                    </button>
                }
            }) }
            <button id="partition-apply" class="primary" title="Cut every link between different groups" onclick={apply}>{ "Cut" }</button>
            <button title="Close" onclick={toggle_open}>{ "×" }</button>
        </span>
    }
}

/// Type any step of the scenario language: a client command, a fault, a run. A plain
/// function, not a component (about 3 KB of the bundle each): the input is the form's.
fn command_line(on_action: &Callback<Action>) -> Html {
    let onsubmit = {
        let cb = on_action.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let form: web_sys::Element = e.target_unchecked_into();
            let input = form.query_selector("#command").ok().flatten();
            if let Some(el) = input.and_then(|i| i.dyn_into::<HtmlInputElement>().ok()) {
                let line = el.value();
                if !line.trim().is_empty() {
                    cb.emit(Action::Command(line));
                    el.set_value("");
                }
            }
        })
    };
    html! {
        <form class="command" {onsubmit}>
            <label for="command" title="Any step of the scenario language (docs/scenarios.md)">{ "step › " }</label>
            <input id="command" placeholder="you_a: create /x 1 · you_a: get /x · change network loss 5% · run until a has a leader"
                   autocomplete="off" spellcheck="false" />
            <button type="submit" title="Append this step to the run's scenario and run it (Enter)">{ "Run step" }</button>
        </form>
    }
}

/// The network presets: a label and the scenario step that sets them.
pub const NETWORKS: [(&str, &str); 7] = [
    ("fast LAN (1–5 ms)", "change network latency 1ms..5ms loss 0% duplicate 0%"),
    ("slow WAN (40–120 ms)", "change network latency 40ms..120ms"),
    ("lossy (5% lost)", "change network loss 5%"),
    ("duplicating (5%)", "change network duplicate 5%"),
    ("bad (20% lost)", "change network loss 20%"),
    ("clients 20 ms away", "change network client latency 20ms"),
    ("clients 0 ms away", "change network client latency 0ms"),
];

/// Properties of the [`NetworkMenu`].
#[derive(Properties, PartialEq)]
pub struct NetworkProps {
    /// The settings of the world shown (the form starts from them).
    pub current: view::NetworkView,
    /// Where the change goes.
    pub on_action: Callback<Action>,
}

/// Network settings: presets, or a form with every setting (latency range, loss,
/// duplication, client latency); either appends one `change network …` step.
#[function_component(NetworkMenu)]
pub fn network_menu(props: &NetworkProps) -> Html {
    let open = use_value(false);
    let cb = props.on_action.clone();
    let onchange = {
        let open = open.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            if s.value() == "custom" {
                open.set(true);
            } else if let Some((_, step)) = s.value().parse::<usize>().ok().and_then(|i| NETWORKS.get(i)) {
                cb.emit(Action::Command(step.to_string()));
            }
            s.set_value("");
        })
    };
    let fields = [use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref(), use_node_ref()];
    let c = &props.current;
    let form = (*open).then(|| {
        let apply = {
            let cb = props.on_action.clone();
            let fields = fields.clone();
            let open = open.clone();
            Callback::from(move |e: SubmitEvent| {
                e.prevent_default();
                let v: Vec<String> = fields
                    .iter()
                    .map(|f| f.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default())
                    .collect();
                cb.emit(Action::Command(view::network_statement(&v[0], &v[1], &v[2], &v[3], &v[4])));
                open.set(false);
            })
        };
        let close = {
            let open = open.clone();
            Callback::from(move |_| open.set(false))
        };
        let field = |i: usize, id: &'static str, value: String, unit: &'static str, title: &'static str| {
            html! {
                <label {title}>
                    <input id={id} ref={fields[i].clone()} class="num" type="number" min="0" step="any" value={value} />{ unit }
                </label>
            }
        };
        html! {
            <form class="network-form" id="network-form" onsubmit={apply}>
                { field(0, "net-lat-min", c.latency_min_ms.to_string(), "", "Shortest one-way latency between two servers (ms)") }
                { "–" }
                { field(1, "net-lat-max", c.latency_max_ms.to_string(), " ms", "Longest one-way latency between two servers (ms); each message's is drawn between the two") }
                { field(2, "net-loss", c.loss_pct.clone(), "% lost", "The chance that a message between servers never arrives") }
                { field(3, "net-dup", c.duplicate_pct.clone(), "% dup", "The chance that an election message arrives twice") }
                { field(4, "net-client", c.client_latency_ms.to_string(), " ms to clients", "One-way latency between a client and its server: requests, replies, watch events and pings take this long, and the page draws them on their way (0: instantaneous)") }
                <button id="net-apply" class="primary" type="submit" title="Append `change network …` with these settings">{ "Set" }</button>
                <button type="button" title="Close" onclick={close}>{ "×" }</button>
            </form>
        }
    });
    html! {
        <>
            <select id="network" {onchange} aria-label="network settings"
                    title="Change the network: latency (one-way delay), loss (messages that never arrive), duplication (election messages delivered twice), and the latency between clients and servers">
                <option value="" selected=true>{ "network…" }</option>
                { for NETWORKS.iter().enumerate().map(|(i, (l, _))| html! { <option value={i.to_string()}>{ *l }</option> }) }
                <option value="custom">{ "custom…" }</option>
            </select>
            { for form }
        </>
    }
}

/// Step until the next message of a chosen kind is delivered. A plain function, not a
/// component (about 3 KB of the bundle each): the kind is read from its `<select>` on
/// click, which keeps the user's choice across renders (its options' `selected` never
/// change).
fn step_to(on_action: &Callback<Action>, disabled: bool) -> Html {
    let onclick = {
        let cb = on_action.clone();
        Callback::from(move |_: MouseEvent| {
            let chosen = gloo::utils::document()
                .get_element_by_id("step-kind")
                .and_then(|e| e.dyn_into::<HtmlSelectElement>().ok())
                .and_then(|s| s.value().parse::<usize>().ok())
                .unwrap_or(1);
            cb.emit(Action::StepToKind(STEP_KINDS[chosen.min(STEP_KINDS.len() - 1)]))
        })
    };
    html! {
        <span class="step-to">
            <button id="step-to" {disabled} {onclick}
                    title="Run events until the next message of this kind is delivered">{ "Step to" }</button>
            <select id="step-kind" aria-label="message kind to step to">
                { for STEP_KINDS.iter().enumerate().map(|(i, k)| html! {
                    <option value={i.to_string()} selected={i == 1} title={view::message_help(k)}>{ *k }</option>
                }) }
            </select>
        </span>
    }
}
