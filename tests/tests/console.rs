//! The client console (issue 8) in the served page: zkCli commands with Tab completion
//! of paths from the connected server's tree, their results, a watch event, the ↑
//! history, and the table of operations. Screenshots go to tests/artifacts/.

use fantoccini::Locator;
use zoolab_e2e::Session;

const ENTER: &str = "\u{E007}";
const TAB: &str = "\u{E004}";
const UP: &str = "\u{E013}";

async fn type_in(s: &Session, keys: &str) {
    let input = s.client.find(Locator::Css("#zk-input")).await.unwrap();
    input.send_keys(keys).await.unwrap();
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn the_console_completes_a_path_runs_commands_and_shows_a_watch_event() {
    let s = Session::open().await;
    s.wait_for("#zkconsole").await;
    s.click("#run").await;
    s.wait_for("[data-cluster='a'] .server[data-role='LEADING']").await;
    assert_eq!(s.attr("#zkconsole", "data-cluster").await.as_deref(), Some("a"));

    type_in(&s, &format!("create /app x{ENTER}")).await;
    s.click("#run").await;
    s.wait_for("#zk-lines li.command.ok").await;
    assert!(s.text("#zk-lines li.command.ok").await.contains("create /app x"));

    // Tab completes the path from the server's tree.
    type_in(&s, &format!("get -w /a{TAB}")).await;
    assert_eq!(s.prop("#zk-input", "value").await.as_deref(), Some("get -w /app"));
    type_in(&s, ENTER).await;
    s.click("#run").await;
    type_in(&s, &format!("set /app y{ENTER}")).await;
    s.click("#run").await;
    s.wait_for("#zk-lines li.event").await;
    let mut events = Vec::new();
    for e in s.client.find_all(Locator::Css("#zk-lines li.event")).await.unwrap() {
        events.push(e.text().await.unwrap());
    }
    assert!(events[0].contains("state:SyncConnected"), "the session's connection first: {events:?}");
    assert!(
        events.iter().any(|e| e.contains("type:NodeDataChanged path:/app")),
        "the watch fired: {events:?}"
    );

    // A mistyped command is refused under the prompt, not sent.
    type_in(&s, &format!("create{ENTER}")).await;
    assert!(s.text("#zk-note.error").await.starts_with("✗"));
    // ↑ brings back the previous command.
    s.client.find(Locator::Css("#zk-input")).await.unwrap().clear().await.unwrap();
    type_in(&s, UP).await;
    type_in(&s, UP).await;
    assert_eq!(s.prop("#zk-input", "value").await.as_deref(), Some("set /app y"));

    // The table of operations: invocation, completion, result, zxid.
    assert_eq!(s.count("#history tbody tr").await, 3);
    assert_eq!(s.count("#history tbody tr.ok").await, 3);
    assert!(s.text("#history tbody tr:first-child").await.contains("0x"), "a zxid");
    // The history checker's verdict on what this cluster's clients saw.
    let verdict = s.text("#history-verdict").await;
    assert!(verdict.starts_with("✓ linearizable: 3 operations"), "{verdict}");
    s.screenshot("console-watch-event").await;

    // The other cluster's tab has its own client.
    s.click("[data-console-tab='b']").await;
    s.wait_for("#zkconsole[data-cluster='b']").await;
    assert!(s.text("#zk-prompt").await.ends_with("you_b>"));
    assert_eq!(s.count("#history tbody tr").await, 0);
    s.close().await;
}
