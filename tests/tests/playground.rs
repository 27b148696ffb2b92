//! The served playground in headless Chromium: what a visitor sees and does.

use fantoccini::Locator;
use zoolab_e2e::Session;

async fn text(s: &Session, css: &str) -> String {
    s.client.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.unwrap()
}

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn an_ensemble_elects_a_leader_and_re_elects_after_it_crashes() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    assert_eq!(s.roles().await, vec!["LOOKING"; 3], "a fresh ensemble is electing");
    assert_eq!(s.client.title().await.unwrap(), "zoolab — a ZooKeeper laboratory");

    s.click("#run").await;
    s.wait_for(".server[data-role='LEADING']").await;
    let roles = s.roles().await;
    assert_eq!(roles.iter().filter(|r| *r == "LEADING").count(), 1, "{roles:?}");
    assert_eq!(roles.iter().filter(|r| *r == "FOLLOWING").count(), 2, "{roles:?}");
    let leader = s
        .client
        .find(Locator::Css(".server[data-role='LEADING']"))
        .await
        .unwrap()
        .attr("data-server")
        .await
        .unwrap()
        .unwrap();
    let old_epoch: u32 = text(&s, &format!("[data-server='{leader}'] .epoch")).await.parse().unwrap();

    // A write commits: every server's committed zxid moves past the epoch's start.
    s.click("#write").await;
    s.click("#run").await;
    s.wait_for(".server[data-role='LEADING']").await;
    let committed = text(&s, &format!("[data-server='{leader}'] .committed")).await;
    assert!(committed.ends_with('1'), "the first write of the epoch committed: {committed}");
    s.screenshot("playground-elected-and-written").await;

    // Kill the leader: the others elect a new one in a higher epoch.
    s.click(&format!("[data-server='{leader}'] .server-action")).await;
    s.wait_for(".server[data-role='DOWN']").await;
    s.click("#run").await;
    s.click("#run").await;
    s.wait_for(".server[data-role='LEADING']").await;
    let new_leader = s
        .client
        .find(Locator::Css(".server[data-role='LEADING']"))
        .await
        .unwrap()
        .attr("data-server")
        .await
        .unwrap()
        .unwrap();
    assert_ne!(new_leader, leader);
    let new_epoch: u32 = text(&s, &format!("[data-server='{new_leader}'] .epoch")).await.parse().unwrap();
    assert!(new_epoch > old_epoch, "new epoch {new_epoch} > old {old_epoch}");
    assert!(s.client.find(Locator::Css("#violation")).await.is_err(), "no invariant broken");
    s.screenshot("playground-after-leader-crash").await;
    s.close().await;
}
