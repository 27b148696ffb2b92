//! Dynamic reconfiguration through the `World` API on the data tree: the membership
//! planner's steps carried out one by one as `reconfig` requests through ZAB, the
//! ensemble serving writes after each. The readable versions are the built-in
//! scenarios `reconfig-*.zk`.

use zoolab_core::config::planner::{self, StepOp};
use zoolab_core::config::{MemberRole, QuorumConfig, ServerSpec};
use zoolab_core::sim::{ClientWrite, ClusterSpec, World, WorldConfig};
use zoolab_core::tree::{Acl, AuthInfo, Create, CreateMode, WriteRequest};
use zoolab_core::zab::zkdb::{ReconfigRequest, ZkDatabase, ZkRequest};
use zoolab_core::{ServerId, SessionId};

const SESSION: SessionId = SessionId(7);

fn request(request: WriteRequest) -> ZkRequest {
    ZkRequest::write(SESSION, AuthInfo::from_ip("10.0.0.7"), request)
}

/// Runs until the request is answered (or `ms` pass); no invariant may break.
fn settle(w: &mut World<ZkDatabase>, id: u64, ms: u64) -> Option<ClientWrite> {
    let deadline = w.now() + ms;
    while w.now() < deadline {
        w.run_for(50, 1_000_000);
        assert!(w.violation().is_none(), "{}", w.violation().expect("checked"));
        if w.write_status(id) != Some(ClientWrite::Pending) {
            break;
        }
    }
    w.write_status(id)
}

fn leader(w: &mut World<ZkDatabase>) -> ServerId {
    for _ in 0..200 {
        if let Some(l) = w.leader(0) {
            return l;
        }
        w.run_for(50, 1_000_000);
    }
    panic!("no leader within 10s: {:?}", w.servers());
}

/// Writes `/n` at the leader and requires it committed.
fn write(w: &mut World<ZkDatabase>, n: usize) {
    let create = WriteRequest::Create(Create {
        path: format!("/n{n}"),
        data: Default::default(),
        acl: Acl::open_unsafe(),
        mode: CreateMode::Persistent,
        ttl: None,
    });
    let at = leader(w);
    let id = w.write(at, request(create));
    assert!(matches!(settle(w, id, 5_000), Some(ClientWrite::Ok(_))), "write {n} at s{at}");
    assert!(w.take_reply(id).unwrap().result.is_ok());
}

fn step_request(op: &StepOp) -> ReconfigRequest {
    let base = ReconfigRequest { from_config: -1, ..ReconfigRequest::default() };
    match op {
        StepOp::Add(s) | StepOp::ChangeRole(s) => ReconfigRequest { joining: Some(s.to_string()), ..base },
        StepOp::Remove(id) => ReconfigRequest { leaving: Some(id.to_string()), ..base },
    }
}

fn members(c: &QuorumConfig) -> (Vec<ServerId>, Vec<ServerId>) {
    (c.participants(), c.observers())
}

#[test]
fn the_planners_steps_move_an_ensemble_onto_its_spares_while_it_serves() {
    // a1..a3 serve; a4..a6 are spares. The plan: each spare joins as an observer, is
    // promoted while an original voter leaves, the leader last.
    let spec = ClusterSpec { participants: 3, observers: 0, spares: 3 };
    let cfg = WorldConfig { clusters: vec![spec], ..WorldConfig::default() };
    let mut w: World<ZkDatabase> = World::new(cfg, 21);
    let at = leader(&mut w);
    let id = w.write(at, request(WriteRequest::CreateSession { timeout_ms: 600_000 }));
    assert!(matches!(settle(&mut w, id, 2_000), Some(ClientWrite::Ok(_))));

    let current = spec.initial_config();
    let desired = QuorumConfig::of((4..=6).map(|i| ServerSpec::local(i, MemberRole::Participant)));
    let steps = planner::plan(&current, &desired, w.leader(0)).expect("a plan");
    assert!(steps.len() >= 6, "{steps:?}");
    let mut version = 0;
    for (n, step) in steps.iter().enumerate() {
        let at = leader(&mut w);
        let id =
            w.write(at, ZkRequest::reconfig(SESSION, AuthInfo::from_ip("10.0.0.7"), step_request(&step.op)));
        assert!(matches!(settle(&mut w, id, 5_000), Some(ClientWrite::Ok(_))), "step {n}: {}", step.op);
        let reply = w.take_reply(id).unwrap().result;
        assert!(reply.is_ok(), "step {n} ({}): {reply:?}", step.op);
        // Every live server converges on the step's membership, at a new version.
        for _ in 0..100 {
            let views = w.servers();
            let done = views
                .iter()
                .all(|v| w.server(0, v.id).is_some_and(|s| members(s.config()) == members(&step.after)));
            if done {
                break;
            }
            w.run_for(50, 1_000_000);
        }
        let l = leader(&mut w);
        let config = w.server(0, l).unwrap().config().clone();
        assert_eq!(members(&config), members(&step.after), "step {n}: {}", step.op);
        assert!(config.version > version, "step {n}: the version moves on");
        version = config.version;
        write(&mut w, n);
    }
    // The original three can go: the spares are the ensemble now.
    for i in 1..=3 {
        w.kill(ServerId(i));
    }
    write(&mut w, 100);
    let l = leader(&mut w);
    assert!(l.0 >= 4, "s{l} leads");
    let db = w.server(0, l).unwrap().state();
    assert!((0..steps.len()).all(|n| db.tree().node(&format!("/n{n}")).is_some()), "no write lost");
}

#[test]
fn a_restarted_server_keeps_the_committed_configuration() {
    let spec = ClusterSpec { participants: 3, observers: 0, spares: 1 };
    let cfg = WorldConfig { clusters: vec![spec], ..WorldConfig::default() };
    let mut w: World<ZkDatabase> = World::new(cfg, 4);
    let at = leader(&mut w);
    let id = w.write(at, request(WriteRequest::CreateSession { timeout_ms: 600_000 }));
    settle(&mut w, id, 2_000);
    let add = ReconfigRequest {
        joining: Some(ServerSpec::local(4, MemberRole::Participant).to_string()),
        from_config: -1,
        ..ReconfigRequest::default()
    };
    let at = leader(&mut w);
    let id = w.write(at, ZkRequest::reconfig(SESSION, AuthInfo::from_ip("10.0.0.7"), add));
    assert!(matches!(settle(&mut w, id, 5_000), Some(ClientWrite::Ok(_))));
    w.run_for(500, 1_000_000);
    // Everyone down, everyone back: the four-voter configuration holds from the disk.
    for i in 1..=4 {
        w.kill(ServerId(i));
    }
    for i in 1..=4 {
        w.restart(ServerId(i));
        let s = w.server(0, ServerId(i)).unwrap();
        assert_eq!(s.config().participants().len(), 4, "s{i}: {:?}", s.config());
    }
    // Three of four make a quorum, two do not.
    w.kill(ServerId(1));
    write(&mut w, 1);
    w.kill(ServerId(2));
    w.run_for(2_000, 1_000_000);
    assert!(w.leader(0).is_none(), "two of four voters elect no one: {:?}", w.servers());
    assert!(w.violation().is_none());
}
