//! The migration panel, reconfiguration, hand delivery and the violation banners in the
//! served page (issue 8). Screenshots go to tests/artifacts/.

use fantoccini::Locator;
use zoolab_e2e::Session;
use zoolab_web::state::{Playground, Source};

const PHASES: [&str; 10] = [
    "draft",
    "preflight",
    "seed",
    "catch-up",
    "verify",
    "freeze",
    "final-sync",
    "cut-over",
    "soak",
    "committed",
];

async fn phase(s: &Session) -> String {
    s.attr("#migration", "data-phase").await.unwrap_or_default()
}

/// Clicks through JavaScript when a real click lands on another element (SVG shapes
/// overlap): the same handler runs.
async fn click_js(s: &Session, css: &str) {
    let script = "const e = document.querySelector(arguments[0]); \
                  e.dispatchEvent(new MouseEvent('click', {bubbles: true})); return true;";
    s.client
        .execute(script, vec![serde_json::json!(css)])
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// A number the page's JavaScript returns.
async fn js_number(s: &Session, script: &str) -> f64 {
    s.client.execute(script, vec![]).await.unwrap_or_else(|e| panic!("{script}: {e}")).as_f64().unwrap()
}

/// The page fits a 1280-pixel-wide window: no horizontal scrolling.
async fn fits_the_width(s: &Session) {
    let (wide, inner) = (
        js_number(s, "return document.documentElement.scrollWidth").await,
        js_number(s, "return window.innerWidth").await,
    );
    assert!(wide <= inner, "the page is {wide} px wide in a {inner} px window");
}

/// Where an element's top is on the page (not the viewport).
async fn top_of(s: &Session, css: &str) -> f64 {
    js_number(
        s,
        &format!("return document.querySelector(\"{css}\").getBoundingClientRect().top + window.scrollY"),
    )
    .await
}

async fn show(s: &Session, css: &str) {
    s.client
        .execute(&format!("document.querySelector(\"{css}\").scrollIntoView(); return true"), vec![])
        .await
        .unwrap();
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn stepping_a_migration_phase_by_phase_reaches_commit_with_every_rule_green() {
    let s = Session::open().await;
    s.wait_for("#migration").await;
    s.click("#run").await;
    s.wait_for("[data-cluster='a'] .server[data-role='LEADING']").await;
    s.wait_for("[data-cluster='b'] .server[data-role='LEADING']").await;
    for _ in 0..3 {
        s.click("#write-a").await;
    }
    s.click("#run").await;

    // The strategies come from the language's list.
    let mut offered = Vec::new();
    for o in s.client.find_all(Locator::Css("#mig-via option")).await.unwrap() {
        offered.push(o.attr("value").await.unwrap().unwrap_or_default());
    }
    assert!(
        offered.contains(&"snapshot".to_string()) && offered.contains(&"client-api".to_string()),
        "{offered:?}"
    );
    s.click("#mig-start").await;
    s.wait_for("#migration[data-phase='draft']").await;
    assert_eq!(s.count("#mig-phases li").await, 10, "every phase listed from the start");
    assert!(s.text("#mig-now").await.contains("to leave:"), "the current gate is shown");
    assert!(s.text("#mig-phases li[data-phase='seed']").await.contains("to leave:"), "and every later one");

    fits_the_width(&s).await;
    let mut seen = vec![phase(&s).await];
    let rules_at = top_of(&s, "#mig-rules").await;
    let bottom_at = top_of(&s, "#mig-phases li[data-phase='committed']").await;
    for _ in 0..80 {
        if seen.last().map(String::as_str) == Some("committed") {
            break;
        }
        if s.count("#mig-phases li.current.open").await > 0 {
            s.click("#mig-step").await;
        } else {
            s.click("#run").await;
        }
        let p = phase(&s).await;
        if seen.last() != Some(&p) {
            if p == "catch-up" {
                assert!(
                    s.text("#mig-progress .lag").await.ends_with("txns"),
                    "the tail lag in zxids is shown"
                );
            }
            seen.push(p);
            // No layout shift as the migration advances.
            assert_eq!(
                top_of(&s, "#mig-rules").await,
                rules_at,
                "the rules moved in {}",
                seen.last().unwrap()
            );
            assert_eq!(top_of(&s, "#mig-phases li[data-phase='committed']").await, bottom_at);
        }
    }
    assert_eq!(seen, PHASES, "each phase in order");
    assert_eq!(s.count("#mig-phases li.done").await, 10, "committed is final: done too");
    assert!(s.text("#mig-now").await.contains("over"));
    assert_eq!(s.count("#mig-rules li.holds").await, 5, "every migration rule green");
    assert_eq!(s.count("#mig-rules li.broken").await, 0);
    assert_eq!(s.text("#mig-progress .diffs").await, "0");
    let stamp = s.text("#mig-stamp").await;
    assert!(stamp.starts_with("stamp = max(") && stamp.ends_with("+ 1 = 1"), "{stamp}");
    assert_eq!(s.count("#violation, #migration-violation").await, 0);
    let text = s.client.find(Locator::Css("#scenario-text")).await.unwrap().html(true).await.unwrap();
    assert!(
        text.contains("migrate a -&gt; b via snapshot") || text.contains("migrate a -> b via snapshot"),
        "{text}"
    );
    assert!(text.contains("migration step"), "{text}");
    fits_the_width(&s).await;
    show(&s, "#migration").await;
    s.screenshot("migration-committed").await;

    // Share reopens the same run in a fresh browser, committed.
    let hash = s.text("#trace-hash").await;
    s.click("#share").await;
    s.wait_for("#share-link").await;
    let link = s.prop("#share-link", "value").await.unwrap();
    s.close().await;
    let t = Session::open_at(&link).await;
    t.wait_for("#migration[data-phase='committed']").await;
    assert_eq!(t.text("#trace-hash").await, hash);
    t.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_spare_added_by_reconfig_becomes_a_voter_and_a_voter_can_be_removed() {
    let s = Session::open().await;
    s.wait_for("#builtin").await;
    s.client.find(Locator::Css("#builtin")).await.unwrap().select_by_value("reconfig-3-to-5").await.unwrap();
    s.click("#open-builtin-start").await;
    s.wait_for(".server[data-server='a5']").await;
    let head = s.text("[data-cluster='a'] h2").await.to_lowercase();
    assert!(head.contains("3 servers, 2 spares"), "{head}");
    assert!(s.text(".server[data-server='a4'] .member").await.contains("not in config"));
    s.click("#run").await;
    s.click("#run").await;
    s.wait_for("[data-cluster='a'] .server[data-role='LEADING']").await;
    assert_eq!(s.attr(".server[data-server='a4']", "data-role").await.as_deref(), Some("FOLLOWING"));

    s.click("#add-spare-a").await;
    for _ in 0..5 {
        s.click("#run").await;
        if s.text(".server[data-server='a4'] .member").await.contains("voter") {
            break;
        }
    }
    assert!(s.text(".server[data-server='a4'] .member").await.contains("voter"), "a4 became a voter");
    assert!(s.text("[data-cluster='a'] h2").await.to_lowercase().contains("4 servers, 1 spare"));
    s.screenshot("reconfig-spare-added").await;

    // Remove a follower with its card's button.
    let follower = s.attr("[data-cluster='a'] .server[data-role='FOLLOWING']", "data-server").await.unwrap();
    s.click(&format!(".server[data-server='{follower}'] .unconfig")).await;
    for _ in 0..5 {
        s.click("#run").await;
        if s.text(&format!(".server[data-server='{follower}'] .member")).await.contains("not in config") {
            break;
        }
    }
    assert!(s.text(&format!(".server[data-server='{follower}'] .member")).await.contains("not in config"));
    let text = s.prop("#scenario-text", "textContent").await.unwrap_or_default();
    assert!(text.contains("reconfig -add server.4=server4:2888:3888:participant;2181"), "{text}");
    assert!(text.contains(&format!("reconfig -remove {}", &follower[1..])), "{text}");
    assert_eq!(s.count("#violation").await, 0);
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn clicking_a_message_in_flight_delivers_it_and_records_the_step() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    s.click("#run").await;
    s.wait_for("[data-cluster='a'] .server[data-role='LEADING']").await;
    s.click("#write-a").await;
    // Step until a PROPOSAL is in flight first on its connection, then click it.
    let mut target = None;
    for _ in 0..40 {
        let msgs = s.client.find_all(Locator::Css("[data-cluster='a'] .msg")).await.unwrap();
        let mut earlier = Vec::new();
        for m in msgs {
            let kind = m.attr("data-kind").await.unwrap().unwrap_or_default();
            let pair =
                (m.attr("data-from").await.unwrap().unwrap(), m.attr("data-to").await.unwrap().unwrap());
            if kind == "PROPOSAL" && !earlier.contains(&pair) {
                target = Some(pair);
                break;
            }
            earlier.push(pair);
        }
        if target.is_some() {
            break;
        }
        s.click("#step").await;
    }
    let (from, to) = target.expect("the leader proposes the write");
    let before: u64 = s.text("#position").await.split_whitespace().nth(1).unwrap().parse().unwrap();
    let css = format!("[data-cluster='a'] .msg[data-kind='PROPOSAL'][data-from='{from}'][data-to='{to}']");
    if s.client.find(Locator::Css(&css)).await.unwrap().click().await.is_err() {
        click_js(&s, &css).await;
    }
    let after: u64 = s.text("#position").await.split_whitespace().nth(1).unwrap().parse().unwrap();
    let banner = if s.count("#banner").await > 0 { s.text("#banner").await } else { String::new() };
    assert_eq!(after, before + 1, "exactly one event: the delivery ({banner})");
    assert_eq!(s.count("#banner.error").await, 0);
    let text = s.prop("#scenario-text", "textContent").await.unwrap_or_default();
    assert!(text.contains(&format!("deliver a{from} -> a{to} PROPOSAL")), "{text}");
    s.screenshot("message-delivered-by-hand").await;
    s.close().await;
}

fn with_bug(name: &str, bug: &str) -> Playground {
    let text = zoolab_core::scenario::library::builtin(name).unwrap();
    let text = text.replacen("\ncluster ", &format!("\nbug {bug}\ncluster "), 1);
    Playground::open(&Source::Text(text)).unwrap()
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_broken_zab_shows_the_violation_banner_at_its_step_and_server() {
    let p = with_bug("trunc-uncommitted-proposal", "skip-trunc");
    let want = zoolab_web::view::violation(&p).expect("skip-trunc breaks an invariant here");
    let s = Session::open_at(&p.make_link().unwrap()).await;
    s.wait_for("#violation").await;
    let banner = s.text("#violation").await;
    assert!(banner.contains(&format!("At event {} (t = {} ms)", want.step, want.time_ms)), "{banner}");
    assert!(banner.contains(&format!("{} reported: {}", want.server, want.what)), "{banner}");
    let (n, step) = want.scenario_step.clone().expect("the step that was running");
    assert!(banner.contains(&format!("During step {n} of the scenario: {step}.")), "{banner}");
    assert!(banner.contains(&format!("Servers involved: {}.", want.servers.join(", "))), "{banner}");
    assert!(s.count(".invariants li.broken").await >= 1);
    assert_eq!(s.attr("#play", "disabled").await.as_deref(), Some("true"), "the run stopped");
    s.screenshot("violation-banner").await;
    // "Show the event before" scrubs to the state just before it: no banner there.
    s.click("#violation-before").await;
    s.wait_for("#past").await;
    assert_eq!(s.count("#violation").await, 0);
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_broken_migration_turns_its_rule_red_and_stops_the_run() {
    let p = with_bug("migrate-copy-and-cut-over", "migration-no-zxid-raise");
    let want = zoolab_web::migview::violation(&p).expect("the target's zxid is not raised");
    let s = Session::open_at(&p.make_link().unwrap()).await;
    s.wait_for("#migration-violation").await;
    let banner = s.text("#migration-violation").await;
    assert!(banner.contains(want.rule) && banner.contains("a → b"), "{banner}");
    assert!(banner.contains(&format!("event {}", want.step)), "{banner}");
    let (n, step) = want.scenario_step.clone().expect("the step that was running");
    assert!(banner.contains(&format!("During step {n} of the scenario: {step}.")), "{banner}");
    assert!(banner.contains(&format!("Servers involved: {}.", want.servers.join(", "))), "{banner}");
    assert_eq!(s.count("#mig-rules li.broken").await, 1);
    assert_eq!(s.attr("#mig-rules li.broken", "data-rule").await.as_deref(), Some(want.rule));
    show(&s, "#migration").await;
    s.screenshot("migration-rule-broken").await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn clusters_are_added_and_removed_from_the_page() {
    let s = Session::open().await;
    s.wait_for("#add-cluster").await;
    s.click("#run").await;
    s.click("#add-cluster").await;
    s.wait_for("[data-cluster='c']").await;
    assert_eq!(s.count(".cluster").await, 3);
    assert!(
        s.prop("#scenario-text", "textContent").await.unwrap().contains("cluster c with 3 servers"),
        "the header gained it"
    );
    assert_eq!(s.count("[data-cluster='c'] .server[data-role='LEADING']").await, 1, "replayed: it elected");
    fits_the_width(&s).await;
    s.screenshot("cluster-added").await;
    s.click("#remove-cluster-b").await;
    s.wait_gone("[data-cluster='b']").await;
    assert_eq!(s.count(".cluster").await, 2);
    s.close().await;
}
