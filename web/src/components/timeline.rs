use crate::state::Action;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Properties of the [`Timeline`].
#[derive(Properties, PartialEq)]
pub struct TimelineProps {
    /// The event count shown.
    pub position: u64,
    /// Events run in the whole run.
    pub head: u64,
    /// Simulated time shown (ms).
    pub time_ms: u64,
    /// The latest trace lines of the state shown.
    pub trace: Vec<String>,
    /// Where scrubbing goes.
    pub on_action: Callback<Action>,
}

/// The run's timeline: scrub back to any earlier event and forward again (the page
/// replays the scenario to that event count), and the latest trace lines.
#[function_component(Timeline)]
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
            <ol class="trace" id="trace">
                { for props.trace.iter().map(|l| html! { <li>{ l }</li> }) }
            </ol>
        </section>
    }
}
