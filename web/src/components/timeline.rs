use super::px;
use crate::state::Action;
use crate::view::{message_class, SpaceTime, SpaceTimeItem, SPACETIME_COLUMNS};
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Properties of the [`timeline`].
pub struct TimelineProps {
    /// The event count shown.
    pub position: u64,
    /// Events run in the whole run.
    pub head: u64,
    /// Simulated time shown (ms).
    pub time_ms: u64,
    /// The latest trace lines of the state shown.
    pub trace: Vec<String>,
    /// The space-time diagram of one cluster.
    pub spacetime: SpaceTime,
    /// Where scrubbing goes.
    pub on_action: Callback<Action>,
}

/// The run's timeline: scrub back to any earlier event and forward again (the page
/// replays the scenario to that event count), and the latest trace lines.
/// A plain function, not a component: a component's machinery is about 3 KB of the
/// bundle each, and this is cheap to draw again with the App (BENCHMARKS.md, session 5).
pub fn timeline(props: &TimelineProps) -> Html {
    let cb = props.on_action.clone();
    let onchange = Callback::from(move |e: Event| {
        let input: HtmlInputElement = e.target_unchecked_into();
        if let Ok(v) = input.value().parse::<u64>() {
            cb.emit(Action::Scrub(v));
        }
    });
    let scrub = |to: u64| {
        let cb = props.on_action.clone();
        Callback::from(move |_| cb.emit(Action::Scrub(to)))
    };
    let p = props.position;
    let back = p.saturating_sub(1);
    let back_more = p.saturating_sub((props.head / 20).max(1));
    let fwd = (p + 1).min(props.head);
    let fwd_more = (p + (props.head / 20).max(1)).min(props.head);
    let live = p == props.head;
    html! {
        <section class="panel timeline" aria-label="timeline">
            <div class="scrubber">
                <button id="scrub-back-more" title="Back 5% of the run" disabled={p == 0} onclick={scrub(back_more)}>{ "«" }</button>
                <button id="scrub-back" title="Back one event" disabled={p == 0} onclick={scrub(back)}>{ "◀" }</button>
                <input id="scrubber" type="range" min="0" max={props.head.to_string()} value={p.to_string()} {onchange}
                       title="Drag to travel in time: the page replays the scenario to that event" aria-label="timeline position" />
                <button id="scrub-fwd" title="Forward one event" disabled={live} onclick={scrub(fwd)}>{ "▶" }</button>
                <button id="scrub-fwd-more" title="Forward 5% of the run" disabled={live} onclick={scrub(fwd_more)}>{ "»" }</button>
                <span class="position" id="position">{ format!("event {p} / {} · t = {} ms", props.head, props.time_ms) }</span>
            </div>
            { spacetime_diagram(&props.spacetime) }
            <ol class="trace" id="trace">
                { for props.trace.iter().map(|l| html! { <li>{ l }</li> }) }
            </ol>
        </section>
    }
}

/// A lane per server, the latest messages as arrows between lanes (dashed when
/// dropped) and role changes as marks, oldest on the left.
/// A plain function, not a component (as [`timeline`], which draws it).
pub fn spacetime_diagram(st: &SpaceTime) -> Html {
    let (w, lane_h, left) = (1000.0, 14.0, 34.0);
    let h = lane_h * st.lanes.len().max(1) as f64 + 8.0;
    let col = (w - left - 10.0) / SPACETIME_COLUMNS as f64;
    let y = |id: u64| {
        let i = st.lanes.iter().position(|l| *l == id).unwrap_or(0);
        6.0 + lane_h * i as f64 + lane_h / 2.0
    };
    let x = |i: usize| left + col * (i as f64 + 1.0);
    html! {
        <div class="spacetime" title="Space-time diagram: a lane per server, the latest messages and role changes from left (older) to right (newer)">
            <div class="st-caption">{ format!("cluster {} · t = {}…{} ms", st.cluster, st.span_ms.0, st.span_ms.1) }</div>
            <svg viewBox={format!("0 0 {} {}", px(w), px(h))} class="st">
                { for st.lanes.iter().map(|l| html! {
                    <>
                        <line class="lane" x1={px(left)} x2={px(w - 6.0)} y1={px(y(*l))} y2={px(y(*l))} />
                        <text class="lane-name" x="2" y={px(y(*l) + 4.0)}>{ format!("{}{}", st.cluster, l) }</text>
                    </>
                }) }
                { for st.items.iter().enumerate().map(|(i, item)| match item {
                    SpaceTimeItem::Message { from, to, kind, dropped, title } => html! {
                        <line class={classes!("st-msg", message_class(kind), dropped.then_some("dropped"))}
                              x1={px(x(i) - col * 0.8)} y1={px(y(*from))} x2={px(x(i))} y2={px(y(*to))}>
                            <title>{ title.clone() }</title>
                        </line>
                    },
                    SpaceTimeItem::Mark { at, label, title } => html! {
                        <text class="st-mark" x={px(x(i))} y={px(y(*at) + 4.0)} text-anchor="middle">
                            <title>{ title.clone() }</title>{ *label }
                        </text>
                    },
                }) }
            </svg>
        </div>
    }
}
