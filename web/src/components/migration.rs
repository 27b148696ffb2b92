//! The migration panel: choose source, target, strategy, subtree and session policy;
//! start; then every phase in order with its gate and its evidence, the migration's
//! rules, the stamp's "maximum plus one", and Step / Run / Abort. Every button appends
//! a statement of the scenario language (`migrate …`, `migration step|run|abort`).

use super::use_value;
use crate::migview::{self, MigrationView, PhaseState};
use crate::state::Action;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;
use zoolab_core::scenario::migrate::MigrationAction;

/// Properties of the [`MigrationPanel`].
#[derive(Properties, PartialEq)]
pub struct MigrationProps {
    /// The clusters' names.
    pub clusters: Vec<String>,
    /// The migration of the run shown, if one was started.
    pub view: Option<MigrationView>,
    /// Whether the controls are off (the run halted, or a teacher's lock).
    #[prop_or_default]
    pub disabled: bool,
    /// Where the statements go.
    pub on_action: Callback<Action>,
}

fn select_value(e: &Event) -> String {
    let s: HtmlSelectElement = e.target_unchecked_into();
    s.value()
}

/// The migration panel (see the module documentation).
#[function_component(MigrationPanel)]
pub fn migration_panel(props: &MigrationProps) -> Html {
    let source = use_value(0usize);
    let target = use_value(1usize);
    let via = use_value(migview::strategies().first().map_or("", |(w, _)| *w).to_string());
    let sessions = use_value(String::new());
    let conflict = use_value(String::new());
    let subtree = use_node_ref();
    let into = use_node_ref();
    // The Run button's goal: "next" (the next gate's phase), a phase's word, or "end".
    let until = use_value("next".to_string());
    let within = use_node_ref();
    let emit = |a: Action| {
        let cb = props.on_action.clone();
        Callback::from(move |_: MouseEvent| cb.emit(a.clone()))
    };
    let help = "Move one ensemble's data and clients to another, one visible phase at a time: \
                each phase advances only when its gate's evidence holds, and the migration can be \
                rolled back until it commits.";
    if props.clusters.len() < 2 {
        return html! {
            <section class="panel migration empty" aria-label="migration" id="migration">
                <h2 title={help}>{ "Migration" }</h2>
                <p class="muted">{ "A migration needs two clusters: open a world with two (New world… → 3 + 5 servers)." }</p>
            </section>
        };
    }
    let Some(v) = &props.view else {
        let names = &props.clusters;
        let pick = |state: UseStateHandle<usize>| {
            Callback::from(move |e: Event| state.set(select_value(&e).parse().unwrap_or(0)))
        };
        let on_via = {
            let via = via.clone();
            Callback::from(move |e: Event| via.set(select_value(&e)))
        };
        let on_sessions = {
            let sessions = sessions.clone();
            Callback::from(move |e: Event| sessions.set(select_value(&e)))
        };
        let on_conflict = {
            let conflict = conflict.clone();
            Callback::from(move |e: Event| conflict.set(select_value(&e)))
        };
        let start = {
            let cb = props.on_action.clone();
            let names = names.clone();
            let (source, target, via, sessions, conflict, subtree, into) = (
                *source,
                *target,
                (*via).clone(),
                (*sessions).clone(),
                (*conflict).clone(),
                subtree.clone(),
                into.clone(),
            );
            Callback::from(move |_: MouseEvent| {
                let text = |r: &NodeRef| r.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
                let name = |i: usize| names.get(i).cloned().unwrap_or_default();
                let form = migview::StartForm {
                    source: name(source),
                    target: name(target),
                    via: via.clone(),
                    subtree: text(&subtree),
                    into: text(&into),
                    sessions: sessions.clone(),
                    conflict: conflict.clone(),
                };
                match migview::start(&form) {
                    Ok(m) => cb.emit(Action::Migrate(m)),
                    Err(e) => cb.emit(Action::Refuse(e)),
                }
            })
        };
        let strategies = migview::strategies();
        let via_help = strategies.iter().find(|(w, _)| *w == *via).map_or("", |(_, h)| *h);
        return html! {
            <section class="panel migration" aria-label="migration" id="migration">
                <h2 title={help}>{ "Migration" }</h2>
                <div class="mig-form">
                    <label title="The cluster whose data and clients move">{ "from " }
                        <select id="mig-source" onchange={pick(source.clone())}>
                            { for names.iter().enumerate().map(|(i, n)| html! { <option value={i.to_string()} selected={i == *source}>{ n.clone() }</option> }) }
                        </select>
                    </label>
                    <label title="The cluster that takes over">{ " to " }
                        <select id="mig-target" onchange={pick(target.clone())}>
                            { for names.iter().enumerate().map(|(i, n)| html! { <option value={i.to_string()} selected={i == *target}>{ n.clone() }</option> }) }
                        </select>
                    </label>
                    <label title={via_help}>{ " via " }
                        <select id="mig-via" onchange={on_via}>
                            { for strategies.iter().map(|(w, h)| html! { <option value={*w} title={*h} selected={*w == *via}>{ *w }</option> }) }
                        </select>
                    </label>
                    <label title="Only this subtree moves; empty: everything but /zookeeper">{ "subtree " }
                        <input id="mig-subtree" ref={subtree} placeholder="/ (all)" size="9" spellcheck="false" />
                    </label>
                    <label title="Where the subtree goes on the target (`into /y`, a chroot: every path is rewritten); empty: the same path">{ " into " }
                        <input id="mig-into" ref={into} placeholder="same path" size="9" spellcheck="false" />
                    </label>
                    <label title="import: clients keep their sessions and ephemeral znodes; expire: their sessions end at cut-over and they register again on the target. Default: import for snapshot, expire for client-api">{ " sessions " }
                        <select id="mig-sessions" onchange={on_sessions}>
                            <option value="" selected={sessions.is_empty()}>{ "default" }</option>
                            { for migview::session_policies().into_iter().map(|w| html! { <option value={w} selected={*sessions == w}>{ w }</option> }) }
                        </select>
                    </label>
                    <label title="When the target already has a znode the migration would write (`on conflict`): fail lists them at preflight and stops; overwrite replaces them. Default: fail">{ " on conflict " }
                        <select id="mig-conflict" onchange={on_conflict}>
                            <option value="" selected={conflict.is_empty()}>{ "fail" }</option>
                            { for migview::conflict_policies().into_iter().filter(|w| *w != "fail").map(|w| html! { <option value={w} selected={*conflict == w}>{ w }</option> }) }
                        </select>
                    </label>
                    <button id="mig-start" class="primary" disabled={props.disabled}
                            title="Start the migration in draft (appends `migrate … via …` to the scenario)" onclick={start}>{ "Start" }</button>
                </div>
                <p class="muted mig-hint">{ "Then step it phase by phase, or run it." }</p>
            </section>
        };
    };
    let p = &v.progress;
    let zx = |z: Option<zoolab_core::ids::Zxid>| z.map_or("—".to_string(), |z| z.to_string());
    let num = |n: Option<usize>| n.map_or("—".to_string(), |n| n.to_string());
    let stamp = p.stamp_rule().unwrap_or_else(|| "stamp: taken at preflight (max seen + 1)".into());
    let off = props.disabled || v.finished;
    // The Run button: to the next gate's phase, a later phase, or the end, within an
    // optional bound; one `migration run …` statement.
    let goal = match until.as_str() {
        "end" => String::new(),
        w if v.ahead.iter().any(|(x, _)| *x == w) => w.to_string(),
        _ => v.ahead.first().map_or(String::new(), |(w, _)| w.to_string()),
    };
    let run = {
        let cb = props.on_action.clone();
        let (goal, within) = (goal.clone(), within.clone());
        Callback::from(move |_: MouseEvent| {
            let bound = within.cast::<HtmlInputElement>().map(|i| i.value()).unwrap_or_default();
            match migview::run_statement(&goal, &bound) {
                Ok(m) => cb.emit(Action::Migrate(m)),
                Err(e) => cb.emit(Action::Refuse(e)),
            }
        })
    };
    let on_until = {
        let until = until.clone();
        Callback::from(move |e: Event| until.set(select_value(&e)))
    };
    let run_title = match goal.as_str() {
        "" => "Let time pass and step whenever a gate holds, until committed or rolled back (`migration run`)".to_string(),
        w => format!("Let time pass and step whenever a gate holds, until the migration is in {w} (`migration run until {w}`)"),
    };
    html! {
        <section class="panel migration" aria-label="migration" id="migration" data-phase={v.phase_word}>
            <h2 title={help}>{ "Migration " }<span class="muted mig-route">{ format!("{} → {}", v.source, v.target) }</span></h2>
            <p class="mig-statement"><code title="The statement that started it, as the scenario holds it">{ v.statement.clone() }</code></p>
            <div class="mig-buttons">
                <button id="mig-step" disabled={off} onclick={emit(Action::Migrate(MigrationAction::Step))}
                        title="Leave the current phase if its gate's evidence holds (`migration step`); if not, says why">{ "Step phase" }</button>
                <button id="mig-run" disabled={off} onclick={run} title={run_title}>{ "Run ▸▸" }</button>
                <select id="mig-run-until" disabled={off} onchange={on_until} aria-label="run the migration until"
                        title="Where Run stops: the next gate's phase, a later phase, or the end">
                    { for v.ahead.iter().enumerate().map(|(i, (w, label))| {
                        let value = if i == 0 { "next".to_string() } else { w.to_string() };
                        let text = if i == 0 { format!("to the next gate ({label})") } else { format!("to {label}") };
                        let chosen = *until == *w || (i == 0 && *until == "next");
                        html! { <option {value} selected={chosen}>{ text }</option> }
                    }) }
                    <option value="end" selected={*until == "end"}>{ "to the end" }</option>
                </select>
                <label title="The bound on simulated time (`within Ns`); empty: 60 s. Run fails if the goal is not reached by then">{ "within " }
                    <input id="mig-within" ref={within} class="num" type="number" min="1" placeholder="60" size="3" disabled={off} />{ " s" }
                </label>
                <button id="mig-abort" disabled={off || !v.reversible} onclick={emit(Action::Migrate(MigrationAction::Abort))}
                        title="Roll back: fence the target, copy back what it took, unfence the source, move clients back (`migration abort`; impossible once committed)">{ "Abort" }</button>
            </div>
            <div class="mig-body">
            <ol class="mig-phases" id="mig-phases">
                { for v.phases.iter().map(|r| {
                    let (class, mark) = r.state.mark();
                    let gate = match r.state {
                        PhaseState::Current if r.open => "gate open: Step will pass",
                        PhaseState::Current => "gate closed: waiting",
                        _ => "",
                    };
                    // Two lines per phase, whatever its state, so nothing moves as it advances.
                    let line = match (&r.evidence, r.state) {
                        (Some(e), PhaseState::Current) => format!("seen: {e}"),
                        (Some(e), _) => e.clone(),
                        (None, PhaseState::Skipped) => "not reached: rolled back".to_string(),
                        (None, _) => format!("to leave: {}", r.gate),
                    };
                    html! {
                        <li class={classes!("mig-phase", class, (r.state == PhaseState::Current && r.open).then_some("open"))}
                            data-phase={r.word} title={format!("{}: to leave it, {}\n{}", r.label, r.gate, r.evidence.clone().unwrap_or_default())}>
                            <span class="mark" aria-hidden="true">{ mark }</span>
                            <span class="phase-name">{ r.label.clone() }</span>
                            <span class="gate-state">{ gate }</span>
                            <div class="mig-evidence">{ line }</div>
                        </li>
                    }
                }) }
            </ol>
            <div class="mig-side">
            { current_box(v) }
            <h3 title="Measured on the live clusters at the state shown">{ "Progress" }</h3>
            <table class="mig-progress" id="mig-progress">
                { row("The newest zxid the source committed, and the source zxid whose state the target holds (while copying)",
                      "zxid source / copied", "", format!("{} / {}", p.source_committed, zx(p.shipped))) }
                { row("Source transactions committed but not yet on the target (zxids behind)",
                      "tail lag", "lag", p.lag_txns.map_or("—".into(), |l| format!("{l} txns"))) }
                { row("Znodes in the subtree on the source and on the target",
                      "znodes source / target", "znodes", format!("{} / {}", num(p.source_znodes), num(p.target_znodes))) }
                { row("Znodes that differ between the two (data, Stat, node type, ACL, as the transport copies them)",
                      "differences", "diffs", num(p.differences)) }
                { code_row("A SHA-1 over every znode of the subtree on each side: equal hashes, equal subtrees",
                      "hashes", p.hashes.as_ref().map_or("—".into(), |(a, b)| format!("{} {} {}", &a[..a.len().min(8)], if a == b { "=" } else { "≠" }, &b[..b.len().min(8)]))) }
                { code_row("ZooKeeper's own digest of each whole tree (shown for exact copies of / with their sessions)",
                      "ZK digests", p.digests.map_or("—".into(), |(a, b)| format!("{:x} {} {:x}", a & 0xffff_ffff, if a == b { "=" } else { "≠" }, b & 0xffff_ffff))) }
                { row("Clients whose connect string still points at the source / already at the target",
                      "clients source / target", "clients", format!("{} / {}", p.clients_on_source, p.clients_on_target)) }
                { row("The newest zxid any client has seen, and the target's applied zxid: at cut-over the target must be above it",
                      "client max / target", "", format!("{} / {}", p.clients_max_zxid, p.target_applied)) }
            </table>
            <p class="rule mig-stamp" id="mig-stamp" title="The seed article's rule: a new controller's stamp is the maximum stamp recorded on both clusters, plus one, so an older controller is fenced off">{ stamp }</p>
            <h3 title="Checked after every simulated step; the first one broken stops the run">{ "Migration rules" }</h3>
            <ul class="mig-rules" id="mig-rules">
                { for v.rules.iter().map(|r| {
                    let ok = r.broken.is_none();
                    html! {
                        <li class={if ok { "holds" } else { "broken" }} data-rule={r.name} title={r.broken.clone().unwrap_or_else(|| r.guards.to_string())}>
                            <span class="mark" aria-hidden="true">{ if ok { "✓" } else { "✗" } }</span>
                            <span class="inv-name">{ r.name }</span>
                            <span class="inv-state">{ if ok { " holds" } else { " BROKEN" } }</span>
                        </li>
                    }
                }) }
            </ul>
            </div>
            </div>
        </section>
    }
}

/// A row of the progress table: what it measures (its tooltip), its name, its cell's
/// class (none: "") and value. One function for the eight rows keeps their markup's code
/// once in the bundle.
fn row(help: &'static str, name: &'static str, class: &'static str, value: String) -> Html {
    html! { <tr title={help}><th>{ name }</th><td class={(!class.is_empty()).then_some(class)}>{ value }</td></tr> }
}

/// A row of the progress table whose value is code (hashes, digests).
fn code_row(help: &'static str, name: &'static str, value: String) -> Html {
    html! { <tr title={help}><th>{ name }</th><td><code>{ value }</code></td></tr> }
}

/// The current phase in full: its gate, and the evidence measured now (a fixed-height
/// box, so nothing moves as the evidence changes).
fn current_box(v: &MigrationView) -> Html {
    let Some(r) = v.phases.iter().find(|r| r.state == PhaseState::Current) else {
        return html! {
            <div class="mig-now open" id="mig-now">
                <div><strong>{ format!("✓ {} — the migration is over", v.phase) }</strong></div>
                <div class="mig-now-seen">{ v.phases.last().and_then(|r| r.evidence.clone()).unwrap_or_default() }</div>
            </div>
        };
    };
    html! {
        <div class={classes!("mig-now", r.open.then_some("open"))} id="mig-now">
            <div><strong>{ format!("{} {}", if r.open { "✓" } else { "…" }, r.label) }</strong>{ format!(" — to leave: {}", r.gate) }</div>
            <div class="mig-now-seen">{ r.evidence.clone().map_or(String::new(), |e| format!("seen: {e}")) }</div>
        </div>
    }
}
