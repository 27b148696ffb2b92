use crate::components::ServerCard;
use crate::state::{Action, Playground};
use yew::prelude::*;

/// The whole playground.
#[function_component(App)]
pub fn app() -> Html {
    let playground = use_reducer(Playground::default);
    let dispatch = {
        let playground = playground.clone();
        Callback::from(move |action: Action| playground.dispatch(action))
    };
    let button = |id: &'static str, label: &'static str, title: &'static str, action: Action| {
        let dispatch = dispatch.clone();
        html! {
            <button id={id} title={title} onclick={Callback::from(move |_| dispatch.emit(action))}>{ label }</button>
        }
    };
    html! {
        <main class="playground">
            <header class="topbar">
                <h1>{ "zoolab" }</h1>
                <span class="tagline">{ "a ZooKeeper laboratory" }</span>
                <div class="controls">
                    { button("step", "Step ▸", "Deliver the next message or fire the next timer", Action::Step) }
                    { button("run", "Run 1 s ▸▸", "Run one simulated second", Action::Run(1_000)) }
                    { button("write", "Write", "A client writes to the leader (or any live server)", Action::Write) }
                    { button("reset", "Reset", "Start over with the same seed", Action::Reset) }
                </div>
            </header>
            if let Some(v) = playground.violation() {
                <p class="banner error" role="alert" id="violation">{ format!("Invariant broken: {v}") }</p>
            }
            <p class="clock">
                <span title="Simulated time since the start">{ format!("t = {} ms", playground.now_ms()) }</span>
                <span title="A hash of the whole trace: two runs with the same hash did the same thing" id="trace-hash">
                    { format!("trace {:016x}", playground.trace_hash()) }
                </span>
            </p>
            <section class="cluster" aria-label="ensemble">
                <h2>{ "Ensemble A" }</h2>
                <div class="servers">
                    { for playground.servers().into_iter().map(|s| html! {
                        <ServerCard key={s.id.0} server={s.clone()} on_action={dispatch.clone()} />
                    }) }
                </div>
            </section>
            <section class="trace" aria-label="trace">
                <h2>{ "Trace" }</h2>
                <ol id="trace">
                    { for playground.trace.iter().map(|line| html! { <li>{ line }</li> }) }
                </ol>
            </section>
        </main>
    }
}
