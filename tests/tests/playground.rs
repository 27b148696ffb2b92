//! The served playground in headless Chromium: what a visitor sees and does.

use zoolab_e2e::Session;

#[tokio::test]
#[ignore = "needs the built playground and Chromium: run `make test`"]
async fn first_light_shows_the_cores_ensemble_and_a_click_changes_it() {
    let s = Session::open().await;
    s.wait_for(".server").await;
    assert_eq!(s.roles().await, vec!["LOOKING"; 3], "a fresh ensemble is electing");
    assert_eq!(s.client.title().await.unwrap(), "zoolab — a ZooKeeper laboratory");

    s.click("#step").await;
    s.wait_for(".server[data-role='LEADING']").await;
    assert_eq!(s.roles().await, vec!["FOLLOWING", "FOLLOWING", "LEADING"]);
    s.screenshot("first-light-elected").await;

    // Kill the leader: its followers lose it; the next step elects s2 in epoch 2.
    s.click("[data-server='3'] .server-action").await;
    s.wait_for(".server[data-role='DOWN']").await;
    assert_eq!(s.roles().await, vec!["LOOKING", "LOOKING", "DOWN"]);
    s.click("#step").await;
    s.wait_for("[data-server='2'][data-role='LEADING']").await;
    let epoch = s
        .client
        .find(fantoccini::Locator::Css("[data-server='2'] .epoch"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(epoch, "2", "the new epoch is the maximum seen plus one");
    s.screenshot("first-light-after-leader-crash").await;
    s.close().await;
}
