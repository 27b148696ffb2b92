//! The served playground in headless Chromium: what a visitor sees and does.
//! Screenshots of each go to tests/artifacts/.

use fantoccini::Locator;
use zoolab_e2e::Session;

/// The scenario name (`a3`) of the leader of cluster `c`, if one is drawn.
async fn leader(s: &Session, c: &str) -> Option<String> {
    let css = format!("[data-cluster='{c}'] .server[data-role='LEADING']");
    if s.count(&css).await == 0 {
        return None;
    }
    s.attr(&css, "data-server").await
}

async fn role(s: &Session, server: &str) -> String {
    s.attr(&format!(".server[data-server='{server}']"), "data-role").await.unwrap_or_default()
}

async fn epoch(s: &Session, server: &str) -> u32 {
    s.text(&format!(".server[data-server='{server}'] .epoch")).await.parse().unwrap()
}

async fn zxid(s: &Session, server: &str, field: &str) -> u64 {
    let t = s.text(&format!(".server[data-server='{server}'] .{field}")).await;
    u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn killing_the_leader_elects_a_new_one_in_a_higher_epoch() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    assert_eq!(s.client.title().await.unwrap(), "zoolab — a ZooKeeper laboratory");
    assert_eq!(s.count(".cluster").await, 2, "a first visit shows two ensembles");
    assert_eq!(role(&s, "a1").await, "LOOKING", "a fresh ensemble is electing");

    s.click("#run").await;
    s.wait_for("[data-cluster='a'] .server[data-role='LEADING']").await;
    let old = leader(&s, "a").await.unwrap();
    let old_epoch = epoch(&s, &old).await;
    let rule = s.text("[data-cluster='a'] .rule").await;
    assert!(rule.starts_with("new epoch = max("), "the maximum-plus-one rule is shown: {rule}");

    // A write commits on the leader.
    s.click("#write-a").await;
    s.click("#run").await;
    assert!((zxid(&s, &old, "committed").await & 0xffff_ffff) >= 1, "the write committed");
    s.screenshot("playground-elected-and-written").await;

    // Kill it: the others elect a new leader in a higher epoch.
    s.click(&format!(".server[data-server='{old}'] .kill")).await;
    assert_eq!(role(&s, &old).await, "DOWN");
    s.click("#run").await;
    s.click("#run").await;
    s.wait_for("[data-cluster='a'] .server[data-role='LEADING']").await;
    let new = leader(&s, "a").await.unwrap();
    assert_ne!(new, old);
    let new_epoch = epoch(&s, &new).await;
    assert!(new_epoch > old_epoch, "new epoch {new_epoch} > old {old_epoch}");
    let rule = s.text("[data-cluster='a'] .rule").await;
    assert!(rule.ends_with(&format!("+ 1 = {new_epoch}")), "{rule}");
    assert_eq!(s.count("#violation").await, 0, "no invariant broken");
    assert_eq!(s.count(".invariants li.holds").await, 6);
    // The inspector shows the new leader's log with the committed write.
    s.click(&format!(".server[data-server='{new}']")).await;
    s.wait_for(".inspector .log li.committed").await;
    s.screenshot("playground-after-leader-crash").await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_two_three_partition_stalls_the_minority() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    s.click("#run").await;
    s.wait_for("[data-cluster='b'] .server[data-role='LEADING']").await;

    // The partition editor: cluster b, two servers in group I and three in group II.
    s.click("#partition-open").await;
    s.client.find(Locator::Css("#partition-cluster")).await.unwrap().select_by_value("1").await.unwrap();
    s.wait_for("[data-chip='b5']").await;
    assert!(s.text("[data-chip='b2']").await.ends_with(" I"));
    assert!(s.text("[data-chip='b3']").await.ends_with(" II"));
    s.click("#partition-apply").await;
    assert_eq!(s.count("[data-cluster='b'] [data-cut='true']").await, 6, "2 × 3 links cut");
    s.click("#run").await;
    s.click("#run").await;
    assert_eq!(role(&s, "b1").await, "LOOKING");
    assert_eq!(role(&s, "b2").await, "LOOKING");
    let l = leader(&s, "b").await.expect("the majority keeps a leader");
    assert!(["b3", "b4", "b5"].contains(&l.as_str()), "{l}");

    // Writes commit on the majority side; the minority's committed zxid stands still.
    let before = zxid(&s, "b1", "committed").await;
    s.click("#write-b").await;
    s.click("#run").await;
    assert!(zxid(&s, &l, "committed").await > before);
    assert_eq!(zxid(&s, "b1", "committed").await, before, "the minority cannot commit");
    s.screenshot("playground-partition-2-3").await;

    s.click("#heal").await;
    assert_eq!(s.count("[data-cluster='b'] [data-cut='true']").await, 0);
    s.click("#run").await;
    s.click("#run").await;
    assert_eq!(role(&s, "b1").await, "FOLLOWING", "the minority rejoins after the heal");
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_shared_link_reopens_the_same_state_in_a_fresh_browser() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    s.click("#run").await;
    s.click("#write-a").await;
    for _ in 0..7 {
        s.click("#step").await;
    }
    s.click("#share").await;
    s.wait_for("#share-link").await;
    let link = s.prop("#share-link", "value").await.unwrap();
    assert!(link.starts_with("z2."), "{link}");
    let hash = s.text("#trace-hash").await;
    let position = s.text("#position").await;
    let url = s.client.current_url().await.unwrap();
    assert_eq!(url.fragment(), Some(link.as_str()), "Share puts the link in the URL");
    s.screenshot("playground-shared").await;
    s.close().await;

    let t = Session::open_at(&link).await;
    t.wait_for(".server").await;
    assert_eq!(t.text("#trace-hash").await, hash, "same trace hash in another browser");
    assert_eq!(t.text("#position").await, position);
    assert_eq!(t.count("#banner.error").await, 0);
    t.screenshot("playground-opened-link").await;
    // A link pasted into the address bar of the open page: it opens (or says why not).
    let mut bad = link.clone();
    bad.truncate(link.len() - 6);
    t.client.goto(&format!("{}#{bad}", t.url)).await.unwrap();
    t.wait_for("#banner.error").await;
    assert!(t.text("#banner").await.contains("This link does not open"));
    assert_eq!(t.text("#trace-hash").await, hash, "nothing half-loaded: the run is untouched");
    // The page deflates with the browser's CompressionStream; `zoolab run` opens its
    // links with miniz, and the page opens miniz's (every link made before): the same run.
    let (sc, at) = zoolab_core::scenario::link::decode(&link).expect("the page's link opens natively");
    assert!(position.starts_with(&format!("event {at} ")), "{position} vs {at}");
    let native = zoolab_core::scenario::link::encode(&sc, at).unwrap();
    t.client.goto(&format!("{}#{native}", t.url)).await.unwrap();
    for _ in 0..100 {
        if t.count("#banner.error").await == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(t.count("#banner.error").await, 0, "miniz's link opens in the page");
    assert_eq!(t.text("#trace-hash").await, hash, "miniz's link opens in the page");
    assert_eq!(t.text("#position").await, position);
    t.close().await;

    // A tampered link opens nothing and says why.
    let u = Session::open_at(&bad).await;
    u.wait_for("#banner").await;
    assert!(u.text("#banner").await.contains("This link does not open"));
    assert_eq!(u.text("#position").await.split(" · ").next().unwrap(), "event 0 / 0");
    u.screenshot("playground-bad-link").await;
    u.close().await;

    // A link made by the first zoolab (core's golden link tests: version 1, by miniz).
    let v = Session::open_at("z1.ASEA3v8Ac2VlZCAwCmNsdXN0ZXIgYSB3aXRoIDMgc2VydmVycwq-iLMN").await;
    v.wait_for(".server").await;
    assert_eq!(v.count("#banner.error").await, 0);
    assert_eq!(v.count("[data-cluster='a'] .server").await, 3);
    v.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn the_timeline_scrubs_back_and_forward_to_the_same_states() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    s.click("#run").await;
    s.click("#write-b").await;
    s.click("#run").await;
    let head_hash = s.text("#trace-hash").await;
    let head = s.text("#position").await;

    s.click("#scrub-back").await;
    s.wait_for("#past").await;
    // (Not every event writes a trace line, so the hash may stay; the position moves.)
    assert_ne!(s.text("#position").await, head);
    s.click("#scrub-back-more").await;
    s.click("#scrub-back-more").await;
    let far = s.text("#position").await;
    s.screenshot("playground-scrubbed-back").await;
    s.click("#scrub-fwd-more").await;
    s.click("#scrub-back-more").await;
    assert_eq!(s.text("#position").await, far, "back and forward again: the same place");
    // Forward to the end: the latest state again, byte for byte.
    for _ in 0..30 {
        if s.count("#past").await == 0 {
            break;
        }
        s.click("#scrub-fwd-more").await;
    }
    s.wait_gone("#past").await;
    assert_eq!(s.text("#trace-hash").await, head_hash);
    assert_eq!(s.text("#position").await, head);
    s.screenshot("playground-scrubbed-forward").await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_write_is_read_back_through_the_step_console() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    let console = |line: &'static str| {
        let s = &s;
        async move {
            let input = s.client.find(Locator::Css("#command")).await.unwrap();
            input.send_keys(line).await.unwrap();
            s.click(".command button[type='submit']").await;
        }
    };
    // Before a leader exists, servers refuse clients: a request sent then fails with
    // CONNECTIONLOSS, as ZooKeeper's client reports a failed connection attempt.
    console("run until a has a leader").await;
    console("you_a: create /greeting hello").await;
    s.click("#run").await;
    console("you_a: get /greeting").await;
    s.click("#step").await;
    let rows = s.client.find_all(Locator::Css("#clients tr")).await.unwrap();
    assert_eq!(rows.len(), 2);
    let first = rows[0].text().await.unwrap();
    let second = rows[1].text().await.unwrap();
    assert!(first.contains("create /greeting hello") && first.contains("ok \"/greeting\""), "{first}");
    assert!(second.contains("get /greeting") && second.contains("ok \"hello\""), "{second}");
    let scenario = s.prop("#scenario-text", "textContent").await.unwrap();
    assert!(scenario.contains("you_a: get /greeting"), "the commands are steps of the scenario: {scenario}");
    s.screenshot("playground-write-read-back").await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn playing_with_the_keyboard_shifts_nothing_and_renders_fast() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    let first_render = s.client.execute("return performance.now()", vec![]).await.unwrap();
    println!("time to first render: {first_render} ms");
    s.click("#banner .close").await; // the welcome line, read
    let rects = "return [...document.querySelectorAll('.cluster, .invariants, .timeline, #trace, .controls')]\
                 .map(e => { const r = e.getBoundingClientRect(); return [r.x + scrollX, r.y + scrollY, r.width, r.height].join(','); })";
    let before = s.client.execute(rects, vec![]).await.unwrap();
    let body = s.client.find(Locator::Css("body")).await.unwrap();
    body.send_keys(" ").await.unwrap();
    s.wait_for("#play").await;
    assert!(s.text("#play").await.contains("Pause"), "space plays");
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let during = s.client.execute(rects, vec![]).await.unwrap();
    assert_eq!(before, during, "no layout shift while the simulation runs");
    assert_eq!(s.count("[data-cluster='a'] .server[data-role='LEADING']").await, 1, "time ran");
    s.screenshot("playground-playing").await;
    body.send_keys(" ").await.unwrap();
    assert!(s.text("#play").await.contains("Play"), "space pauses");
    let at = s.text("#position").await;
    body.send_keys("\u{E014}").await.unwrap(); // WebDriver's ArrowRight
    assert_ne!(s.text("#position").await, at, "→ steps one event");
    body.send_keys("\u{E012}").await.unwrap(); // ArrowLeft
    s.wait_for("#past").await;
    let back = s.text("#position").await;
    assert_eq!(
        back.split_whitespace().nth(1),
        at.split_whitespace().nth(1),
        "← goes back one event: {back} / {at}"
    );
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn playing_shows_the_speed_reached_next_to_the_menu() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    assert_eq!(s.text("#reached").await, "", "nothing shown before playing");
    s.client.find(Locator::Css("#speed")).await.unwrap().select_by_value("7").await.unwrap(); // 100×
    s.click("#play").await;
    // Measured over a second of play: wait for it, however slow the machine.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let shown = loop {
        let t = s.text("#reached").await;
        if !t.is_empty() {
            break t;
        }
        assert!(std::time::Instant::now() < deadline, "no speed reached shown while playing");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let x: f64 = shown
        .strip_prefix("≈ ")
        .and_then(|t| t.strip_suffix('×'))
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("not a speed like ≈ 87×: {shown:?}"));
    assert!(x > 0.0 && x <= 100.0, "reached {x}× of 100×");
    println!("speed reached at 100×: {shown}");
    s.screenshot("playground-speed-reached").await;
    s.click("#play").await;
    assert!(s.text("#play").await.contains("Play"), "paused");
    assert_eq!(s.text("#reached").await, "", "nothing shown when paused");
    s.close().await;
}

/// The rAF intervals the frame-time benchmark measures.
const FRAMES: usize = 600;

/// The `q` quantile (0..=1) of `v`, by the nearest rank.
fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 * q).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN)
}

/// The frame-time benchmark's printout: rAF intervals, the page's work per frame (p50,
/// p99, max of the total and of each part), and the simulated speed reached.
fn frame_report(frames: &[f64], work: &[[f64; 3]], simulated_ms: f64, real_ms: f64) -> String {
    let stats =
        |v: &[f64]| format!("{:.1}/{:.1}/{:.1}", quantile(v, 0.5), quantile(v, 0.99), quantile(v, 1.0));
    let total: Vec<f64> = work.iter().map(|w| w.iter().sum()).collect();
    let part = |i: usize| stats(&work.iter().map(|w| w[i]).collect::<Vec<_>>());
    let worst =
        work.iter().zip(&total).max_by(|a, b| a.1.total_cmp(b.1)).map(|(w, _)| *w).unwrap_or_default();
    let missed = frames.iter().filter(|&&f| f > 1.5 * 1000.0 / 60.0).count();
    format!(
        "frame times over {} frames, 3 clusters of 5 at 100×: rAF interval p50/p99/max = {} ms ({missed} longer than 25 ms)\n\
         page work in {} frames: total p50/p99/max = {} ms; simulation {}, App body {}, children + DOM {}; \
         worst frame sim/body/rest = {:.1}/{:.1}/{:.1} ms\n\
         simulated {:.0} ms in {:.0} ms of real time ({:.0}×)",
        frames.len(),
        stats(frames),
        work.len(),
        stats(&total),
        part(0),
        part(1),
        part(2),
        worst[0],
        worst[1],
        worst[2],
        simulated_ms,
        real_ms,
        simulated_ms / real_ms,
    )
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn frame_times_with_three_clusters_of_five_at_full_speed() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    s.client.find(Locator::Css("#new-world")).await.unwrap().select_by_value("5").await.unwrap();
    s.wait_for("[data-cluster='c'] .server[data-server='c5']").await;
    assert_eq!(s.count(".cluster").await, 3);
    s.client.find(Locator::Css("#speed")).await.unwrap().select_by_value("7").await.unwrap(); // 100×
    s.click("#play").await;
    // A measurement, not an assertion: on a loaded machine frames are slow, so the
    // script gets three minutes (WebDriver's default is one).
    let patient = fantoccini::wd::TimeoutConfiguration::new(
        Some(std::time::Duration::from_secs(180)),
        Some(std::time::Duration::from_secs(60)),
        Some(std::time::Duration::ZERO),
    );
    s.client.update_timeouts(patient).await.unwrap();
    // 600 rAF intervals, and the page's own work in each frame it simulated or rendered
    // (`web/src/profile.rs`: [simulation, the App's body, children + DOM patch] in ms),
    // and how far simulated time got meanwhile (the footer's `t = … ms`).
    // Then, apart (a MutationObserver slows the page), the DOM mutations of 120 more
    // frames, by the nearest element with an id or a section.
    let script = "const done = arguments[arguments.length - 1]; const d = []; \
                  const sim = () => parseInt(document.querySelector('footer.status span').textContent.slice(4)); \
                  const t0 = sim(); window.zoolabProfile = []; let start = performance.now(); let last = start; \
                  let n = 0; function f(t) { d.push(t - last); last = t; \
                  if (++n < FRAMES) { requestAnimationFrame(f); } else { const p = window.zoolabProfile; \
                  window.zoolabProfile = undefined; const r = { frames: d, work: p, simulated: sim() - t0, real: t - start, \
                  nodes: document.getElementsByTagName('*').length }; \
                  let muts = 0; const by = {}; const mo = new MutationObserver(l => { muts += l.length; \
                  for (const m of l) { let e = m.target.nodeType === 1 ? m.target : m.target.parentElement; \
                  const a = e && e.closest('[id], section, footer, header, aside, .controls'); \
                  const k = a ? a.tagName.toLowerCase() + (a.id ? '#' + a.id : '.' + a.classList[0]) : '?'; \
                  by[k] = (by[k] || 0) + 1; } }); \
                  mo.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true }); \
                  let m = 0; function g() { if (++m < 120) { requestAnimationFrame(g); } else { mo.disconnect(); \
                  r.mutations = muts; r.by = Object.entries(by).sort((x, y) => y[1] - x[1]).slice(0, 8); done(r); } } \
                  requestAnimationFrame(g); } } \
                  requestAnimationFrame(f);"
        .replace("FRAMES", &FRAMES.to_string());
    let r = s.client.execute_async(&script, vec![]).await.unwrap();
    let frames: Vec<f64> = serde_json::from_value(r["frames"].clone()).unwrap();
    let work: Vec<[f64; 3]> = serde_json::from_value(r["work"].clone()).unwrap();
    let simulated = r["simulated"].as_f64().unwrap();
    let real = r["real"].as_f64().unwrap();
    println!("{}", frame_report(&frames, &work, simulated, real));
    println!(
        "elements in the page: {}; DOM mutations in 120 more frames: {} (most, by the nearest element with an id or a section: {})",
        r["nodes"], r["mutations"], r["by"]
    );
    assert_eq!(frames.len(), FRAMES);
    assert!(!work.is_empty(), "the page reported its work while playing");
    assert!(simulated > 0.0, "simulated time ran while playing");
    s.click("#play").await;
    assert_eq!(s.count(".server[data-role='LEADING']").await, 3, "each cluster elected a leader");
    assert_eq!(s.count("#violation").await, 0);
    s.screenshot("playground-three-clusters-of-five").await;
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_builtin_scenario_opens_from_the_menu_with_its_checks() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    s.client
        .find(Locator::Css("#builtin"))
        .await
        .unwrap()
        .select_by_value("minority-cannot-commit")
        .await
        .unwrap();
    s.click("#open-builtin").await;
    s.wait_for("#checks").await;
    assert_eq!(s.text("#scenario-title").await, "In a 2|3 partition the minority cannot commit");
    assert_eq!(s.count("#checks li.failed").await, 0, "every expectation of the built-in holds");
    assert!(s.count("#checks li.ok").await >= 5);
    assert_eq!(s.count(".cluster").await, 1);
    s.screenshot("playground-builtin").await;
    // From its start: the topology only, nothing run.
    s.click("#open-builtin-start").await;
    s.wait_gone("#checks").await;
    assert!(s.text("#position").await.starts_with("event 0 / 0"));
    s.close().await;
}
