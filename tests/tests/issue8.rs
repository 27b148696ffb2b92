//! Issue 8's remaining playground features in the served page: client traffic drawn
//! on its way, the network settings form, the migration panel's `into` / `on conflict`
//! / run choices, scrubbing a long run from checkpoints, and a walk through the
//! issue's list of controls. Screenshots go to tests/artifacts/.

use fantoccini::Locator;
use std::time::Duration;
use zoolab_e2e::Session;

const ENTER: &str = "\u{E007}";

/// A value the page's JavaScript returns.
async fn js(s: &Session, script: &str) -> serde_json::Value {
    s.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}"))
}

/// Sets a form field's value and fires its `change` (what a user's edit does).
async fn set_field(s: &Session, css: &str, value: &str) {
    let script = "const e = document.querySelector(arguments[0]); e.value = arguments[1]; \
                  e.dispatchEvent(new Event('change', {bubbles: true})); return true;";
    s.client
        .execute(script, vec![serde_json::json!(css), serde_json::json!(value)])
        .await
        .unwrap_or_else(|e| panic!("set {css}: {e}"));
}

/// Types a step into the step console.
async fn step(s: &Session, line: &str) {
    let input = s.client.find(Locator::Css("#command")).await.unwrap();
    input.send_keys(&format!("{line}{ENTER}")).await.unwrap();
}

/// The event count shown (`event 12 / 40 · …`).
async fn position(s: &Session) -> u64 {
    s.text("#position").await.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn scenario_text(s: &Session) -> String {
    s.prop("#scenario-text", "textContent").await.unwrap_or_default()
}

/// The page fits a 1280-pixel-wide window: no horizontal scrolling.
async fn fits_the_width(s: &Session) {
    let wide = js(s, "return document.documentElement.scrollWidth").await.as_f64().unwrap();
    let inner = js(s, "return window.innerWidth").await.as_f64().unwrap();
    assert!(wide <= inner, "the page is {wide} px wide in a {inner} px window");
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn client_traffic_is_drawn_on_its_way_once_client_latency_is_on() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    s.click("#run").await;
    s.wait_for("[data-cluster='a'] .server[data-role='LEADING']").await;
    // Each cluster's client sits by its ring, connected to a server, its pings arriving.
    assert_eq!(s.attr(".client-node[data-client='you_a']", "data-state").await.as_deref(), Some("connected"));
    assert_eq!(s.count("[data-cluster='a'] .client-link.pings").await, 1);
    assert_eq!(s.count(".cmsg").await, 0, "no client latency: client traffic takes no time");

    // The network settings form, prefilled with the world's settings.
    set_field(&s, "#network", "custom").await;
    s.wait_for("#network-form").await;
    assert_eq!(s.prop("#net-lat-max", "value").await.as_deref(), Some("5"));
    assert_eq!(s.prop("#net-client", "value").await.as_deref(), Some("0"));
    let client = s.client.find(Locator::Css("#net-client")).await.unwrap();
    client.clear().await.unwrap();
    client.send_keys("40").await.unwrap();
    s.click("#net-apply").await;
    s.wait_gone("#network-form").await;
    assert!(scenario_text(&s)
        .await
        .contains("change network latency 1ms..5ms loss 0% duplicate 0% client latency 40ms"));

    // A write: its request travels to the server, then its reply back.
    s.click("#write-a").await;
    let mut request = false;
    for _ in 0..300 {
        if s.count("[data-cluster='a'] .cmsg[data-kind='REQUEST']").await > 0 {
            request = true;
            break;
        }
        s.click("#step").await;
    }
    assert!(request, "the request was drawn on its way");
    let label = s.text("[data-cluster='a'] .cmsg[data-kind='REQUEST'] text").await;
    assert_eq!(label, "create", "labelled with its command, not only coloured");
    s.screenshot("client-request-in-flight").await;
    let mut reply = false;
    for _ in 0..600 {
        if s.count("[data-cluster='a'] .cmsg[data-kind='REPLY']").await > 0 {
            reply = true;
            break;
        }
        s.click("#step").await;
    }
    assert!(reply, "the reply was drawn on its way back");
    assert!(s.text("[data-cluster='a'] .cmsg[data-kind='REPLY'] text").await.starts_with("↩ ok"));
    s.screenshot("client-reply-in-flight").await;
    fits_the_width(&s).await;

    // The same state, from a link, in a fresh browser.
    s.click("#share").await;
    s.wait_for("#share-link").await; // the browser deflates it: a moment later
    let link = s.prop("#share-link", "value").await.unwrap();
    let hash = s.text("#trace-hash").await;
    let t = Session::open_at(&link).await;
    t.wait_for("[data-cluster='a'] .cmsg[data-kind='REPLY']").await;
    assert_eq!(t.text("#trace-hash").await, hash);
    s.close().await;
    t.close().await;
}

/// Scrubs to `to` as the range input does, and how long the page took to show it (ms).
async fn scrub_to(s: &Session, to: u64) -> f64 {
    let script = "const e = document.querySelector('#scrubber'); const t0 = performance.now(); \
                  e.value = arguments[0]; e.dispatchEvent(new Event('change', {bubbles: true})); \
                  return new Promise(done => { const check = () => { \
                    const p = document.querySelector('#position').textContent; \
                    if (p.startsWith('event ' + arguments[0] + ' ')) { done(performance.now() - t0); } \
                    else { setTimeout(check, 1); } }; check(); });";
    s.client
        .execute(script, vec![serde_json::json!(to.to_string())])
        .await
        .unwrap_or_else(|e| panic!("scrub to {to}: {e}"))
        .as_f64()
        .unwrap()
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_long_run_scrubs_back_and_forth_fast_and_exactly() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    set_field(&s, "#speed", "7").await; // 100×
    s.click("#play").await;
    // Played until past 20,000 events: 4 s at 100× on an idle machine (the page plays
    // slower than the speed asks when a frame has no time for more: `FRAME_BUDGET_MS`).
    tokio::time::sleep(Duration::from_millis(4_000)).await;
    for _ in 0..120 {
        if position(&s).await > 20_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    s.click("#play").await;
    let head = position(&s).await;
    assert!(head > 20_000, "a long run: {head} events");
    let head_hash = s.text("#trace-hash").await;

    let mut times = Vec::new();
    let mut hashes = Vec::new();
    for to in [head / 2, head / 4, head / 2, head - 1, head / 3 + 7, 100, head / 2] {
        times.push((to, scrub_to(&s, to).await));
        assert_eq!(position(&s).await, to);
        hashes.push((to, s.text("#trace-hash").await));
    }
    // The same position twice: the same state.
    let at_half: Vec<&String> = hashes.iter().filter(|(p, _)| *p == head / 2).map(|(_, h)| h).collect();
    assert!(at_half.windows(2).all(|w| w[0] == w[1]), "{hashes:?}");
    // ← from there: one event back.
    let t0 = js(&s, "return performance.now()").await.as_f64().unwrap();
    s.client.find(Locator::Css("body")).await.unwrap().send_keys("\u{E012}").await.unwrap();
    let back = js(&s, "return performance.now()").await.as_f64().unwrap() - t0;
    assert_eq!(position(&s).await, head / 2 - 1);
    println!("scrubbing a run of {head} events in the browser (ms): {times:?}; ← {back:.0} ms (with WebDriver's round trip)");
    s.client
        .execute("document.querySelector('.timeline').scrollIntoView(); return true", vec![])
        .await
        .unwrap();
    s.screenshot("timeline-long-run-scrubbed").await;

    // A link made in the past reopens exactly that state in a fresh browser.
    scrub_to(&s, head / 3 + 7).await;
    s.click("#share").await;
    s.wait_for("#share-link").await; // the browser deflates it: a moment later
    let link = s.prop("#share-link", "value").await.unwrap();
    let past = s.text("#trace-hash").await;
    let t = Session::open_at(&link).await;
    t.wait_for(".server").await;
    assert_eq!(t.text("#trace-hash").await, past);
    assert_eq!(position(&t).await, head / 3 + 7);
    t.close().await;
    // And the end again, byte for byte.
    s.click("#live").await;
    s.wait_gone("#past").await;
    assert_eq!(s.text("#trace-hash").await, head_hash);
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn the_migration_panel_moves_a_subtree_into_another_path_and_runs_gate_by_gate() {
    let s = Session::open().await;
    s.wait_for("#migration").await;
    step(&s, "run until a has a leader").await;
    step(&s, "run until b has a leader").await;
    step(&s, "run until you_a is connected").await;
    step(&s, "you_a: create /app v1").await;
    step(&s, "you_a: create /app/conf c").await;
    step(&s, "you_b: create /moved old").await;
    s.click("#run").await;

    set_field(&s, "#mig-subtree", "/app").await;
    set_field(&s, "#mig-into", "/moved").await;
    set_field(&s, "#mig-conflict", "overwrite").await;
    s.click("#mig-start").await;
    s.wait_for("#migration[data-phase='draft']").await;
    assert!(s.text(".mig-statement").await.contains("subtree /app into /moved on conflict overwrite"));
    // Run to the next gate: one phase.
    assert!(s.text("#mig-run-until").await.contains("to the next gate (preflight)"));
    s.click("#mig-run").await;
    s.wait_for("#migration[data-phase='preflight']").await;
    assert!(s.text("#mig-run-until").await.contains("to the next gate (seed)"));
    // Then to a chosen phase, then to the end within a bound.
    set_field(&s, "#mig-run-until", "verify").await;
    s.click("#mig-run").await;
    s.wait_for("#migration[data-phase='verify']").await;
    set_field(&s, "#mig-run-until", "end").await;
    set_field(&s, "#mig-within", "40").await;
    s.click("#mig-run").await;
    s.wait_for("#migration[data-phase='committed']").await;
    let text = scenario_text(&s).await;
    assert!(
        text.contains(
            "migration run until preflight\nmigration run until verify\nmigration run within 40s\n"
        ),
        "{text}"
    );
    assert_eq!(s.count("#mig-rules li.broken").await, 0);
    // The subtree is under /moved on the target, where the source's client now is
    // (the target's own sessions gave way to the imported ones).
    step(&s, "you_a: get /moved/conf").await;
    s.click("#run").await;
    assert!(s.text("#clients").await.contains("ok \"c\""), "{}", s.text("#clients").await);
    fits_the_width(&s).await;
    s.client
        .execute("document.querySelector('#migration').scrollIntoView(); return true", vec![])
        .await
        .unwrap();
    s.screenshot("migration-into-committed").await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn issue_8_controls_walkthrough() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    // A first visit offers a scenario, and every control says what it does.
    assert!(s.text("#banner").await.starts_with("New here?"));
    let untitled = js(
        &s,
        "return [...document.querySelectorAll('button, select, input')]\
         .filter(e => !e.title && !e.closest('[title]') && !e.getAttribute('aria-label') && !e.placeholder)\
         .map(e => e.id || e.className || e.textContent).slice(0, 20)",
    )
    .await;
    assert_eq!(untitled, serde_json::json!([]), "controls without a tooltip or label");
    s.screenshot("walk-first-visit").await;
    fits_the_width(&s).await;

    // Speeds from 0.1× to 100×; the seed; reset.
    let mut speeds = Vec::new();
    for o in s.client.find_all(Locator::Css("#speed option")).await.unwrap() {
        speeds.push(o.text().await.unwrap());
    }
    assert_eq!(speeds.first().map(String::as_str), Some("0.1×"));
    assert_eq!(speeds.last().map(String::as_str), Some("100×"));
    s.click("#run").await;
    let seeded = s.text("#trace-hash").await;
    set_field(&s, "#seed", "7").await;
    assert_eq!(position(&s).await, 0, "a new seed starts the world over");
    s.click("#run").await;
    assert_ne!(s.text("#trace-hash").await, seeded);
    set_field(&s, "#seed", "1").await;
    s.click("#run").await;
    assert_eq!(s.text("#trace-hash").await, seeded, "the same seed, the same run");
    s.click("#reset").await;
    assert_eq!(position(&s).await, 0);
    s.click("#run").await;

    // Step to the next message of a chosen kind.
    s.click("#write-a").await;
    set_field(&s, "#step-kind", "3").await; // COMMIT
    s.click("#step-to").await;
    let trace = s.text("#trace").await;
    assert!(trace.contains("COMMIT"), "{trace}");

    // Per server: pause, isolate, kill, restart.
    s.click(".server[data-server='b1'] .freeze").await;
    assert_eq!(s.attr(".server[data-server='b1']", "data-role").await.as_deref(), Some("PAUSED"));
    s.click(".server[data-server='b2'] .isolate").await;
    assert_eq!(s.count("[data-cluster='b'] [data-cut='true']").await, 4);
    s.click(".server[data-server='b3'] .kill").await;
    assert_eq!(s.attr(".server[data-server='b3']", "data-role").await.as_deref(), Some("DOWN"));
    s.screenshot("walk-faults").await;
    s.click(".server[data-server='b3'] .restart").await;
    assert_eq!(s.attr(".server[data-server='b3']", "data-role").await.as_deref(), Some("LOOKING"));
    s.click("#heal").await;
    // Network presets are steps of the run.
    set_field(&s, "#network", "2").await;
    assert!(scenario_text(&s).await.contains("change network loss 5%"));
    set_field(&s, "#network", "0").await;
    assert!(scenario_text(&s).await.contains("change network latency 1ms..5ms loss 0% duplicate 0%"));
    s.click("#run").await;

    // The console: zkCli's commands, each a step of the run.
    let commands = [
        "create /app x",
        "create -e /app/eph e",
        "create -s /app/seq- s",
        "create -c /box",
        "set /app y",
        "get /app",
        "ls /app",
        "stat /app",
        "sync /app",
        "addWatch -m PERSISTENT /app",
        "multi create /m1 1 ; create /m2 2",
        "create /gone g",
        "delete /gone",
        "create /tree t",
        "create /tree/leaf l",
        "deleteall /tree",
    ];
    for c in commands {
        let input = s.client.find(Locator::Css("#zk-input")).await.unwrap();
        input.send_keys(&format!("{c}{ENTER}")).await.unwrap();
        let note =
            if s.count("#zk-note.error").await > 0 { s.text("#zk-note.error").await } else { String::new() };
        assert!(note.is_empty(), "{c}: {note}");
    }
    s.click("#run").await;
    s.click("#run").await;
    let mut failed = Vec::new();
    for row in s.client.find_all(Locator::Css("#history tbody tr")).await.unwrap() {
        let class = row.attr("class").await.unwrap().unwrap_or_default();
        if class != "ok" {
            failed.push(row.text().await.unwrap());
        }
    }
    assert!(failed.is_empty(), "every command succeeded: {failed:?}");
    assert!(s.text("#history-verdict").await.starts_with("✓"), "{}", s.text("#history-verdict").await);
    s.client
        .execute("document.querySelector('#zkconsole').scrollIntoView(); return true", vec![])
        .await
        .unwrap();
    s.screenshot("walk-console").await;

    // The inspector: the log with its committed mark, votes, tree, sessions; compare.
    let leader = s.attr("[data-cluster='a'] .server[data-role='LEADING']", "data-server").await.unwrap();
    s.click(&format!(".server[data-server='{leader}']")).await;
    s.wait_for(".inspector .log li.committed").await;
    assert!(s.text(".inspector").await.contains("/app"), "its tree");
    assert!(s.count("#sessions tr").await >= 2, "its sessions");
    s.click("#cmp-go").await;
    s.wait_for("#cmp-result").await;
    s.client
        .execute("document.querySelector('.inspector').scrollIntoView(); return true", vec![])
        .await
        .unwrap();
    s.screenshot("walk-inspector").await;

    // Clusters: add one, remove it again; the page stays 1280 wide.
    s.click("#add-cluster").await;
    s.wait_for("[data-cluster='c']").await;
    fits_the_width(&s).await;
    s.click("#remove-cluster-c").await;
    s.wait_gone("[data-cluster='c']").await;
    s.close().await;
}
