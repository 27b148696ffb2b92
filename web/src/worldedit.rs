//! Adding and removing whole clusters. Clusters are the scenario's header (the world
//! exists from time zero), so an edit gives a new scenario — the same steps over the
//! edited world — which the page then replays from the start. Printed and read back
//! by the core's parser, so an edit that leaves a step naming a missing cluster is
//! refused with the parser's reason.

use crate::state::page_client;
use zoolab_core::scenario::{self, Cluster, Scenario, MAX_CLUSTERS};

/// The scenario with one more cluster of `servers` servers (named with the first free
/// letter).
pub fn add_cluster(sc: &Scenario, servers: u8) -> Result<Scenario, String> {
    if sc.clusters.len() >= MAX_CLUSTERS {
        return Err(format!("A world holds at most {MAX_CLUSTERS} clusters."));
    }
    let name =
        ('a'..='z').map(String::from).find(|n| sc.cluster(n).is_none()).ok_or("no free cluster name")?;
    let mut out = sc.clone();
    let like = sc.clusters.first().map(|c| c.settings.clone()).unwrap_or_default();
    out.clusters.push(Cluster { name, servers, observers: 0, spares: 0, settings: like });
    reread(&out)
}

/// The scenario without cluster `name` (and without the page's own client of it, if no
/// step uses that client).
pub fn remove_cluster(sc: &Scenario, name: &str) -> Result<Scenario, String> {
    if sc.cluster(name).is_none() {
        return Err(format!("There is no cluster {name}."));
    }
    if sc.clusters.len() == 1 {
        return Err("A world needs at least one cluster.".into());
    }
    let mut out = sc.clone();
    out.clusters.retain(|c| c.name != name);
    let own = page_client(name);
    let used = sc.steps.iter().any(|s| s.to_string().starts_with(&format!("{own}:")));
    if !used {
        out.clients.retain(|c| c.name != own);
    }
    reread(&out)
        .map_err(|e| format!("Cluster {name} cannot go: the run still uses it ({e}). Reset the run first."))
}

fn reread(sc: &Scenario) -> Result<Scenario, String> {
    scenario::parse(&sc.to_string()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use crate::state::{Action, Playground, Source};

    #[test]
    fn a_cluster_is_added_with_the_next_free_name_and_the_run_replays_over_it() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::RunFor(1_000));
        let writes = p.scenario().steps.clone();
        p.apply(Action::AddCluster(3));
        assert_eq!(p.clusters(), ["a", "b", "c"]);
        assert_eq!(p.world().servers_in(2).len(), 3);
        assert_eq!(p.scenario().steps, writes, "the same steps, replayed");
        assert!(p.world().leader(2).is_some(), "the new cluster ran from time zero: {:?}", p.banner);
        assert!(p.scenario().client("you_c").is_some(), "it gets the page's client");
        // The link carries the edited world.
        p.apply(Action::Share);
        let q = Playground::open(&Source::Link(p.link.clone().unwrap())).unwrap();
        assert_eq!((q.clusters().len(), q.trace_hash()), (3, p.trace_hash()));
        p.apply(Action::RemoveCluster("b".into()));
        assert_eq!(p.clusters(), ["a", "c"]);
        assert!(p.scenario().client("you_b").is_none());
    }

    #[test]
    fn a_cluster_the_run_uses_cannot_go_and_limits_hold() {
        let mut p = Playground::open(&Source::Fresh).unwrap();
        p.apply(Action::Write("b".into()));
        p.apply(Action::RemoveCluster("b".into()));
        assert!(
            matches!(&p.banner, Some(crate::state::Banner::Error(e)) if e.contains("cannot go")),
            "{:?}",
            p.banner
        );
        assert_eq!(p.clusters(), ["a", "b"]);
        for _ in 0..3 {
            p.apply(Action::AddCluster(1));
        }
        assert_eq!(p.clusters().len(), 5);
        p.apply(Action::AddCluster(1));
        assert_eq!(p.clusters().len(), 5, "at most five");
        assert!(matches!(&p.banner, Some(crate::state::Banner::Error(e)) if e.contains("at most")));
    }
}
