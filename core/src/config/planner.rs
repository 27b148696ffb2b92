//! The membership planner: from a current membership to a desired one, one proven
//! reconfiguration step at a time.
//!
//! Rules of the plan (the safe path engineers follow by hand with ZooKeeper 3.5+):
//! 1. new servers join as **observers first**: they sync without counting in any quorum;
//! 2. at most **one participant joins or leaves per step** (an observer promoted, a
//!    participant demoted or removed), alternating joins and leaves so the ensemble's
//!    size stays near its target;
//! 3. the **leader leaves last** (ZooKeeper's leader hands over when it is removed);
//! 4. observers no longer wanted are removed at the end.
//!
//! Every step carries a [`Proof`] that any quorum of the configuration before it meets
//! any quorum of the configuration after it — the two configurations that can be live at
//! once while the step commits. A step whose proof fails is refused; the planner never
//! force-commits anything.

use super::{MemberRole, QuorumConfig, ServerSpec};
use crate::ids::ServerId;
use crate::vecmap::VecSet;
use serde::{Deserialize, Serialize};
use std::fmt;
use thiserror::Error;

/// What one step changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StepOp {
    /// A server joins (as an observer, by rule 1).
    Add(ServerSpec),
    /// A server changes role (re-added with its new role, as ZooKeeper does it).
    ChangeRole(ServerSpec),
    /// A server leaves.
    Remove(ServerId),
}

impl StepOp {
    /// The zkCli command that performs the step.
    pub fn command(&self) -> String {
        match self {
            StepOp::Add(s) | StepOp::ChangeRole(s) => format!("reconfig -add {s}"),
            StepOp::Remove(id) => format!("reconfig -remove {id}"),
        }
    }
}

impl fmt::Display for StepOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepOp::Add(s) => write!(f, "add s{} as {}", s.id, s.role),
            StepOp::ChangeRole(s) => write!(
                f,
                "make s{} {}",
                s.id,
                match s.role {
                    MemberRole::Participant => "a participant",
                    MemberRole::Observer => "an observer",
                }
            ),
            StepOp::Remove(id) => write!(f, "remove s{id}"),
        }
    }
}

/// Why any quorum of one set of voters meets any quorum of another (or why not).
///
/// Two majorities could be disjoint only if each could be made of servers the other
/// lacks plus a share of the common ones: quorum A needs `max(0, qa − only_a)` common
/// servers and quorum B `max(0, qb − only_b)`; they always meet when those needs add up
/// to more than the common servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proof {
    /// The voters before the step.
    pub before: Vec<ServerId>,
    /// The voters after it.
    pub after: Vec<ServerId>,
    /// Quorum size before.
    pub quorum_before: usize,
    /// Quorum size after.
    pub quorum_after: usize,
    /// Voters only before.
    pub only_before: usize,
    /// Voters only after.
    pub only_after: usize,
    /// Voters in both.
    pub shared: usize,
}

impl Proof {
    /// Builds the proof obligation for majorities of `before` and `after`.
    pub fn new(before: &[ServerId], after: &[ServerId]) -> Proof {
        let b: VecSet<_> = before.iter().copied().collect();
        let a: VecSet<_> = after.iter().copied().collect();
        Proof {
            before: b.iter().copied().collect(),
            after: a.iter().copied().collect(),
            quorum_before: b.len() / 2 + 1,
            quorum_after: a.len() / 2 + 1,
            only_before: b.difference(&a).count(),
            only_after: a.difference(&b).count(),
            shared: b.intersection(&a).count(),
        }
    }

    /// How many shared voters two disjoint-as-possible quorums would need.
    pub fn shared_needed(&self) -> usize {
        self.quorum_before.saturating_sub(self.only_before)
            + self.quorum_after.saturating_sub(self.only_after)
    }

    /// Whether every quorum before meets every quorum after.
    pub fn holds(&self) -> bool {
        !self.before.is_empty() && !self.after.is_empty() && self.shared_needed() > self.shared
    }
}

fn ids(v: &[ServerId]) -> String {
    let names: Vec<String> = v.iter().map(|i| format!("s{i}")).collect();
    format!("{{{}}}", names.join(","))
}

impl fmt::Display for Proof {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "quorums of {} ({} of {}) and of {} ({} of {}) {}: apart from the {} and {} voters only one side has, \
             they need {} + {} = {} of the {} shared voters",
            ids(&self.before),
            self.quorum_before,
            self.before.len(),
            ids(&self.after),
            self.quorum_after,
            self.after.len(),
            if self.holds() { "always meet" } else { "can miss each other" },
            self.only_before,
            self.only_after,
            self.quorum_before.saturating_sub(self.only_before),
            self.quorum_after.saturating_sub(self.only_after),
            self.shared_needed(),
            self.shared,
        )?;
        f.write_str(if self.holds() { " (more than there are)" } else { " (no more than there are)" })
    }
}

/// One step of a plan: what changes, the membership after it, and why it is safe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The change.
    pub op: StepOp,
    /// The membership once it has committed.
    pub after: QuorumConfig,
    /// Any quorum before meets any quorum after.
    pub proof: Proof,
}

/// Why no plan was made.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum PlanError {
    /// The desired membership has no voters.
    #[error("the desired membership has no participants: nothing could ever commit")]
    NoParticipants,
    /// The current membership has no voters.
    #[error("the current membership has no participants")]
    NoCurrentParticipants,
    /// A server stays but with another address; that is not a reconfiguration step.
    #[error("s{0} changes address; remove it and add it back under a new id instead")]
    AddressChange(ServerId),
    /// A step's proof failed (never expected with one voter change per step).
    #[error("refused: step {index} ({op}) is not provably safe: {proof}")]
    Unprovable {
        /// The step's index.
        index: usize,
        /// The step.
        op: String,
        /// The failed proof.
        proof: Box<Proof>,
    },
}

fn same_address(a: &ServerSpec, b: &ServerSpec) -> bool {
    a.host == b.host
        && a.quorum_port == b.quorum_port
        && a.election_port == b.election_port
        && a.client == b.client
}

/// Plans the steps from `current` to `desired`. `leader` (if known) leaves last.
pub fn plan(
    current: &QuorumConfig,
    desired: &QuorumConfig,
    leader: Option<ServerId>,
) -> Result<Vec<Step>, PlanError> {
    if current.participants().is_empty() {
        return Err(PlanError::NoCurrentParticipants);
    }
    if desired.participants().is_empty() {
        return Err(PlanError::NoParticipants);
    }
    for (id, want) in &desired.servers {
        if let Some(have) = current.servers.get(id) {
            if !same_address(have, want) {
                return Err(PlanError::AddressChange(*id));
            }
        }
    }
    let mut config = current.clone();
    let mut steps = Vec::new();
    let mut push = |config: &mut QuorumConfig, op: StepOp| -> Result<(), PlanError> {
        let before = config.participants();
        match &op {
            StepOp::Add(s) | StepOp::ChangeRole(s) => {
                config.servers.insert(s.id, s.clone());
            }
            StepOp::Remove(id) => {
                config.servers.remove(id);
            }
        }
        let proof = Proof::new(&before, &config.participants());
        if !proof.holds() {
            return Err(PlanError::Unprovable {
                index: steps.len(),
                op: op.to_string(),
                proof: Box::new(proof),
            });
        }
        steps.push(Step { op, after: config.clone(), proof });
        Ok(())
    };

    // 1. Newcomers join as observers.
    for spec in desired.servers.values().filter(|s| !current.servers.contains_key(&s.id)) {
        push(&mut config, StepOp::Add(spec.with_role(MemberRole::Observer)))?;
    }
    // 2. One voter change at a time: promotions alternate with departures, leader last.
    let target = desired.participants().len();
    loop {
        let promote = config
            .servers
            .values()
            .find(|s| s.role == MemberRole::Observer && desired.participants().contains(&s.id))
            .cloned();
        let mut leaving: Vec<ServerId> =
            config.participants().into_iter().filter(|id| !desired.participants().contains(id)).collect();
        // The leader leaves last: move it to the end.
        leaving.sort_by_key(|id| Some(*id) == leader);
        let leave = leaving.first().copied();
        let op = match (promote, leave) {
            (None, None) => break,
            (Some(s), None) => StepOp::ChangeRole(s.with_role(MemberRole::Participant)),
            (Some(s), Some(_)) if config.participants().len() <= target => {
                StepOp::ChangeRole(s.with_role(MemberRole::Participant))
            }
            (_, Some(id)) => match desired.servers.get(&id) {
                Some(spec) => StepOp::ChangeRole(spec.with_role(MemberRole::Observer)),
                None => StepOp::Remove(id),
            },
        };
        push(&mut config, op)?;
    }
    // 3. Observers that are not wanted leave; demoted-then-removed servers too.
    let unwanted: Vec<ServerId> =
        config.servers.keys().copied().filter(|id| !desired.servers.contains_key(id)).collect();
    for id in unwanted {
        push(&mut config, StepOp::Remove(id))?;
    }
    debug_assert_eq!(config.servers, desired.servers, "the plan reaches the desired membership");
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vecmap::VecSet;
    use proptest::prelude::*;

    fn cfg(participants: &[u64], observers: &[u64]) -> QuorumConfig {
        QuorumConfig::of(
            participants
                .iter()
                .map(|&i| ServerSpec::local(i, MemberRole::Participant))
                .chain(observers.iter().map(|&i| ServerSpec::local(i, MemberRole::Observer))),
        )
    }

    /// The slow, obviously right check: try every pair of quorums.
    fn brute_force_meet(before: &[ServerId], after: &[ServerId]) -> bool {
        let subsets = |set: &[ServerId]| -> Vec<VecSet<ServerId>> {
            let q = set.len() / 2 + 1;
            (0u32..(1 << set.len()))
                .map(|mask| {
                    (0..set.len()).filter(|i| mask & (1 << i) != 0).map(|i| set[i]).collect::<VecSet<_>>()
                })
                .filter(|s| s.len() >= q)
                .collect()
        };
        let (qb, qa) = (subsets(before), subsets(after));
        qb.iter().all(|x| qa.iter().all(|y| x.intersection(y).next().is_some()))
    }

    #[test]
    fn three_to_five_adds_observers_first_then_promotes_one_at_a_time() {
        let steps = plan(&cfg(&[1, 2, 3], &[]), &cfg(&[1, 2, 3, 4, 5], &[]), Some(ServerId(3))).unwrap();
        let ops: Vec<String> = steps.iter().map(|s| s.op.to_string()).collect();
        assert_eq!(
            ops,
            vec![
                "add s4 as observer",
                "add s5 as observer",
                "make s4 a participant",
                "make s5 a participant"
            ]
        );
        assert_eq!(steps[0].op.command(), "reconfig -add server.4=server4:2888:3888:observer;2181");
        assert!(steps.iter().all(|s| s.proof.holds()));
    }

    #[test]
    fn replacing_every_server_alternates_and_removes_the_leader_last() {
        let steps = plan(&cfg(&[1, 2, 3], &[]), &cfg(&[4, 5, 6], &[]), Some(ServerId(1))).unwrap();
        let ops: Vec<String> = steps.iter().map(|s| s.op.to_string()).collect();
        assert_eq!(
            ops,
            vec![
                "add s4 as observer",
                "add s5 as observer",
                "add s6 as observer",
                "make s4 a participant",
                "remove s2",
                "make s5 a participant",
                "remove s3",
                "make s6 a participant",
                "remove s1",
            ]
        );
        for s in &steps {
            assert!(s.after.participants().len() >= 3, "never below three voters: {}", s.op);
        }
    }

    #[test]
    fn a_participant_becoming_an_observer_is_one_step() {
        let steps = plan(&cfg(&[1, 2, 3, 4, 5], &[]), &cfg(&[1, 2, 3], &[4, 5]), None).unwrap();
        let ops: Vec<String> = steps.iter().map(|s| s.op.to_string()).collect();
        assert_eq!(ops, vec!["make s4 an observer", "make s5 an observer"]);
        assert_eq!(steps[0].op.command(), "reconfig -add server.4=server4:2888:3888:observer;2181");
    }

    #[test]
    fn impossible_targets_are_refused_with_a_reason() {
        assert_eq!(plan(&cfg(&[1, 2, 3], &[]), &cfg(&[], &[1]), None), Err(PlanError::NoParticipants));
        let mut moved = cfg(&[1, 2, 3], &[]);
        moved.servers.get_mut(&ServerId(2)).unwrap().host = "elsewhere".into();
        assert_eq!(plan(&cfg(&[1, 2, 3], &[]), &moved, None), Err(PlanError::AddressChange(ServerId(2))));
    }

    #[test]
    fn the_proof_fails_where_quorums_can_miss_each_other() {
        // {1,2,3} → {3,4,5} in one jump: {1,2} and {4,5} are both quorums, and disjoint.
        let p =
            Proof::new(&[ServerId(1), ServerId(2), ServerId(3)], &[ServerId(3), ServerId(4), ServerId(5)]);
        assert!(!p.holds());
        assert!(p.to_string().contains("can miss each other"), "{p}");
        let ok = Proof::new(
            &[ServerId(1), ServerId(2), ServerId(3)],
            &[ServerId(1), ServerId(2), ServerId(3), ServerId(4)],
        );
        assert!(ok.holds(), "{ok}");
    }

    fn members() -> impl Strategy<Value = Vec<u64>> {
        proptest::collection::btree_set(1u64..=8, 0..=7).prop_map(|s| s.into_iter().collect())
    }

    proptest! {
        #[test]
        fn the_proof_agrees_with_trying_every_pair_of_quorums(a in members(), b in members()) {
            let a: Vec<ServerId> = a.into_iter().map(ServerId).collect();
            let b: Vec<ServerId> = b.into_iter().map(ServerId).collect();
            prop_assume!(!a.is_empty() && !b.is_empty());
            prop_assert_eq!(Proof::new(&a, &b).holds(), brute_force_meet(&a, &b));
        }

        #[test]
        fn every_plan_reaches_its_target_with_proven_steps(
            cur in members(), cur_obs in members(), want in members(), want_obs in members(), leader in 1u64..=8,
        ) {
            let cur_obs: Vec<u64> = cur_obs.into_iter().filter(|i| !cur.contains(i)).collect();
            let want_obs: Vec<u64> = want_obs.into_iter().filter(|i| !want.contains(i)).collect();
            prop_assume!(!cur.is_empty() && !want.is_empty());
            let (current, desired) = (cfg(&cur, &cur_obs), cfg(&want, &want_obs));
            let leader = cur.contains(&leader).then_some(ServerId(leader));
            let steps = plan(&current, &desired, leader).expect("one voter change per step is always provable");
            let mut voters = current.participants();
            let mut joined_as_observer = VecSet::new();
            for (i, s) in steps.iter().enumerate() {
                prop_assert!(brute_force_meet(&voters, &s.after.participants()), "step {} {}", i, s.op);
                let added = s.after.participants().iter().filter(|v| !voters.contains(v)).count();
                let left = voters.iter().filter(|v| !s.after.participants().contains(v)).count();
                prop_assert!(added + left <= 1, "one voter change per step: {}", s.op);
                if let StepOp::Add(spec) = &s.op {
                    prop_assert_eq!(spec.role, MemberRole::Observer, "newcomers join as observers");
                    joined_as_observer.insert(spec.id);
                }
                if let Some(l) = leader {
                    if !desired.participants().contains(&l) && voters.contains(&l) && !s.after.participants().contains(&l) {
                        let others_left = s.after.participants().iter().any(|v| !desired.participants().contains(v));
                        prop_assert!(!others_left, "the leader leaves the voters last");
                    }
                }
                voters = s.after.participants();
            }
            let end = steps.last().map_or(current.clone(), |s| s.after.clone());
            prop_assert_eq!(end.servers, desired.servers);
        }
    }
}
