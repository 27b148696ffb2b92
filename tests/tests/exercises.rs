//! Classroom exercises in the served page (issue 9): solving one through the page,
//! a wrong attempt's submitted link, and a teacher's locked link.
//! Screenshots go to tests/artifacts/.

use fantoccini::Locator;
use zoolab_e2e::Session;

/// Types a step of the scenario language into the step console and runs it.
async fn type_step(s: &Session, line: &str) {
    let input = s.client.find(Locator::Css("#command")).await.unwrap();
    input.send_keys(line).await.unwrap();
    s.click(".command button[type='submit']").await;
}

async fn open_exercise(s: &Session, name: &str) {
    s.wait_for("#exercises").await;
    s.click(&format!("[data-exercise='{name}']")).await;
    s.wait_for("#exercise").await;
}

/// The steps of break-the-quorum's wrong attempt, taken through the page, then a
/// submitted link.
async fn submit_wrong_attempt(s: &Session) -> String {
    open_exercise(s, "break-the-quorum").await;
    s.click(".server[data-server='a4'] .kill").await;
    s.click(".server[data-server='a5'] .kill").await;
    type_step(s, "c1: create /stalled x").await;
    for _ in 0..5 {
        s.click("#run").await;
    }
    s.click("#submit").await;
    s.wait_for("#link-banner.link-submit").await;
    s.prop("#share-link", "value").await.unwrap()
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn an_exercise_solved_through_the_page_turns_check_green_and_is_remembered() {
    let s = Session::open().await;
    open_exercise(&s, "break-the-quorum").await;
    assert!(s.text("#exercise h2").await.starts_with("Break the quorum"));
    assert!(s.count("#instructions p").await >= 1, "instructions rendered from Markdown");
    assert_eq!(s.count("[data-cluster='a'] .server").await, 5, "the exercise's world is loaded");

    // Not solved yet: Check says which goal fails and why.
    s.click("#check").await;
    assert!(s.text("#verdict").await.starts_with("✗ Not yet"));
    assert!(s.text("#goals li.fail").await.contains("a has no leader"));

    // A hint, then the solution: crash three servers, write, let time pass.
    s.click("#hint").await;
    assert_eq!(s.count("#hints li").await, 1);
    for server in ["a3", "a4", "a5"] {
        s.click(&format!(".server[data-server='{server}'] .kill")).await;
    }
    type_step(&s, "c1: create /stalled x").await;
    for _ in 0..5 {
        s.click("#run").await;
    }
    s.click("#check").await;
    s.wait_for("#verdict.solved").await;
    assert_eq!(s.count("#goals li.pass").await, 4);
    assert_eq!(s.count("#goals li.fail").await, 0);
    s.wait_for("#explanation").await;
    assert!(s.attr("[data-exercise='break-the-quorum']", "title").await.unwrap().contains("solved"));
    s.screenshot("exercise-solved").await;

    // The progress is kept in the browser: a reload still shows it solved.
    s.client.goto(&s.url).await.unwrap();
    s.wait_for("#exercises").await;
    assert!(s.text("#exercises summary").await.contains("1 of"), "{}", s.text("#exercises summary").await);
    assert!(s.attr("[data-exercise='break-the-quorum']", "title").await.unwrap().contains("(solved)"));
    s.close().await;
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_wrong_attempts_link_opens_and_check_names_the_failing_goal() {
    let s = Session::open().await;
    let link = submit_wrong_attempt(&s).await;
    assert!(s.text("#verdict").await.starts_with("✗"));
    s.close().await;

    let fragment = link.rsplit_once('#').map_or(link.as_str(), |(_, f)| f).to_string();
    let t = Session::open_at(&fragment).await;
    t.wait_for("#exercise").await;
    assert!(t.text("#exercise h2").await.starts_with("Break the quorum"), "the link names its exercise");
    t.click("#check").await;
    t.wait_for("#verdict.failed").await;
    let failing = t.text("#goals li.fail").await;
    assert!(failing.contains("a has no leader"), "{failing}");
    assert!(failing.contains("fails:"), "says why: {failing}");
    t.screenshot("exercise-wrong-attempt").await;
    t.close().await;
}

/// What a locked link shows: the world fixed, only the exercise's controls.
async fn locked_page(t: &Session) {
    t.wait_for("#locked-badge").await;
    assert_eq!(t.count("#builtin").await, 0, "no scenario menu");
    assert_eq!(t.count("#partition-open").await, 0, "no partition editor");
    assert_eq!(t.count("#heal").await, 0);
    assert_eq!(t.count("#network").await, 0);
    assert_eq!(t.count("#exercises").await, 0, "one exercise only");
    assert!(t.attr("#seed", "disabled").await.is_some(), "the seed is fixed");
    assert!(t.text("#lock-note").await.contains("kill"));
    let pause = t.client.find(Locator::Css(".server[data-server='a1'] .freeze")).await.unwrap();
    assert!(!pause.is_displayed().await.unwrap(), "pausing a server is locked");
    let kill = t.client.find(Locator::Css(".server[data-server='a1'] .kill")).await.unwrap();
    assert!(kill.is_displayed().await.unwrap(), "killing is left to the student");
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn a_locked_link_hides_the_locked_controls_and_stays_locked_when_reshared() {
    let s = Session::open().await;
    open_exercise(&s, "break-the-quorum").await;
    s.click("#teacher summary").await;
    // The solution's controls are ticked by default: kill and client.
    assert_eq!(s.prop("[data-control='kill']", "checked").await.as_deref(), Some("true"));
    assert_eq!(s.prop("[data-control='partition']", "checked").await.as_deref(), Some("false"));
    s.click("#teacher-link").await;
    s.wait_for("#link-banner.link-teacher").await;
    let link = s.prop("#share-link", "value").await.unwrap();
    s.close().await;

    let fragment = |l: &str| l.rsplit_once('#').map_or(l, |(_, f)| f).to_string();
    let t = Session::open_at(&fragment(&link)).await;
    locked_page(&t).await;
    t.screenshot("exercise-locked").await;
    // The student acts (an allowed control) and re-shares: the link is still locked.
    t.click(".server[data-server='a5'] .kill").await;
    t.click("#share").await;
    t.wait_for("#share-link").await;
    let reshared = t.prop("#share-link", "value").await.unwrap();
    t.close().await;
    let u = Session::open_at(&fragment(&reshared)).await;
    locked_page(&u).await;
    assert_eq!(u.attr(".server[data-server='a5']", "data-role").await.as_deref(), Some("DOWN"));
    u.close().await;
}
