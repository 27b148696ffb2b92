use super::px;
use crate::state::{name, Action};
use crate::view::{
    client_message_class, client_message_help, message_class, message_help, message_label, role_help,
    role_word, ClusterView,
};
use yew::prelude::*;
use zoolab_core::ids::ServerId;
use zoolab_core::scenario::classroom::{Control, Lock};
use zoolab_core::scenario::ServerName;
use zoolab_core::sim::{Role, ServerView};

/// Properties of a [`cluster_panel`].
pub struct ClusterProps {
    /// The cluster as drawn.
    pub cluster: ClusterView,
    /// The server in the inspector.
    pub selected: Option<ServerName>,
    /// Where the user's actions go (acting while viewing the past forks the run).
    pub on_action: Callback<Action>,
    /// A teacher's lock: the server buttons it does not allow are hidden (their space
    /// kept, so nothing moves).
    pub lock: Option<Lock>,
}

const W: f64 = 320.0;
const H: f64 = 250.0;
const R: f64 = 92.0;
const NODE: f64 = 23.0;

/// Where the clients sit: the ring's corners, then its sides.
const CLIENT_SLOTS: [(f64, f64); 6] =
    [(30.0, 14.0), (290.0, 14.0), (30.0, 238.0), (290.0, 238.0), (22.0, 131.0), (298.0, 131.0)];

fn pos(i: usize, n: usize) -> (f64, f64) {
    let a = -std::f64::consts::FRAC_PI_2 + (i as f64) * std::f64::consts::TAU / (n.max(1) as f64);
    (W / 2.0 + R * cos(a), H / 2.0 + 6.0 + R * sin(a))
}

// In the browser, the JavaScript engine's `Math.cos`/`Math.sin`: Rust's own (libm's
// argument reduction and kernels) cost about 5 KB of the bundle for these two calls.
// Positions are drawn rounded to a tenth of a pixel (`px`), so a last-bit difference
// between the two never shows.
#[cfg(target_arch = "wasm32")]
use js_sys::Math::{cos, sin};
#[cfg(not(target_arch = "wasm32"))]
fn cos(a: f64) -> f64 {
    a.cos()
}
#[cfg(not(target_arch = "wasm32"))]
fn sin(a: f64) -> f64 {
    a.sin()
}

fn node_shape(s: &ServerView) -> Html {
    let class = classes!("node", role_word(s).to_ascii_lowercase());
    match s.role {
        Role::Leading => html! {
            <>
                <circle class={class.clone()} r={px(NODE)} />
                <circle class="node-ring" r={px(NODE + 5.0)} />
            </>
        },
        Role::Observing => {
            let d = NODE * 0.9;
            html! { <rect class={class} x={px(-d)} y={px(-d)} width={px(2.0 * d)} height={px(2.0 * d)} rx="4" /> }
        }
        Role::Down => html! {
            <>
                <circle class={class} r={px(NODE)} />
                <path class="node-cross" d="M-13,-13 L13,13 M13,-13 L-13,13" />
            </>
        },
        _ => html! { <circle class={class} r={px(NODE)} /> },
    }
}

/// One cluster: its servers on a ring with their links, the messages in flight on the
/// links, cut links drawn cut, and below a card per server with its numbers and controls.
/// A plain function, not a component (about 3 KB of the bundle each): its `on_action` is
/// a new callback at every render of the App, so as a component it was drawn again
/// every time anyway.
pub fn cluster_panel(props: &ClusterProps) -> Html {
    let c = &props.cluster;
    let n = c.servers.len();
    let idx = |id: u64| (id as usize).saturating_sub(1);
    let mut links = Vec::new();
    for i in 0..n {
        for j in i + 1..n {
            let (a, b) = (c.servers[i].id.0, c.servers[j].id.0);
            let ab = c.cuts.contains(&(a, b));
            let ba = c.cuts.contains(&(b, a));
            let (x1, y1) = pos(i, n);
            let (x2, y2) = pos(j, n);
            let (class, title) = match (ab, ba) {
                (false, false) => ("link", format!("s{a} ↔ s{b}: connected")),
                (true, true) => ("link cut", format!("s{a} ↔ s{b}: cut both ways (partition)")),
                (true, false) => ("link cut oneway", format!("s{a} → s{b} cut; s{b} → s{a} still arrives")),
                (false, true) => ("link cut oneway", format!("s{b} → s{a} cut; s{a} → s{b} still arrives")),
            };
            let cut = ab || ba;
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
            links.push(html! {
                <g class="link-group" data-link={format!("{a}-{b}")} data-cut={cut.to_string()}>
                    <title>{ title }</title>
                    <line class={class} x1={px(x1)} y1={px(y1)} x2={px(x2)} y2={px(y2)} />
                    if cut {
                        <text class="cut-mark" x={px(mx)} y={px(my + 5.0)} text-anchor="middle">{ "✂" }</text>
                    }
                </g>
            });
        }
    }
    let messages = c.messages.iter().enumerate().map(|(k, m)| {
        let (x1, y1) = pos(idx(m.from), n);
        let (x2, y2) = pos(idx(m.to), n);
        // Offset to the sender's right so that the two directions do not overlap.
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt().max(1.0);
        let (ox, oy) = (-dy / len * 7.0, dx / len * 7.0);
        let t = m.progress;
        let (x, y) = (x1 + dx * t + ox, y1 + dy * t + oy + ((k % 3) as f64 - 1.0) * 3.0);
        let label = message_label(m.kind);
        let w = 7.0 + 6.2 * label.len() as f64;
        let onclick = {
            let cb = props.on_action.clone();
            let (cluster, from, to, kind) = (c.name.clone(), m.from, m.to, m.kind);
            Callback::from(move |_: MouseEvent| cb.emit(Action::Deliver { cluster: cluster.clone(), from, to, kind }))
        };
        html! {
            <g class={classes!("msg", message_class(m.kind))} data-kind={m.kind} data-from={m.from.to_string()} data-to={m.to.to_string()}
               transform={format!("translate({},{})", px(x), px(y))} {onclick}>
                <title>{ format!("{}\n{}\nClick to deliver it now, ahead of its time (a connection still delivers in order).", m.detail, message_help(m.kind)) }</title>
                <rect x={px(-w / 2.0)} y="-8" width={px(w)} height="16" rx="3" />
                <text y="4" text-anchor="middle">{ label }</text>
            </g>
        }
    });
    // Clients in the corners, each with its connection to its server, and the
    // client–server messages on their way along it (with `client latency`).
    let server_at = |id: u64| c.servers.iter().position(|s| s.id.0 == id).map(|i| pos(i, n));
    let client_at = |name: &str| {
        c.clients.iter().position(|k| k.name == name).map(|i| CLIENT_SLOTS[i % CLIENT_SLOTS.len()])
    };
    let client_links = c.clients.iter().enumerate().filter_map(|(i, k)| {
        let (x1, y1) = CLIENT_SLOTS[i % CLIENT_SLOTS.len()];
        let (x2, y2) = server_at(k.server?)?;
        let (class, title) = match (k.state, k.pings, k.reachable) {
            (_, _, false) => (
                "cut",
                format!(
                    "{} is cut off from the servers (its session lives until the leader expires it)",
                    k.name
                ),
            ),
            ("connected", true, _) => (
                "pings",
                format!(
                    "{} is connected to {}{}; its pings arrive and keep its session alive",
                    k.name,
                    c.name,
                    k.server.unwrap_or(0)
                ),
            ),
            ("connected", false, _) => (
                "silent",
                format!(
                    "{} is connected to {}{}, but its pings do not arrive yet",
                    k.name,
                    c.name,
                    k.server.unwrap_or(0)
                ),
            ),
            _ => (
                "connecting",
                format!("{} is opening a connection to {}{}", k.name, c.name, k.server.unwrap_or(0)),
            ),
        };
        Some(html! {
            <line class={classes!("client-link", class)} x1={px(x1)} y1={px(y1)} x2={px(x2)} y2={px(y2)}>
                <title>{ title }</title>
            </line>
        })
    });
    let client_messages = c.client_messages.iter().enumerate().filter_map(|(k, m)| {
        let (cx, cy) = client_at(&m.client)?;
        let (sx, sy) = server_at(m.server)?;
        let ((x1, y1), (x2, y2)) = if m.to_server { ((cx, cy), (sx, sy)) } else { ((sx, sy), (cx, cy)) };
        let t = m.progress;
        let (x, y) = (x1 + (x2 - x1) * t, y1 + (y2 - y1) * t + ((k % 3) as f64 - 1.0) * 3.0);
        let w = 8.0 + 5.6 * m.label.chars().count() as f64;
        let arrow = if m.to_server { format!("{} → {}{}", m.client, c.name, m.server) } else { format!("{}{} → {}", c.name, m.server, m.client) };
        Some(html! {
            <g class={classes!("cmsg", client_message_class(m.kind))} data-kind={m.kind} data-client={m.client.clone()}
               transform={format!("translate({},{})", px(x), px(y))}>
                <title>{ format!("{arrow}: {}\n{}\nIt arrives after the client latency.", m.detail, client_message_help(m.kind)) }</title>
                <rect x={px(-w / 2.0)} y="-7" width={px(w)} height="14" rx="1" transform="skewX(-14)" />
                <text y="3.5" text-anchor="middle">{ m.label.clone() }</text>
            </g>
        })
    });
    let client_nodes = c.clients.iter().enumerate().map(|(i, k)| {
        let (x, y) = CLIENT_SLOTS[i % CLIENT_SLOTS.len()];
        let w = 10.0 + 5.8 * k.name.chars().count() as f64;
        html! {
            <g class={classes!("client-node", k.state)} data-client={k.name.clone()} data-state={k.state}
               transform={format!("translate({},{})", px(x), px(y))}>
                <title>{ format!("client {}: {}{}", k.name, k.state, k.server.map_or(String::new(), |s| format!(" to {}{s}", c.name))) }</title>
                <rect x={px(-w / 2.0)} y="-8" width={px(w)} height="16" rx="2" />
                <text y="3.5" text-anchor="middle">{ k.name.clone() }</text>
            </g>
        }
    });
    let nodes = c.servers.iter().enumerate().map(|(i, s)| {
        let (x, y) = pos(i, n);
        let sel = props.selected.as_ref().is_some_and(|x| x.cluster == c.name && u64::from(x.id) == s.id.0);
        let onclick = {
            let cb = props.on_action.clone();
            let nm = name(&c.name, s.id);
            Callback::from(move |_: MouseEvent| cb.emit(Action::Select(Some(nm.clone()))))
        };
        html! {
            <g class={classes!("server-node", sel.then_some("selected"))} transform={format!("translate({},{})", px(x), px(y))} {onclick}
               data-node={format!("{}{}", c.name, s.id)}>
                <title>{ format!("{}{}: {}", c.name, s.id, role_help(s)) }</title>
                { node_shape(s) }
                <text class="node-name" y="1" text-anchor="middle">{ format!("{}{}", c.name, s.id) }</text>
                <text class="node-role" y="13" text-anchor="middle">{ short_role(s) }</text>
            </g>
        }
    });
    let spare = c.servers.iter().find(|s| !s.member && s.role != Role::Down).map(|s| name(&c.name, s.id));
    let add_spare = spare.map(|sp| {
        let cb = props.on_action.clone();
        let label = format!("+ {}{} to config", sp.cluster, sp.id);
        let title = format!(
            "Reconfigure cluster {0}: add {0}{1} (outside the configuration) as a voter — the page's client sends `reconfig -add server.{1}=…`",
            sp.cluster, sp.id
        );
        let locked = props.lock.as_ref().is_some_and(|l| !l.allows(Control::Client));
        html! {
            <button class="add-spare" id={format!("add-spare-{}", c.name)} {title} disabled={locked}
                    onclick={Callback::from(move |_: MouseEvent| cb.emit(Action::AddToConfig(sp.clone())))}>{ label }</button>
        }
    });
    html! {
        <section key={c.index} class="cluster" aria-label={format!("cluster {}", c.name)} data-cluster={c.name.clone()}>
            <h2>
                { format!("Cluster {} ", c.name) }
                <span class="muted">{ membership(&c.servers) }</span>
                { for add_spare }
                if props.lock.is_none() {
                    <button class="remove-cluster close" id={format!("remove-cluster-{}", c.name)}
                            title={format!("Remove cluster {} from the world (the run replays without it; refused while a step uses it)", c.name)}
                            onclick={let cb = props.on_action.clone(); let n = c.name.clone(); Callback::from(move |e: MouseEvent| { e.stop_propagation(); cb.emit(Action::RemoveCluster(n.clone())) })}>{ "×" }</button>
                }
            </h2>
            <svg class="ring" viewBox={format!("0 0 {} {}", px(W), px(H))} role="img"
                 aria-label={format!("cluster {}: servers, links and messages in flight", c.name)}>
                { for links }
                { for client_links }
                { for messages }
                { for nodes }
                { for client_nodes }
                { for client_messages }
            </svg>
            <p class="rule" title="The seed article's rule: every new logical stamp is the maximum of what a quorum has seen, plus one. Here: the leader's new epoch, from the accepted epochs of the leader and the followers that joined it first.">
                { c.epoch_rule.clone().unwrap_or_else(|| "no election finished yet".into()) }
            </p>
            <p class="rule config-rule" title="The same rule for configurations: a reconfiguration's version is its transaction's zxid, the leader's newest zxid plus one, so every new configuration's version is above every earlier one (shown once a reconfig is activated)">
                { c.config_rule.clone().unwrap_or_else(|| "config: the initial one (version 0)".into()) }
            </p>
            <div class="servers">
                { for c.servers.iter().map(|s| server_card(&c.name, s, props)) }
            </div>
        </section>
    }
}

fn short_role(s: &ServerView) -> &'static str {
    if s.paused && s.role != Role::Down {
        return "PAUSED";
    }
    match s.role {
        Role::Leading => "LEAD",
        Role::Following => "FOLLOW",
        Role::Looking => "LOOK",
        Role::Observing => "OBSERVE",
        Role::Down => "DOWN",
    }
}

fn server_card(cluster: &str, s: &ServerView, props: &ClusterProps) -> Html {
    let id: ServerId = s.id;
    let nm = name(cluster, id);
    let act = |f: fn(ServerName) -> Action| {
        let cb = props.on_action.clone();
        let nm = nm.clone();
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            cb.emit(f(nm.clone()))
        })
    };
    let select = {
        let cb = props.on_action.clone();
        let nm = nm.clone();
        Callback::from(move |_: MouseEvent| cb.emit(Action::Select(Some(nm.clone()))))
    };
    let down = s.role == Role::Down;
    let locked = |c: Control| props.lock.as_ref().is_some_and(|l| !l.allows(c)).then_some("locked");
    let role = role_word(s);
    let sel = props.selected.as_ref().is_some_and(|x| *x == nm);
    let (member_word, member_help) = crate::migview::membership(s);
    let member_mark = if !s.member {
        "◌ "
    } else if s.observer {
        "◇ "
    } else {
        "● "
    };
    html! {
        <article class={classes!("server", role.to_ascii_lowercase(), sel.then_some("selected"))}
                 data-server={format!("{cluster}{id}")} data-role={role.clone()} onclick={select}>
            <div class="server-head">
                <span class="server-id">{ format!("{cluster}{id}") }</span>
                <span class="role" title={role_help(s)}>{ role }</span>
            </div>
            <div class={classes!("member", (!s.member).then_some("out"))} title={member_help}>{ member_mark }{ member_word }</div>
            <dl>
                <dt title="epoch: the leader generation this server is in (its currentEpoch)">{ "epoch" }</dt>
                <dd class="epoch">{ s.epoch.0 }</dd>
                <dt title="last zxid: the newest transaction id in its log; zxid = epoch in the high 32 bits, counter in the low">{ "last" }</dt>
                <dd class="last-zxid">{ s.last_zxid.to_string() }</dd>
                <dt title="committed: the newest transaction it knows a quorum has logged">{ "commit" }</dt>
                <dd class="committed">{ s.committed_zxid.to_string() }</dd>
            </dl>
            <div class="server-actions">
                if down {
                    <button class={classes!("restart", locked(Control::Restart))} disabled={locked(Control::Restart).is_some()} title="Restart: recover from what it wrote to disk and rejoin as LOOKING" onclick={act(Action::Restart)}>{ "Restart" }</button>
                } else {
                    <button class={classes!("kill", locked(Control::Kill))} disabled={locked(Control::Kill).is_some()} title="Kill: crash it; it keeps only what its disk acknowledged" onclick={act(Action::Kill)}>{ "Kill" }</button>
                }
                <button class={classes!("freeze", locked(Control::Pause))} disabled={down || locked(Control::Pause).is_some()} title="Pause it for 1 s, like a long garbage-collection pause" onclick={act(Action::Freeze)}>{ "Pause" }</button>
                if s.member {
                    <button class={classes!("unconfig", locked(Control::Client))} disabled={locked(Control::Client).is_some()}
                            title="Remove it from the configuration (reconfig -remove): it keeps running, but its vote no longer counts" onclick={act(Action::RemoveFromConfig)}>{ "− cfg" }</button>
                } else {
                    <button class={classes!("config", locked(Control::Client))} disabled={down || locked(Control::Client).is_some()}
                            title="Add it to the configuration as a voter (reconfig -add server.N=…): once committed its vote counts" onclick={act(Action::AddToConfig)}>{ "+ cfg" }</button>
                }
                <button class={classes!("isolate", locked(Control::Partition))} disabled={down || locked(Control::Partition).is_some()} title="Isolate: cut every link between it and the others" onclick={act(Action::Isolate)}>{ "Isolate" }</button>
            </div>
        </article>
    }
}

/// `· 3 servers, 1 observer, 2 spares`: voters, observers and servers outside the
/// configuration (spares, or servers reconfigured out), as the configuration has them.
fn membership(servers: &[zoolab_core::sim::ServerView]) -> String {
    let count = |f: &dyn Fn(&zoolab_core::sim::ServerView) -> bool| servers.iter().filter(|s| f(s)).count();
    let voters = count(&|s| s.member && !s.observer);
    let observers = count(&|s| s.member && s.observer);
    let spares = count(&|s| !s.member);
    let plural = |n: usize, word: &str| format!(", {n} {word}{}", if n == 1 { "" } else { "s" });
    let mut text = format!("· {voters} server{}", if voters == 1 { "" } else { "s" });
    if observers > 0 {
        text += &plural(observers, "observer");
    }
    if spares > 0 {
        text += &plural(spares, "spare");
    }
    text
}
