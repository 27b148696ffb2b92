//! The client console of a cluster: zkCli's command language for one of its clients,
//! with path completion (Tab) from the connected server's tree, command history (↑/↓),
//! the results and watch events, and a table of the clients' operations.

use super::use_value;
use crate::state::Action;
use crate::view::{Completion, ConsoleView};
use web_sys::{HtmlInputElement, HtmlSelectElement, KeyboardEvent};
use yew::prelude::*;

/// How many typed commands the ↑/↓ history keeps.
pub const MAX_INPUT_HISTORY: usize = 100;

/// Properties of the [`ZkConsole`].
#[derive(Properties, PartialEq)]
pub struct ConsoleProps {
    /// Every cluster (a tab each).
    pub clusters: Vec<String>,
    /// The console of the cluster chosen, or `None` when no client connects to it.
    pub view: Option<ConsoleView>,
    /// The cluster chosen.
    pub cluster: String,
    /// Whether a teacher's lock withholds the clients' commands.
    #[prop_or_default]
    pub locked: bool,
    /// Completes the path at the end of a line for a client: (client, line) → completion.
    pub complete: Callback<(String, String), Completion>,
    /// Where commands and the choice of cluster or client go.
    pub on_action: Callback<Action>,
}

/// Command history navigation: the line ↑ (`back`) or ↓ shows, and the new position.
/// `pos == history.len()` is the line being typed (`draft`).
pub fn navigate(history: &[String], pos: usize, back: bool, draft: &str) -> (usize, String) {
    let pos = pos.min(history.len());
    let next = if back { pos.saturating_sub(1) } else { (pos + 1).min(history.len()) };
    let line = history.get(next).cloned().unwrap_or_else(|| draft.to_string());
    (next, line)
}

/// A cluster's zkCli console.
#[function_component(ZkConsole)]
pub fn zk_console(props: &ConsoleProps) -> Html {
    let input = use_node_ref();
    // Typed commands (for ↑/↓), the position in them, the line being typed.
    let history = use_value(Vec::<String>::new());
    let pos = use_value(0usize);
    let draft = use_value(String::new());
    let note = use_value(None::<(bool, String)>); // (error?, text) under the prompt

    let client = props.view.as_ref().map(|v| v.client.clone()).unwrap_or_default();
    let onsubmit = {
        let (cb, input, history, pos, note, client) = (
            props.on_action.clone(),
            input.clone(),
            history.clone(),
            pos.clone(),
            note.clone(),
            client.clone(),
        );
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(el) = input.cast::<HtmlInputElement>() else { return };
            let line = el.value().trim().to_string();
            if line.is_empty() || client.is_empty() {
                return;
            }
            match zoolab_core::zkcli::parse(&line) {
                Ok(cmd) => {
                    cb.emit(Action::Command(format!("{client}: {cmd}")));
                    note.set(None);
                    el.set_value("");
                }
                Err(err) => note.set(Some((true, err.to_string()))),
            }
            let mut h = (*history).clone();
            if h.last() != Some(&line) {
                h.push(line);
            }
            let skip = h.len().saturating_sub(MAX_INPUT_HISTORY);
            h.drain(..skip);
            pos.set(h.len());
            history.set(h);
        })
    };
    let onkeydown = {
        let (complete, history, pos, draft, note, client) = (
            props.complete.clone(),
            history.clone(),
            pos.clone(),
            draft.clone(),
            note.clone(),
            client.clone(),
        );
        Callback::from(move |e: KeyboardEvent| {
            let el: HtmlInputElement = e.target_unchecked_into();
            match e.key().as_str() {
                "Tab" => {
                    e.prevent_default();
                    let c = complete.emit((client.clone(), el.value()));
                    el.set_value(&c.line);
                    note.set((!c.candidates.is_empty()).then(|| (false, c.candidates.join("  "))));
                }
                k @ ("ArrowUp" | "ArrowDown") => {
                    e.prevent_default();
                    if *pos >= history.len() && k == "ArrowUp" {
                        draft.set(el.value());
                    }
                    let (p, line) = navigate(&history, *pos, k == "ArrowUp", &draft);
                    pos.set(p);
                    el.set_value(&line);
                }
                _ => {}
            }
        })
    };
    let tab = |name: &String| {
        let cb = props.on_action.clone();
        let n = name.clone();
        let onclick = Callback::from(move |_| cb.emit(Action::Console(n.clone(), None)));
        let current = *name == props.cluster;
        html! {
            <button role="tab" aria-selected={current.to_string()} class={classes!("tab", current.then_some("current"))}
                    data-console-tab={name.clone()} {onclick} title={format!("The clients of cluster {name}")}>
                { format!("cluster {name}") }
            </button>
        }
    };
    let Some(v) = &props.view else {
        return html! {
            <section class="panel zkconsole" id="zkconsole" aria-label="client console">
                <div class="tabs" role="tablist">{ for props.clusters.iter().map(tab) }</div>
                <p class="muted">{ format!("No client connects to cluster {}.", props.cluster) }</p>
            </section>
        };
    };
    let on_client = {
        let cb = props.on_action.clone();
        let cluster = props.cluster.clone();
        Callback::from(move |e: Event| {
            let s: HtmlSelectElement = e.target_unchecked_into();
            cb.emit(Action::Console(cluster.clone(), Some(s.value())));
        })
    };
    html! {
        <section class="panel zkconsole" id="zkconsole" aria-label="client console" data-cluster={v.cluster.clone()}>
            <div class="tabs" role="tablist">
                { for props.clusters.iter().map(tab) }
                <label class="client-choice" title="The client whose session types the commands">
                    { "client " }
                    <select id="console-client" onchange={on_client}>
                        { for v.clients.iter().map(|c| html! { <option value={c.clone()} selected={*c == v.client}>{ c.clone() }</option> }) }
                    </select>
                </label>
            </div>
            <div class="zk-grid">
                <div class="zk-term">
                    // The scroller keeps its end (the latest line) in view: a column-reverse
                    // box starts scrolled to its end; the list inside stays in time order.
                    <div class="zk-scroll">
                    <ol class="zk-lines" id="zk-lines" aria-live="polite">
                        { for v.lines.iter().map(|l| html! {
                            <li class={classes!(l.kind, l.status)}>
                                <span class="t">{ format!("{:>6} ms ", l.time_ms) }</span>
                                if l.kind == "command" {
                                    <span class="cmd">{ l.text.clone() }</span>
                                    <span class="res">{ match l.status { "ok" => format!("✓ {}", l.result), "failed" => format!("✗ {}", l.result), _ => "… pending".to_string() } }</span>
                                } else {
                                    <span class="ev">{ format!("◆ {}", l.text) }</span>
                                }
                            </li>
                        }) }
                    </ol>
                    </div>
                    <form class="zk-prompt" {onsubmit}>
                        <label for="zk-input" class="prompt" id="zk-prompt">{ v.prompt.clone() }</label>
                        <input id="zk-input" ref={input} autocomplete="off" spellcheck="false" disabled={props.locked}
                               placeholder={if props.locked { "locked by the teacher" } else { "create /x data · ls / · get -w /x · set /x v · Tab completes a path · ↑/↓ history" }}
                               {onkeydown} />
                    </form>
                    <p class={classes!("zk-note", note.as_ref().map(|(err, _)| if *err { "error" } else { "candidates" }))} id="zk-note">
                        { note.as_ref().map(|(err, t)| if *err { format!("✗ {t}") } else { t.clone() }).unwrap_or_default() }
                    </p>
                </div>
                <div class="zk-history">
                    <p id="history-verdict" class={classes!("verdict", if v.verdict.0 { "solved" } else { "failed" })}
                        title="The history checker: writes linearizable, each session's replies in order with zxids never going back, a read after sync up to date, a watch firing once and before its change is seen">
                        { if v.verdict.0 { "✓ " } else { "✗ " } }{ v.verdict.1.clone() }
                    </p>
                    // Scrolled to its end: the latest operations in view.
                    <div class="history-scroll"><div>
                    if v.history_hidden > 0 {
                        <p class="muted">{ format!("{} older operations not listed", v.history_hidden) }</p>
                    }
                    <table class="history" id="history" title="Every operation of this cluster's clients: invocation and completion (simulated ms), the result or error, the zxid of the reply">
                        <thead><tr>
                            <th>{ "client" }</th><th>{ "command" }</th><th>{ "invoked" }</th><th>{ "completed" }</th>
                            <th>{ "result" }</th><th>{ "zxid" }</th>
                        </tr></thead>
                        <tbody>
                            { for v.history.iter().map(|r| html! {
                                <tr class={r.status}>
                                    <td>{ r.client.clone() }</td><td><code>{ r.command.clone() }</code></td>
                                    <td>{ r.invoked_ms }</td>
                                    <td>{ r.completed_ms.map_or_else(|| "…".to_string(), |t| t.to_string()) }</td>
                                    <td class="result">{ r.result.clone() }</td>
                                    <td>{ r.zxid.clone().unwrap_or_default() }</td>
                                </tr>
                            }) }
                        </tbody>
                    </table>
                    </div></div>
                </div>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::navigate;

    #[test]
    fn up_and_down_walk_the_history_and_come_back_to_the_draft() {
        let h = vec!["ls /".to_string(), "get /x".to_string()];
        assert_eq!(navigate(&h, 2, true, "cre"), (1, "get /x".into()));
        assert_eq!(navigate(&h, 1, true, "cre"), (0, "ls /".into()));
        assert_eq!(navigate(&h, 0, true, "cre"), (0, "ls /".into()), "stops at the oldest");
        assert_eq!(navigate(&h, 0, false, "cre"), (1, "get /x".into()));
        assert_eq!(navigate(&h, 1, false, "cre"), (2, "cre".into()), "back to what was being typed");
        assert_eq!(navigate(&[], 0, true, ""), (0, String::new()));
    }
}
