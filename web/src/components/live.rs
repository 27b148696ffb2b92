//! Live mode (`/#live`): a running ensemble, as `zoolab play --attach` polls it. The
//! same server cards as the simulator's (role, epoch, last and committed zxid), the
//! configuration, the tree and a zkCli console that writes to the ensemble. Nothing of
//! the simulator's controls: the ensemble is real, faults happen to its processes.

use crate::live::{exec, fetch_snapshot, Member, Snapshot};
use std::rc::Rc;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// How often the page asks the play server for the picture (it polls the ensemble on
/// its own clock).
const POLL_MS: u32 = 500;

/// The console's lines (command and answer).
#[derive(Default, PartialEq)]
struct Lines(Vec<(String, bool, String)>);

impl Reducible for Lines {
    type Action = (String, bool, String);
    fn reduce(self: Rc<Self>, line: Self::Action) -> Rc<Self> {
        let mut v = self.0.clone();
        v.push(line);
        Rc::new(Lines(v))
    }
}

fn card(m: &Member) -> Html {
    let role = m.role();
    let dash = || "—".to_string();
    let title =
        m.error.clone().unwrap_or_else(|| format!("{} answers on {}", role.to_ascii_lowercase(), m.addr));
    html! {
        <article class={classes!("server", role.to_ascii_lowercase())} data-server={format!("live{}", m.id)} data-role={role} title={title}>
            <div class="server-head">
                <span class="server-id">{ format!("s{}", m.id) }</span>
                <span class="role">{ role }</span>
            </div>
            <dl>
                <dt title="epoch: the leader generation this server is in (its currentEpoch)">{ "epoch" }</dt>
                <dd class="epoch">{ m.epoch.map(|e| e.to_string()).unwrap_or_else(dash) }</dd>
                <dt title="last zxid: the newest transaction id this server has">{ "last" }</dt>
                <dd class="last-zxid">{ m.zxid.clone().unwrap_or_else(dash) }</dd>
                <dt title="committed: the newest transaction it knows a quorum has logged">{ "commit" }</dt>
                <dd class="committed">{ m.committed.clone().unwrap_or_else(dash) }</dd>
                <dt title="znodes in its tree">{ "znodes" }</dt>
                <dd class="znodes">{ m.znodes.map(|n| n.to_string()).unwrap_or_else(dash) }</dd>
            </dl>
            <p class="muted addr">{ m.addr.clone() }</p>
        </article>
    }
}

fn picture(s: &Snapshot) -> Html {
    let leaders = s.members.iter().filter(|m| m.state == "leader").count();
    html! {
        <>
            <section class="cluster live" aria-label="the attached ensemble" data-cluster="live">
                <h2>
                    { "Live ensemble " }
                    <span class="muted" id="live-polls">{ format!("· {} members, {leaders} leader · poll {}", s.members.len(), s.polls) }</span>
                </h2>
                <div class="servers">{ for s.members.iter().map(card) }</div>
                <pre class="live-config" id="live-config" title="conf of a serving member: its server.N lines and config version">
                    { s.membership().join("\n") }
                </pre>
            </section>
            <section class="live-tree" aria-label="the ensemble's tree">
                <h2>{ "Tree" }</h2>
                if let Some(e) = &s.tree_error {
                    <p class="banner error">{ format!("the tree could not be read: {e}") }</p>
                }
                <ul id="live-tree">
                    { for s.tree.iter().map(|z| html! {
                        <li data-path={z.path.clone()} class={classes!(z.ephemeral.then_some("ephemeral"))}>
                            <code>{ z.path.clone() }</code>
                            if !z.data.is_empty() { <span class="data">{ format!(" = {}", z.data) }</span> }
                            if z.children > 0 { <span class="muted">{ format!(" ({} children)", z.children) }</span> }
                        </li>
                    }) }
                </ul>
                if s.tree_truncated { <p class="muted">{ "(only the first znodes are shown)" }</p> }
            </section>
        </>
    }
}

/// The live page.
#[function_component(LiveApp)]
pub fn live_app() -> Html {
    let snap = use_state(|| None::<Result<Snapshot, String>>);
    let lines = use_reducer(Lines::default);
    let input = use_node_ref();
    {
        let snap = snap.clone();
        use_effect_with((), move |_| {
            let poll = move || {
                let snap = snap.clone();
                wasm_bindgen_futures::spawn_local(async move { snap.set(Some(fetch_snapshot().await)) });
            };
            poll();
            let interval = gloo::timers::callback::Interval::new(POLL_MS, poll);
            move || drop(interval)
        });
    }
    let onsubmit = {
        let (lines, input) = (lines.dispatcher(), input.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(el) = input.cast::<HtmlInputElement>() else { return };
            let line = el.value();
            if line.trim().is_empty() {
                return;
            }
            el.set_value("");
            let lines = lines.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match exec(&line).await {
                    Ok(r) => lines.dispatch((r.command, r.ok, r.output)),
                    Err(e) => lines.dispatch((line, false, e)),
                }
            });
        })
    };
    html! {
        <main class="live-page">
            <header class="live-head">
                <h1>{ "zoolab · live" }</h1>
                <span class="muted">{ "a running ensemble, polled by zoolab play --attach" }</span>
                <a href="./" onclick={Callback::from(|_: MouseEvent| {
                    // The simulator is another page: reload without the fragment.
                    let _ = gloo::utils::window().location().set_href("./");
                })}>{ "open the simulator" }</a>
            </header>
            {
                match &*snap {
                    None => html! { <p class="loading">{ "Asking the play server…" }</p> },
                    Some(Err(e)) => html! {
                        <p class="banner error" id="live-error">
                            { format!("No live ensemble ({e}). Start the page with `zoolab play --attach host:clientPort,…`.") }
                        </p>
                    },
                    Some(Ok(s)) => picture(s),
                }
            }
            <section class="zk-console live-console" aria-label="console on the ensemble">
                <h2>{ "Console" }<span class="muted">{ " · create [-s] [-e], set, get, ls, stat, delete, sync" }</span></h2>
                <ol class="zk-lines" id="live-lines" aria-live="polite">
                    { for lines.0.iter().map(|(cmd, ok, out)| html! {
                        <li class={classes!("zk-line", (!ok).then_some("error"))}>
                            <code class="cmd">{ format!("> {cmd}") }</code>
                            if !out.is_empty() { <pre class="out">{ out.clone() }</pre> }
                        </li>
                    }) }
                </ol>
                <form class="zk-prompt" {onsubmit}>
                    <label for="live-input" class="prompt">{ "[zk: live]" }</label>
                    <input id="live-input" ref={input} autocomplete="off" spellcheck="false" />
                </form>
            </section>
        </main>
    }
}
