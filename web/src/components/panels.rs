use crate::state::Action;
use crate::view::{role_help, role_word, InspectorView, InvariantView};
use yew::prelude::*;

/// Properties of the [`invariants_panel`].
pub struct InvariantsProps {
    /// Each invariant at the state shown.
    pub invariants: Vec<InvariantView>,
}

/// ZAB's invariants, always visible, green (✓) or red (✗) at the state shown.
/// A plain function, not a component: a component's machinery is about 3 KB of the
/// bundle each, and this is cheap to draw again with the App (BENCHMARKS.md, session 5).
pub fn invariants_panel(props: &InvariantsProps) -> Html {
    html! {
        <section class="panel invariants" aria-label="invariants">
            <h2 title="Checked by the simulator after every event; the first one broken stops the run">{ "Invariants" }</h2>
            <ul>
                { for props.invariants.iter().map(|i| html! {
                    <li class={if i.holds { "holds" } else { "broken" }} data-invariant={i.name} title={i.guards}>
                        <span class="mark" aria-hidden="true">{ if i.holds { "✓" } else { "✗" } }</span>
                        <span class="inv-name">{ i.name }</span>
                        <span class="inv-state">{ if i.holds { " holds" } else { " BROKEN" } }</span>
                        <div class="inv-line">{ i.guards }</div>
                    </li>
                }) }
            </ul>
        </section>
    }
}

/// Properties of the [`inspector`].
pub struct InspectorProps {
    /// The selected server, if any.
    pub view: Option<InspectorView>,
    /// Where closing it goes.
    pub on_action: Callback<Action>,
}

/// One server in detail: its state, its txn log with the committed mark, its votes.
/// A plain function, not a component: a component's machinery is about 3 KB of the
/// bundle each, and this is cheap to draw again with the App (BENCHMARKS.md, session 5).
pub fn inspector(props: &InspectorProps) -> Html {
    let Some(v) = &props.view else {
        return html! {
            <section class="panel inspector empty" aria-label="inspector">
                <h2>{ "Inspector" }</h2>
                <p class="muted">{ "Click a server to see its log, its state and its election votes." }</p>
            </section>
        };
    };
    let close = {
        let cb = props.on_action.clone();
        Callback::from(move |_| cb.emit(Action::Select(None)))
    };
    let s = &v.server;
    html! {
        <section class="panel inspector" aria-label="inspector" data-inspect={v.name.clone()}>
            <h2>{ "Inspector · " }<span class="inspect-name">{ v.name.clone() }</span><button class="close" title="Close the inspector" onclick={close}>{ "×" }</button></h2>
            <p class="state">
                <span class="role-tag" title={role_help(s)}>{ role_word(s) }</span>
                { format!(" epoch {} · accepted {} · applied {}{}", s.epoch, s.accepted_epoch, s.applied_zxid,
                    if s.serving { " · serving" } else { "" }) }
            </p>
            <h3 title="Its transaction log after its latest snapshot; ● committed (a quorum logged it), ○ logged only">{ format!("Log (after snapshot {})", v.snapshot) }</h3>
            if v.log.is_empty() {
                <p class="muted">{ "empty" }</p>
            } else {
                // Scrolled to its end: the newest entries (and the committed mark's
                // frontier) in view.
                <div class="log-scroll">
                <ol class="log">
                    if v.log_hidden > 0 { <li class="muted">{ format!("… {} older", v.log_hidden) }</li> }
                    { for v.log.iter().map(|l| html! {
                        <li class={if l.committed { "committed" } else { "uncommitted" }}>
                            <span class="mark">{ if l.committed { "●" } else { "○" } }</span>
                            <code>{ &l.zxid }</code>{ " " }{ &l.txn }
                        </li>
                    }) }
                </ol>
                </div>
            }
            <h3 title="While LOOKING: the vote it currently casts, and the latest vote received from each server">{ "Election" }</h3>
            if let Some(own) = &v.own_vote { <p class="vote">{ format!("its vote: {own}") }</p> }
            if v.votes.is_empty() {
                <p class="muted">{ "no election in progress" }</p>
            } else {
                <table class="votes">
                    <tr><th>{ "from" }</th><th>{ "votes for" }</th><th>{ "with" }</th></tr>
                    { for v.votes.iter().map(|(f, l, w)| html! { <tr><td>{ f }</td><td>{ l }</td><td>{ w }</td></tr> }) }
                </table>
            }
            <h3 title="The znodes this server has applied">{ "Tree" }</h3>
            if v.tree.is_empty() { <p class="muted">{ "no znodes" }</p> } else {
                <ul class="tree">{ for v.tree.iter().map(|t| html! { <li><code>{ t }</code></li> }) }</ul>
            }
        </section>
    }
}
