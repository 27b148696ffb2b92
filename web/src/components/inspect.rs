//! The inspector's second half: the sessions the selected server knows (with the
//! leader's expiry deadlines), and "compare two servers' trees".

use super::use_value;
use crate::migview::{SessionRow, TreeDiff};
use crate::state::Action;
use web_sys::HtmlSelectElement;
use yew::prelude::*;
use zoolab_core::scenario::ServerName;

/// Properties of [`sessions`].
pub struct SessionsProps {
    /// The selected server's name (`a1`).
    pub server: String,
    /// Whether it leads (and so tracks deadlines).
    pub leads: bool,
    /// Its sessions.
    pub rows: Vec<SessionRow>,
}

/// The sessions a server knows; on the leader, each one's expiry deadline.
/// A plain function, not a component: a component's machinery is about 3 KB of the
/// bundle each, and this is cheap to draw again with the App (BENCHMARKS.md, session 5).
pub fn sessions(props: &SessionsProps) -> Html {
    html! {
        <section class="panel sessions" aria-label="sessions" id="sessions">
            <h3 title="A session is a client's lease: the leader expires it (deleting its ephemeral znodes) unless the client is heard from within its timeout. Every server knows the committed session table; only the leader tracks deadlines.">
                { format!("Sessions {} knows{}", props.server, if props.leads { " · leader's tracker" } else { "" }) }
            </h3>
            if props.rows.is_empty() {
                <p class="muted">{ "none" }</p>
            } else {
                <table class="session-table">
                    <tr><th>{ "session" }</th><th>{ "client" }</th><th title="Timeout agreed with the client">{ "timeout" }</th>
                        <th title="When the leader expires it unless the client is heard from (simulated time); only the leader knows">{ "expires" }</th>
                        <th title="Ephemeral znodes it owns: deleted when it expires">{ "eph." }</th></tr>
                    { for props.rows.iter().map(|r| html! {
                        <tr class={classes!(r.closing.then_some("closing"))} data-session={r.session.clone()}>
                            <td><code>{ r.session.clone() }</code></td>
                            <td>{ r.client.clone().unwrap_or_else(|| "—".into()) }</td>
                            <td>{ format!("{} ms", r.timeout_ms) }</td>
                            <td>{ match r.deadline {
                                Some((_, _)) if r.closing => "closing ✕".to_string(),
                                Some((at, left)) => format!("t={at} (in {left} ms)"),
                                None => "—".to_string(),
                            } }</td>
                            <td>{ r.ephemerals }</td>
                        </tr>
                    }) }
                </table>
            }
        </section>
    }
}

/// Properties of [`CompareTrees`].
#[derive(Properties, PartialEq)]
pub struct CompareProps {
    /// Every server, to pick from.
    pub servers: Vec<ServerName>,
    /// The comparison shown, if any.
    pub diff: Option<TreeDiff>,
    /// Where the choice goes.
    pub on_action: Callback<Action>,
}

/// Pick two servers (any clusters) and list the znodes whose data, Stat, type or ACL differ.
#[function_component(CompareTrees)]
pub fn compare_trees(props: &CompareProps) -> Html {
    let left = use_value(0usize);
    let right = use_value(1usize);
    let label = |s: &ServerName| format!("{}{}", s.cluster, s.id);
    let pick = |state: UseStateHandle<usize>| {
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            state.set(s.value().parse().unwrap_or(0));
        })
    };
    let go = {
        let cb = props.on_action.clone();
        let servers = props.servers.clone();
        let (l, r) = (*left, *right);
        Callback::from(move |_: MouseEvent| {
            if let (Some(a), Some(b)) = (servers.get(l), servers.get(r)) {
                cb.emit(Action::Compare(Some((a.clone(), b.clone()))));
            }
        })
    };
    let close = {
        let cb = props.on_action.clone();
        Callback::from(move |_: MouseEvent| cb.emit(Action::Compare(None)))
    };
    let options = |sel: usize| {
        props
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| html! { <option value={i.to_string()} selected={i == sel}>{ label(s) }</option> })
            .collect::<Html>()
    };
    html! {
        <section class="panel compare" aria-label="compare trees" id="compare">
            <h3 title="Compare two servers' trees (outside /zookeeper): the znodes missing on one side, or differing in data, Stat, node type or ACL">{ "Compare trees" }</h3>
            <div class="compare-pick">
                <select id="cmp-left" onchange={pick(left.clone())} aria-label="first server">{ options(*left) }</select>
                { " vs " }
                <select id="cmp-right" onchange={pick(right.clone())} aria-label="second server">{ options(*right) }</select>
                <button id="cmp-go" onclick={go} title="List the znodes that differ">{ "Compare" }</button>
                if props.diff.is_some() { <button class="close" onclick={close} title="Stop comparing">{ "×" }</button> }
            </div>
            if let Some(d) = &props.diff {
                if let Some(e) = &d.error {
                    <p class="muted" id="cmp-result">{ e.clone() }</p>
                } else if d.differences.is_empty() {
                    <p class="cmp-same" id="cmp-result">{ format!("= {} and {} hold identical trees", d.left, d.right) }</p>
                } else {
                    <div id="cmp-result">
                        <p class="cmp-differ">{ format!("≠ {} znodes differ between {} and {}{}", d.differences.len(), d.left, d.right,
                            if d.differences.len() >= crate::migview::DIFF_LINES { " (first ones)" } else { "" }) }</p>
                        <ul class="cmp-list">
                            { for d.differences.iter().map(|(p, w)| html! { <li><code>{ p.clone() }</code>{ format!(" {w}") }</li> }) }
                        </ul>
                    </div>
                }
            }
        </section>
    }
}
