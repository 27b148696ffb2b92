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
    let on_step = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.emit(Action::Step))
    };
    let on_reset = {
        let dispatch = dispatch.clone();
        Callback::from(move |_| dispatch.emit(Action::Reset))
    };
    html! {
        <main class="playground">
            <header class="topbar">
                <h1>{ "zoolab" }</h1>
                <span class="tagline">{ "a ZooKeeper laboratory" }</span>
                <div class="controls">
                    <button id="step" title="Run one step of the simulation" onclick={on_step}>{ "Step ▸" }</button>
                    <button id="reset" title="Start over" onclick={on_reset}>{ "Reset" }</button>
                </div>
            </header>
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
