//! Live mode (`/#live`): a running ensemble, as `zoolab play --attach` polls it. The
//! simulator's visual language — the ring of servers with their roles, the server cards
//! (role, epoch, last and committed zxid, plus connections, outstanding requests and
//! latency) — with banners for what is wrong (the play server gone, the ensemble
//! unreachable, a member down, no leader, divergence), the role changes as they happen,
//! one member's tree as that member serves it (compared with another's on request), and
//! a zkCli console whose session's watch events arrive as lines. Nothing of the
//! simulator's controls: the ensemble is real, faults happen to its processes.
//!
//! To keep the bundle small, what only shows text (cards' rows, banners, the tree, the
//! comparison, the console's lines) is written as escaped HTML ([`esc`]) rather than
//! through `html!`, whose code is per element; presses are read by one listener per
//! region from the target's `data-index` / `data-compare`. The inputs stay `html!`
//! elements, so a redraw never takes their focus or their text.

use crate::data::{exec, fetch_compare, fetch_snapshot, fetch_tree, Member, Obj, Snapshot};
use std::cell::RefCell;
use std::fmt::Write;
use std::rc::Rc;
use web_sys::{Element, HtmlInputElement};
use yew::prelude::*;

/// Console lines the page keeps.
const LINES: usize = 300;
/// The page's tick (ms): the picture every tick, the chosen member's tree every
/// [`TREE_TICKS`] ticks.
const TICK_MS: u32 = 500;
const TREE_TICKS: u32 = 4;

/// The page's state.
#[derive(Clone, Default)]
struct Live {
    snap: Option<Snapshot>,
    error: Option<String>,
    lines: Vec<Obj>,
    missed: u64,
    next: u64,
    member: Option<usize>,
    root: String,
    tree: Option<Result<Obj, String>>,
    compare: Option<Result<Obj, String>>,
    pending: Option<String>,
}

enum Msg {
    Snap(Result<Snapshot, String>),
    Tree(Result<Obj, String>),
    Select(usize),
    Root(String),
    Compared(Option<Result<Obj, String>>),
    Pending(Option<String>),
}

impl Reducible for Live {
    type Action = Msg;
    fn reduce(self: Rc<Self>, msg: Msg) -> Rc<Self> {
        let mut s = (*self).clone();
        match msg {
            Msg::Snap(Ok(snap)) => {
                let (next, theirs) = (s.next, snap.0.num("next").unwrap_or(0));
                if theirs < next {
                    // The play server restarted: its log starts again (the timer asks from 0).
                    s.next = 0;
                } else {
                    s.missed += snap.0.num("missed").unwrap_or(0);
                    s.lines.extend(snap.lines().into_iter().filter(|l| l.num("seq").unwrap_or(0) > next));
                    s.next = theirs;
                }
                let extra = s.lines.len().saturating_sub(LINES);
                s.lines.drain(..extra);
                s.missed += extra as u64;
                s.snap = Some(snap);
                s.error = None;
            }
            Msg::Snap(Err(e)) => s.error = Some(e),
            // A late answer for a member no longer chosen is dropped.
            Msg::Tree(t) => {
                if t.as_ref().map_or(true, |t| t.num("member").map(|m| m as usize) == s.member) {
                    s.tree = Some(t);
                }
            }
            Msg::Select(i) => {
                if s.member != Some(i) {
                    s.member = Some(i);
                    s.tree = None;
                    s.compare = None;
                }
            }
            Msg::Root(r) => {
                s.root = r;
                s.compare = None;
            }
            Msg::Compared(c) => s.compare = c,
            Msg::Pending(p) => s.pending = p,
        }
        Rc::new(s)
    }
}

/// What the timer's closure reads (the reducer's state is not reachable from it).
#[derive(Default)]
struct Want {
    after: u64,
    member: Option<usize>,
    root: String,
    busy: bool,
    /// Asked again while a fetch was out: fetch once more when it is back (one fetch at
    /// a time, so answers arrive in order and a cursor never goes back).
    again: bool,
    tree_busy: bool,
    ticks: u32,
}

type Shared = Rc<RefCell<Want>>;
type Dispatch = UseReducerDispatcher<Live>;

fn fetch_live(want: &Shared, live: &Dispatch) {
    if std::mem::replace(&mut want.borrow_mut().busy, true) {
        want.borrow_mut().again = true;
        return;
    }
    let after = want.borrow().after;
    let (want, live) = (want.clone(), live.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let r = fetch_snapshot(after).await;
        let first = {
            let mut w = want.borrow_mut();
            w.busy = false;
            match &r {
                Ok(s) => {
                    let next = s.0.num("next").unwrap_or(0);
                    w.after = if next < w.after { 0 } else { next };
                    s.default_member().filter(|_| w.member.is_none())
                }
                Err(_) => None,
            }
        };
        live.dispatch(Msg::Snap(r));
        if let Some(i) = first {
            select(&want, &live, i);
        }
        if std::mem::take(&mut want.borrow_mut().again) {
            fetch_live(&want, &live);
        }
    });
}

fn load_tree(want: &Shared, live: &Dispatch) {
    let (member, root) = {
        let w = want.borrow();
        (w.member, w.root.clone())
    };
    let Some(member) = member else { return };
    if std::mem::replace(&mut want.borrow_mut().tree_busy, true) {
        return;
    }
    let (want, live) = (want.clone(), live.clone());
    wasm_bindgen_futures::spawn_local(async move {
        let r = fetch_tree(member, if root.is_empty() { "/" } else { &root }).await;
        want.borrow_mut().tree_busy = false;
        live.dispatch(Msg::Tree(r));
    });
}

fn select(want: &Shared, live: &Dispatch, i: usize) {
    {
        let mut w = want.borrow_mut();
        w.member = Some(i);
        w.tree_busy = false;
    }
    live.dispatch(Msg::Select(i));
    load_tree(want, live);
}

fn compare(want: &Shared, live: &Dispatch, other: usize) {
    let (member, root) = {
        let w = want.borrow();
        (w.member, if w.root.is_empty() { "/".to_string() } else { w.root.clone() })
    };
    let Some(member) = member else { return };
    live.dispatch(Msg::Compared(None));
    let live = live.clone();
    wasm_bindgen_futures::spawn_local(async move {
        live.dispatch(Msg::Compared(Some(fetch_compare(member, other, &root).await)));
    });
}

/// The `data-NAME` number of the clicked element or its closest ancestor that has one.
fn picked(e: &MouseEvent, name: &str) -> Option<usize> {
    let t: Element = e.target_dyn_into()?;
    let sel = format!("[data-{name}]");
    t.closest(&sel).ok()??.get_attribute(&format!("data-{name}"))?.parse().ok()
}

/// Text escaped for HTML (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn raw(html: String) -> Html {
    Html::from_html_unchecked(html.into())
}

fn seconds(ms: u64) -> String {
    format!("{:.0} s", ms as f64 / 1000.0)
}

/// The role as the ring writes it.
fn short(state: &str) -> &'static str {
    match state {
        "leader" => "LEAD",
        "follower" => "FOLLOW",
        "observer" => "OBSERVE",
        "standalone" => "ALONE",
        "looking" => "LOOK",
        "down" => "DOWN",
        _ => "?",
    }
}

/// The ring: the members around a circle with the simulator's shapes (leader: double
/// ring; observer: square; down: cross; looking: dashed; style.css draws them), a line
/// from the leader to each member (dashed when that member does not serve). A click on a
/// member picks it (`data-index`).
fn ring(members: &[Member], selected: Option<usize>) -> String {
    let n = members.len().max(1) as f64;
    let pos = |i: usize| {
        let a = -std::f64::consts::FRAC_PI_2 + i as f64 * std::f64::consts::TAU / n;
        (150.0 + 70.0 * a.cos(), 95.0 + 70.0 * a.sin())
    };
    let mut h = String::from(
        "<svg class=\"ring live-ring\" viewBox=\"0 0 300 190\" role=\"img\" aria-label=\"the attached ensemble's members\">",
    );
    if let Some(l) = members.iter().position(|m| m.state() == "leader") {
        let (x1, y1) = pos(l);
        for (i, m) in members.iter().enumerate().filter(|(i, _)| *i != l) {
            let (x2, y2) = pos(i);
            let class = if m.serving() { "link" } else { "link cut" };
            let _ = write!(
                h,
                "<line class=\"{class}\" x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"/>"
            );
        }
    }
    for (i, m) in members.iter().enumerate() {
        let (x, y) = pos(i);
        let state = m.state();
        let class = m.role().to_ascii_lowercase();
        let _ = write!(
            h,
            "<g class=\"server-node{}\" transform=\"translate({x:.1},{y:.1})\" data-node=\"live{}\" data-index=\"{}\">\
             <title>{} on {}: {}</title>",
            if selected == Some(m.index()) { " selected" } else { "" },
            m.0.show("id"),
            m.index(),
            m.name(),
            esc(&m.0.str("addr")),
            esc(&state),
        );
        if state == "observer" {
            let _ = write!(
                h,
                "<rect class=\"node {class}\" x=\"-19\" y=\"-19\" width=\"38\" height=\"38\" rx=\"4\"/>"
            );
        } else {
            let _ = write!(h, "<circle class=\"node {class}\" r=\"21\"/>");
        }
        if state == "leader" {
            h.push_str("<circle class=\"node-ring\" r=\"26\"/>");
        }
        if state == "down" {
            h.push_str("<path class=\"node-cross\" d=\"M-12,-12 L12,12 M12,-12 L-12,12\"/>");
        }
        let _ = write!(
            h,
            "<text class=\"node-name\" y=\"1\" text-anchor=\"middle\">{}</text>\
             <text class=\"node-role\" y=\"12\" text-anchor=\"middle\">{}</text></g>",
            m.name(),
            short(&state)
        );
    }
    h.push_str("</svg>");
    h
}

/// A card's rows: label, JSON field, the `dd`'s class (as the simulator's cards name
/// them), what it means.
const ROWS: [(&str, &str, &str, &str); 9] = [
    (
        "epoch",
        "epoch",
        "epoch",
        "the leader generation it is in (Apache ZooKeeper does not say: its last zxid's)",
    ),
    ("last", "zxid", "last-zxid", "the newest transaction it has"),
    ("commit", "committed", "committed", "the newest it knows a quorum logged (zoolab reports it)"),
    ("lag", "lag", "lag", "transactions behind the newest member of its epoch"),
    ("conns", "connections", "connections", "client connections"),
    ("queue", "outstanding", "outstanding", "requests received and not yet answered"),
    ("latency", "latency", "latency", "request latency min/avg/max (ms)"),
    ("znodes", "znodes", "znodes", "znodes in its tree"),
    ("watches", "watches", "watches", "watches set on it"),
];

/// The server cards (a click on one picks it: the section's listener reads `data-index`).
fn cards(members: &[Member], selected: Option<usize>) -> String {
    let mut h = String::new();
    for m in members {
        let (role, name, addr) = (m.role(), m.name(), esc(&m.0.str("addr")));
        let title = match m.0.text("error") {
            Some(e) => format!("{name} ({addr}): {}", esc(&e)),
            None => format!("{} answers on {addr}; click to see its tree", role.to_ascii_lowercase()),
        };
        let _ = write!(
            h,
            "<article class=\"server {}{}\" data-server=\"live{}\" data-role=\"{role}\" data-index=\"{}\" title=\"{title}\">\
             <div class=\"server-head\"><span class=\"server-id\">{name}</span><span class=\"role\">{role}</span></div><dl>",
            role.to_ascii_lowercase(),
            if selected == Some(m.index()) { " selected" } else { "" },
            m.0.show("id"),
            m.index(),
        );
        for (dt, key, class, help) in ROWS {
            let _ =
                write!(h, "<dt title=\"{help}\">{dt}</dt><dd class=\"{class}\">{}</dd>", esc(&m.0.show(key)));
        }
        h.push_str("</dl>");
        if let Some(f) = m.0.text("followers") {
            let _ = write!(
                h,
                "<p class=\"muted addr\" title=\"followers synced / learners\">synced {}</p>",
                esc(&f)
            );
        }
        if let Some(ms) = m.0.num("down_for_ms") {
            let _ = write!(h, "<p class=\"down-for\">down for {}</p>", seconds(ms));
        }
        let _ = write!(h, "<p class=\"muted addr\">{addr}</p></article>");
    }
    h
}

fn banners(live: &Live) -> Html {
    let mut h = String::new();
    let mut banner = |attrs: &str, text: &str| {
        let _ = write!(h, "<p class=\"banner error\" {attrs}>{}</p>", esc(text));
    };
    if let Some(e) = &live.error {
        let stale = if live.snap.is_some() { " The picture below is the last one received." } else { "" };
        banner(
            "id=\"live-error\"",
            &format!("The play server does not answer ({e}). Start the page with `zoolab play --attach host:clientPort,…`.{stale}"),
        );
    }
    if let Some(s) = &live.snap {
        let members = s.members();
        let down: Vec<&Member> = members.iter().filter(|m| m.state() == "down").collect();
        if !members.is_empty() && down.len() == members.len() {
            banner(
                "id=\"live-unreachable\"",
                &format!(
                    "The ensemble is unreachable: none of its {} members answers ({}). Still polling every {} ms.",
                    members.len(),
                    down[0].0.str("error"),
                    s.0.show("poll_ms")
                ),
            );
        } else {
            for m in down {
                let t = m.0.num("down_for_ms").map(|t| format!(" for {}", seconds(t))).unwrap_or_default();
                banner(
                    &format!("data-down=\"{}\"", m.name()),
                    &format!("{} ({}) is down{t}: {}", m.name(), m.0.str("addr"), m.0.str("error")),
                );
            }
            if !members.iter().any(Member::serving) && members.iter().any(|m| m.state() == "looking") {
                banner(
                    "id=\"live-no-leader\"",
                    "No member serves: the ensemble is electing a leader (LOOKING).",
                );
            }
        }
        if s.0.flag("diverged") {
            banner("id=\"live-diverged\"", &s.0.str("agreement"));
        }
    }
    raw(h)
}

fn tree_html(t: &Obj, name: &str) -> String {
    let root = t.str("root");
    let depth0 = root.matches('/').count() - usize::from(root == "/");
    let nodes = t.list("nodes");
    let mut h = match t.text("error") {
        Some(e) => {
            format!(
                "<p class=\"banner error\" id=\"live-tree-head\">{name}: the tree could not be read: {}</p>",
                esc(&e)
            )
        }
        None => format!(
            "<p class=\"muted\" id=\"live-tree-head\">{name} serves {} znodes under {} at zxid {}</p>",
            nodes.len(),
            esc(&root),
            esc(&t.show("zxid"))
        ),
    };
    h.push_str("<ul id=\"live-tree\">");
    for z in nodes {
        let path = z.str("path");
        // `data` is JSON null for null data (a create without data).
        let (data, bytes, kids) =
            (z.text("data"), z.num("bytes").unwrap_or(0), z.num("children").unwrap_or(0));
        let depth = path.matches('/').count() - usize::from(path == "/") - depth0;
        let eph = z.flag("ephemeral");
        let (version, mzxid) = (esc(&z.show("version")), esc(&z.show("mzxid")));
        let _ = write!(
            h,
            "<li data-path=\"{}\"{} style=\"padding-left:{depth}em\" title=\"version {version}, mzxid {mzxid}, {bytes} bytes{}\"><code>{}</code>",
            esc(&path),
            if eph { " class=\"ephemeral\"" } else { "" },
            if eph { ", ephemeral" } else { "" },
            esc(path.rsplit('/').next().filter(|s| !s.is_empty()).unwrap_or("/")),
        );
        match data {
            // Too long to preview.
            Some(d) if d.is_empty() && bytes > 0 => {
                let _ = write!(h, "<span class=\"muted\"> ({bytes} bytes)</span>");
            }
            // As the simulator's inspector shows data: text quoted, null bare.
            Some(d) => {
                let _ = write!(h, "<span class=\"data\"> = {}</span>", esc(&format!("{d:?}")));
            }
            None => h.push_str("<span class=\"data\"> = null</span>"),
        }
        if kids > 0 {
            let _ = write!(h, "<span class=\"muted\"> · {kids} children</span>");
        }
        let _ = write!(h, "<span class=\"zx\"> v{version} {mzxid}</span></li>");
    }
    h.push_str("</ul>");
    if t.flag("truncated") {
        let _ = write!(
            h,
            "<p class=\"muted\" id=\"live-tree-cut\">Only the first {} znodes (breadth first) are shown: enter a path to see a subtree.</p>",
            t.show("limit")
        );
    }
    h
}

fn compare_html(c: &Obj) -> String {
    let names = c.strings("names");
    let (a, b) = (names.first().cloned().unwrap_or_default(), names.get(1).cloned().unwrap_or_default());
    let bad_digest = c.bool("digest_same") == Some(false);
    let mut items: Vec<String> = c.strings("only_a").iter().map(|p| format!("only on {a}: {p}")).collect();
    items.extend(c.strings("only_b").iter().map(|p| format!("only on {b}: {p}")));
    items.extend(
        c.list("differ")
            .iter()
            .map(|d| format!("{}: {a} {} · {b} {}", d.str("path"), d.str("a"), d.str("b"))),
    );
    if let Some(n) = c.num("more").filter(|&n| n > 0) {
        items.push(format!("… and {n} more"));
    }
    let mut h = format!(
        "<div class=\"live-compare {}\" id=\"live-compare\">",
        if c.flag("same") && !bad_digest { "same" } else { "differ" }
    );
    if let Some(e) = c.text("error") {
        let _ = write!(h, "<p class=\"banner error\">{}</p>", esc(&e));
    }
    let _ = write!(
        h,
        "<p class=\"verdict\">{} <span class=\"muted\">({})</span></p><p class=\"digest{}\">{}</p><ul>",
        esc(&c.str("verdict")),
        esc(&c.str("at")),
        if bad_digest { " bad" } else { "" },
        esc(&c.str("digest"))
    );
    for i in items {
        let _ = write!(h, "<li>{}</li>", esc(&i));
    }
    h.push_str("</ul></div>");
    h
}

fn lines_html(live: &Live) -> String {
    let mut h = String::new();
    if live.missed > 0 {
        let _ = write!(h, "<li class=\"muted\">({} earlier lines not shown)</li>", live.missed);
    }
    for l in &live.lines {
        let kind = esc(&l.str("kind"));
        let cmd = kind == "command";
        let _ = write!(
            h,
            "<li class=\"zk-line {kind}{}\" data-seq=\"{}\"><span class=\"at\">{}</span><code class=\"{}\">{}{}</code>",
            if l.flag("ok") { "" } else { " error" },
            l.show("seq"),
            esc(&l.str("at")),
            if cmd { "cmd" } else { "ev" },
            if cmd { "&gt; " } else { "" },
            esc(&l.str("text"))
        );
        let out = l.str("output");
        if !out.is_empty() {
            let _ = write!(h, "<pre class=\"out\">{}</pre>", esc(&out));
        }
        h.push_str("</li>");
    }
    if let Some(p) = &live.pending {
        let _ = write!(h, "<li class=\"zk-line pending\"><code class=\"cmd\">&gt; {} …</code></li>", esc(p));
    }
    h
}

/// The member buttons of the tree panel: choose one (`data-index`), or compare with one
/// (`data-compare`).
fn member_buttons(members: &[Member], chosen: Option<usize>) -> String {
    let mut h = String::new();
    for m in members {
        let _ = write!(
            h,
            "<button class=\"member-tab{}\" data-index=\"{}\">{}</button>",
            if chosen == Some(m.index()) { " on" } else { "" },
            m.index(),
            m.name()
        );
    }
    if chosen.is_some() {
        for m in members.iter().filter(|m| Some(m.index()) != chosen) {
            let _ = write!(
                h,
                "<button class=\"compare-with\" data-compare=\"{}\" title=\"compare this member's tree and digest with {1}'s\">compare with {1}</button>",
                m.index(),
                m.name()
            );
        }
    }
    h
}

/// The live page.
#[function_component(LiveApp)]
pub fn live_app() -> Html {
    let live = use_reducer(Live::default);
    let want: Shared = use_mut_ref(Want::default);
    let typed: Rc<RefCell<(Vec<String>, usize)>> = use_mut_ref(Default::default);
    let input = use_node_ref();
    {
        let (want, live) = (want.clone(), live.dispatcher());
        use_effect_with((), move |_| {
            let tick = move || {
                fetch_live(&want, &live);
                let t = {
                    let mut w = want.borrow_mut();
                    w.ticks += 1;
                    w.ticks
                };
                if t % TREE_TICKS == 0 {
                    load_tree(&want, &live);
                }
            };
            tick();
            let interval = gloo::timers::callback::Interval::new(TICK_MS, tick);
            move || drop(interval)
        });
    }
    // One listener for every press that picks a member or a comparison (on mousedown: a
    // card redrawn by a poll between press and release cannot lose it).
    let onmousedown = {
        let (want, live) = (want.clone(), live.dispatcher());
        Callback::from(move |e: MouseEvent| {
            if let Some(i) = picked(&e, "compare") {
                compare(&want, &live, i);
            } else if let Some(i) = picked(&e, "index") {
                select(&want, &live, i);
            }
        })
    };
    let onchange = {
        let (want, live) = (want.clone(), live.dispatcher());
        Callback::from(move |e: Event| {
            let Some(el) = e.target_dyn_into::<HtmlInputElement>() else { return };
            let r = el.value().trim().to_string();
            {
                let mut w = want.borrow_mut();
                w.root.clone_from(&r);
                w.tree_busy = false;
            }
            live.dispatch(Msg::Root(r));
            load_tree(&want, &live);
        })
    };
    let onsubmit = {
        let (want, live, input, typed) = (want.clone(), live.dispatcher(), input.clone(), typed.clone());
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let Some(el) = input.cast::<HtmlInputElement>() else { return };
            let line = el.value();
            if line.trim().is_empty() {
                return;
            }
            el.set_value("");
            {
                let mut t = typed.borrow_mut();
                if t.0.last() != Some(&line) {
                    t.0.push(line.clone());
                    let extra = t.0.len().saturating_sub(100);
                    t.0.drain(..extra);
                }
                t.1 = t.0.len();
            }
            live.dispatch(Msg::Pending(Some(line.clone())));
            let (want, live) = (want.clone(), live.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let r = exec(&line).await;
                live.dispatch(Msg::Pending(None));
                if let Err(e) = r {
                    live.dispatch(Msg::Snap(Err(e)));
                }
                // Its line (and any event) comes with the next picture: ask now.
                fetch_live(&want, &live);
            });
        })
    };
    // ↑/↓: the lines typed before.
    let onkeydown = Callback::from(move |e: KeyboardEvent| {
        let up = match e.key().as_str() {
            "ArrowUp" => true,
            "ArrowDown" => false,
            _ => return,
        };
        let Some(el) = e.target_dyn_into::<HtmlInputElement>() else { return };
        let mut t = typed.borrow_mut();
        t.1 = if up { t.1.saturating_sub(1) } else { (t.1 + 1).min(t.0.len()) };
        el.set_value(t.0.get(t.1).map_or("", String::as_str));
        e.prevent_default();
    });
    let members = live.snap.as_ref().map(Snapshot::members).unwrap_or_default();
    let picture = match &live.snap {
        None if live.error.is_none() => html! { <p class="loading">{ "Asking the play server…" }</p> },
        None => html! {},
        Some(s) => {
            let leaders = members.iter().filter(|m| m.state() == "leader").count();
            let history: String =
                s.0.strings("history").iter().rev().take(8).map(|h| format!("<li>{}</li>", esc(h))).collect();
            html! {
                <section class="cluster live" aria-label="the attached ensemble" data-cluster="live" onmousedown={onmousedown.clone()}>
                    <h2>
                        { "Live ensemble " }
                        <span class="muted" id="live-polls">{ format!("· {} members, {leaders} leader · poll {}", members.len(), s.0.show("polls")) }</span>
                    </h2>
                    <div class="live-top">
                        { raw(ring(&members, live.member)) }
                        <div class="live-side">
                            <p class="rule" id="live-agreement" title="The members' zxids and digests side by side">{ s.0.str("agreement") }</p>
                            <pre class="live-config" id="live-config" title="conf of the leader: its server.N lines and config version">{ s.membership() }</pre>
                            <ol class="live-history" id="live-history" title="role changes seen by the polls (UTC), newest first">{ raw(history) }</ol>
                        </div>
                    </div>
                    <div class="servers">{ raw(cards(&members, live.member)) }</div>
                </section>
            }
        }
    };
    let name = |i: u64| members.iter().find(|m| m.index() as u64 == i).map(Member::name).unwrap_or_default();
    let tree = match &live.tree {
        None if live.member.is_some() => "<p class=\"muted\">Reading the tree…</p>".to_string(),
        None => "<p class=\"muted\">Pick a member.</p>".to_string(),
        Some(Err(e)) => format!("<p class=\"banner error\">The play server did not answer: {}</p>", esc(e)),
        Some(Ok(t)) => tree_html(t, &name(t.num("member").unwrap_or(0))),
    };
    let comparison = match &live.compare {
        None => String::new(),
        Some(Err(e)) => format!("<p class=\"banner error\">compare: {}</p>", esc(e)),
        Some(Ok(c)) => compare_html(c),
    };
    let session = live.snap.as_ref().map(|s| s.0.obj("session")).unwrap_or_default();
    let watches = session.strings("watches");
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
            { banners(&live) }
            { picture }
            <div class="live-body">
                <section class="live-tree panel" aria-label="a member's tree">
                    <h2 {onmousedown}>{ "Tree as served by " }{ raw(member_buttons(&members, live.member)) }</h2>
                    <label class="tree-root">{ "under " }
                        <input id="live-root" value={if live.root.is_empty() { "/".to_string() } else { live.root.clone() }} {onchange} spellcheck="false" />
                    </label>
                    { raw(tree) }
                    { raw(comparison) }
                </section>
                <section class="zk-console live-console panel" aria-label="console on the ensemble">
                    <h2>{ "Console" }</h2>
                    <p class="muted session" id="live-session">
                        { format!("session {} · {} watch(es){}{}", session.show("id"), session.show("watch_count"),
                            if watches.is_empty() { "" } else { ": " }, watches.join(", ")) }
                        { session.text("error").map(|e| format!(" · {e}")).unwrap_or_default() }
                    </p>
                    <div class="zk-scroll"><ol class="zk-lines" id="live-lines" aria-live="polite">{ raw(lines_html(&live)) }</ol></div>
                    <form class="zk-prompt" {onsubmit}>
                        <label for="live-input" class="prompt">
                            { format!("[zk: {}({}) {}]", session.show("addr"), session.text("state").unwrap_or_else(|| "CONNECTING".into()), session.str("id")) }
                        </label>
                        <input id="live-input" ref={input} autocomplete="off" spellcheck="false" {onkeydown}
                               placeholder="zkCli: get -w /a · ls -R / · addWatch /app · create -e /lock/n- x · multi … · ↑/↓ history" />
                    </form>
                </section>
            </div>
        </main>
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    #[wasm_bindgen_test]
    fn text_is_escaped_before_it_becomes_html() {
        assert_eq!(esc("<b a=\"x\">'&'</b>"), "&lt;b a=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/b&gt;");
        let t = Obj::parse(
            r#"{"member":0,"root":"/","zxid":"0x1","nodes":[{"path":"/<x>","data":"<script>","bytes":8,"children":0,
            "ephemeral":true,"version":1,"mzxid":"0x1"}],"truncated":true,"limit":500}"#,
        )
        .unwrap();
        let h = tree_html(&t, "s1");
        assert!(
            h.contains("data-path=\"/&lt;x&gt;\"")
                && h.contains(" = &quot;&lt;script&gt;&quot;")
                && !h.contains("<script>")
        );
        assert!(h.contains("class=\"ephemeral\"") && h.contains("id=\"live-tree-cut\""));
    }

    #[wasm_bindgen_test]
    fn null_data_shows_as_null_and_text_quoted() {
        let t = Obj::parse(
            r#"{"member":0,"root":"/","zxid":"0x1","nodes":[
            {"path":"/n","data":null,"bytes":0,"children":0,"version":0,"mzxid":"0x1"},
            {"path":"/e","data":"","bytes":0,"children":0,"version":0,"mzxid":"0x2"},
            {"path":"/q","data":"null","bytes":4,"children":0,"version":0,"mzxid":"0x3"},
            {"path":"/big","data":"","bytes":5000,"children":0,"version":0,"mzxid":"0x4"}]}"#,
        )
        .unwrap();
        let h = tree_html(&t, "s1");
        let item = |p: &str| {
            let at = h.find(&format!("data-path=\"{p}\"")).unwrap();
            h[at..].split("</li>").next().unwrap().to_string()
        };
        assert!(item("/n").contains("<span class=\"data\"> = null</span>"), "{h}");
        assert!(item("/e").contains(" = &quot;&quot;</span>"), "{h}");
        assert!(item("/q").contains(" = &quot;null&quot;</span>"), "{h}");
        assert!(item("/big").contains("(5000 bytes)") && !item("/big").contains(" = "), "{h}");
    }
}
