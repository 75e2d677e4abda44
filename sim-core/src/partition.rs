//! Network partitions as a connectivity graph. Nodes are placed in groups; a petgraph digraph over
//! the groups says which group can send to which (a group always reaches itself). Nodes in no
//! group (usually clients) are unrestricted. Named patterns build the common shapes; a dense
//! matrix over groups answers "may `a` send to `b`?" in two lookups on the delivery path.

use std::fmt::Write as _;

use petgraph::graph::{DiGraph, NodeIndex};
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::process::NodeId;
use crate::rng::SimRng;

/// A partition to impose, as written in a scenario. Patterns apply to the servers; clients stay
/// connected to everyone unless a `groups` or `one_way` pattern names them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "pattern", rename_all = "snake_case", deny_unknown_fields)]
pub enum PartitionSpec {
    /// Cut one server off from all others (a random one when `node` is absent).
    Isolate {
        /// The server to isolate.
        #[serde(default)]
        node: Option<NodeId>,
    },
    /// Split the servers, shuffled, into two halves; the first half is the smaller one.
    Halves,
    /// Every server sees a majority, but no two see the same majority (Jepsen's majorities ring).
    MajorityRing,
    /// Two halves that can only talk through one bridge server in the middle.
    Bridge,
    /// Arbitrary groups; nodes in different groups cannot talk. Unlisted nodes are unrestricted.
    Groups {
        /// Disjoint groups of nodes.
        groups: Vec<Vec<NodeId>>,
    },
    /// Messages from `from` to `to` are lost; the other direction still works.
    OneWay {
        /// Senders whose messages are cut.
        from: Vec<NodeId>,
        /// Receivers that no longer hear `from`.
        to: Vec<NodeId>,
    },
}

/// Which directed links currently work.
#[derive(Clone, Debug)]
pub struct Connectivity {
    /// For each node, its group, or `None` when it is unrestricted.
    group_of: Vec<Option<u32>>,
    /// Vertices are groups (holding their members); an edge `g -> h` lets `g` send to `h`.
    graph: DiGraph<Vec<NodeId>, ()>,
    /// `allowed[g * groups + h]`, derived from `graph`.
    allowed: Vec<bool>,
}

/// The most groups a pattern may create; a majority ring has one per server.
pub const PARTITION_GROUPS_MAX: usize = 4096;

impl Connectivity {
    /// Everyone reaches everyone.
    pub fn full(nodes: usize) -> Self {
        Self {
            group_of: vec![None; nodes],
            graph: DiGraph::new(),
            allowed: Vec::new(),
        }
    }

    /// Builds the connectivity for `spec` over `servers` (out of `nodes` nodes in all).
    /// Random choices (which halves, which node to isolate) come from `rng`.
    pub fn from_spec(
        spec: &PartitionSpec,
        nodes: usize,
        servers: &[NodeId],
        rng: &mut SimRng,
    ) -> Result<Self, ConfigError> {
        let mut shuffled = servers.to_vec();
        shuffled.shuffle(rng);
        let n = shuffled.len();
        let mut builder = Builder::new(nodes);
        match spec {
            PartitionSpec::Isolate { node } => {
                let target = match node {
                    Some(node) => *node,
                    None => *shuffled.first().ok_or_else(|| no_servers("isolate"))?,
                };
                let rest: Vec<NodeId> = servers.iter().copied().filter(|s| *s != target).collect();
                builder.group(vec![target], "node")?;
                builder.group(rest, "node")?;
            }
            PartitionSpec::Halves => {
                let (a, b) = shuffled.split_at(n / 2);
                builder.group(a.to_vec(), "halves")?;
                builder.group(b.to_vec(), "halves")?;
            }
            PartitionSpec::MajorityRing => {
                for s in &shuffled {
                    builder.group(vec![*s], "majority_ring")?;
                }
                let reach = n / 2;
                let radius = reach.div_ceil(2);
                for i in 0..n {
                    for d in 1..=radius {
                        builder.link(i, (i + d) % n);
                        builder.link((i + d) % n, i);
                    }
                }
            }
            PartitionSpec::Bridge => {
                if n < 3 {
                    return Err(ConfigError::new(
                        "pattern",
                        "bridge needs at least 3 servers",
                    ));
                }
                let (left, rest) = shuffled.split_at((n - 1) / 2);
                let (bridge, right) = rest.split_at(1);
                let l = builder.group(left.to_vec(), "bridge")?;
                let b = builder.group(bridge.to_vec(), "bridge")?;
                let r = builder.group(right.to_vec(), "bridge")?;
                for (x, y) in [(l, b), (b, l), (r, b), (b, r)] {
                    builder.link(x, y);
                }
            }
            PartitionSpec::Groups { groups } => {
                for (i, g) in groups.iter().enumerate() {
                    builder.group(g.clone(), &format!("groups[{i}]"))?;
                }
            }
            PartitionSpec::OneWay { from, to } => {
                let f = builder.group(from.clone(), "from")?;
                let t = builder.group(to.clone(), "to")?;
                let mut others: Vec<NodeId> = (0..nodes as u32).map(NodeId).collect();
                others.retain(|x| !from.contains(x) && !to.contains(x));
                let o = builder.group(others, "from")?;
                for (x, y) in [(t, f), (f, o), (o, f), (t, o), (o, t), (o, o)] {
                    builder.link(x, y);
                }
            }
        }
        Ok(builder.finish())
    }

    /// Whether a message from `from` to `to` gets through right now.
    #[inline]
    pub fn allows(&self, from: NodeId, to: NodeId) -> bool {
        let (Some(Some(g)), Some(Some(h))) = (
            self.group_of.get(from.index()),
            self.group_of.get(to.index()),
        ) else {
            return true;
        };
        g == h || self.allowed[*g as usize * self.graph.node_count() + *h as usize]
    }

    /// Whether any link is cut.
    pub fn is_partitioned(&self) -> bool {
        self.allowed.iter().any(|a| !*a)
    }

    /// A short human description: the groups and who can send to whom.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for ix in self.graph.node_indices() {
            let members: Vec<String> = self.graph[ix].iter().map(|n| n.to_string()).collect();
            let reach: Vec<String> = self
                .graph
                .neighbors(ix)
                .map(|j| format!("g{}", j.index()))
                .collect();
            let _ = write!(out, "g{}=[{}]", ix.index(), members.join(" "));
            if !reach.is_empty() {
                let _ = write!(out, "->{{{}}}", reach.join(","));
            }
            out.push(' ');
        }
        out.trim_end().to_string()
    }
}

fn no_servers(pattern: &str) -> ConfigError {
    ConfigError::new("pattern", format!("{pattern} needs at least one server"))
}

/// Collects groups and links, checking membership as it goes.
struct Builder {
    conn: Connectivity,
}

impl Builder {
    fn new(nodes: usize) -> Self {
        Self {
            conn: Connectivity::full(nodes),
        }
    }

    fn group(&mut self, members: Vec<NodeId>, field: &str) -> Result<usize, ConfigError> {
        if self.conn.graph.node_count() >= PARTITION_GROUPS_MAX {
            return Err(ConfigError::new(
                field,
                format!("more than {PARTITION_GROUPS_MAX} groups"),
            ));
        }
        let g = self.conn.graph.node_count() as u32;
        for m in &members {
            let slot = self.conn.group_of.get_mut(m.index()).ok_or_else(|| {
                ConfigError::new(field, format!("{m} is not a node of this simulation"))
            })?;
            if slot.is_some() {
                return Err(ConfigError::new(
                    field,
                    format!("{m} is in more than one group"),
                ));
            }
            *slot = Some(g);
        }
        self.conn.graph.add_node(members);
        Ok(g as usize)
    }

    fn link(&mut self, from: usize, to: usize) {
        let (a, b) = (NodeIndex::new(from), NodeIndex::new(to));
        if a != b && self.conn.graph.find_edge(a, b).is_none() {
            self.conn.graph.add_edge(a, b, ());
        }
    }

    fn finish(mut self) -> Connectivity {
        let g = self.conn.graph.node_count();
        let mut allowed = vec![false; g * g];
        for i in 0..g {
            allowed[i * g + i] = true;
        }
        for e in self.conn.graph.edge_indices() {
            if let Some((a, b)) = self.conn.graph.edge_endpoints(e) {
                allowed[a.index() * g + b.index()] = true;
            }
        }
        self.conn.allowed = allowed;
        self.conn
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Stream, stream};

    fn ids(n: u32) -> Vec<NodeId> {
        (0..n).map(NodeId).collect()
    }

    fn build(spec: PartitionSpec, nodes: usize, servers: u32) -> Connectivity {
        Connectivity::from_spec(
            &spec,
            nodes,
            &ids(servers),
            &mut stream(3, Stream::Partitions),
        )
        .unwrap()
    }

    /// How many servers `a` can reach, itself included.
    fn reach(c: &Connectivity, a: u32, servers: u32) -> usize {
        (0..servers)
            .filter(|b| c.allows(NodeId(a), NodeId(*b)))
            .count()
    }

    #[test]
    fn full_connectivity_allows_everything() {
        let c = Connectivity::full(4);
        assert!(!c.is_partitioned());
        assert!(c.allows(NodeId(0), NodeId(3)));
    }

    #[test]
    fn isolate_cuts_one_node_both_ways() {
        let c = build(
            PartitionSpec::Isolate {
                node: Some(NodeId(2)),
            },
            5,
            5,
        );
        assert!(c.is_partitioned());
        for other in [0, 1, 3, 4] {
            assert!(!c.allows(NodeId(2), NodeId(other)));
            assert!(!c.allows(NodeId(other), NodeId(2)));
        }
        assert!(c.allows(NodeId(0), NodeId(4)));
    }

    #[test]
    fn halves_split_into_a_minority_and_a_majority() {
        let c = build(PartitionSpec::Halves, 5, 5);
        let mut sizes: Vec<usize> = (0..5).map(|a| reach(&c, a, 5)).collect();
        sizes.sort_unstable();
        assert_eq!(sizes, [2, 2, 3, 3, 3]);
    }

    #[test]
    fn majority_ring_gives_everyone_a_different_majority() {
        let c = build(PartitionSpec::MajorityRing, 5, 5);
        let mut views = Vec::new();
        for a in 0..5 {
            assert_eq!(reach(&c, a, 5), 3, "node {a} should see exactly a majority");
            let view: Vec<u32> = (0..5).filter(|b| c.allows(NodeId(a), NodeId(*b))).collect();
            views.push(view);
        }
        views.sort();
        views.dedup();
        assert_eq!(views.len(), 5, "no two nodes share a majority");
    }

    #[test]
    fn bridge_connects_two_halves_through_one_node() {
        let c = build(PartitionSpec::Bridge, 5, 5);
        let reaches: Vec<usize> = (0..5).map(|a| reach(&c, a, 5)).collect();
        let bridges = reaches.iter().filter(|r| **r == 5).count();
        assert_eq!(bridges, 1, "exactly one node sees everyone: {reaches:?}");
        assert_eq!(reaches.iter().filter(|r| **r == 3).count(), 4);
    }

    #[test]
    fn groups_leave_unlisted_nodes_unrestricted() {
        let spec = PartitionSpec::Groups {
            groups: vec![vec![NodeId(0), NodeId(1)], vec![NodeId(2)]],
        };
        let c = build(spec, 4, 3);
        assert!(c.allows(NodeId(0), NodeId(1)));
        assert!(!c.allows(NodeId(0), NodeId(2)));
        // n3 (a client, in no group) still talks to everyone.
        assert!(c.allows(NodeId(3), NodeId(2)) && c.allows(NodeId(0), NodeId(3)));
        assert!(c.describe().contains("g0=[n0 n1]"), "{}", c.describe());
    }

    #[test]
    fn one_way_cuts_only_from_to() {
        let spec = PartitionSpec::OneWay {
            from: vec![NodeId(0)],
            to: vec![NodeId(1), NodeId(2)],
        };
        let c = build(spec, 4, 4);
        assert!(!c.allows(NodeId(0), NodeId(1)));
        assert!(c.allows(NodeId(1), NodeId(0)));
        assert!(c.allows(NodeId(0), NodeId(3)));
        assert!(c.allows(NodeId(3), NodeId(1)));
    }

    #[test]
    fn bad_groups_are_rejected() {
        let mut rng = stream(1, Stream::Partitions);
        let twice = PartitionSpec::Groups {
            groups: vec![vec![NodeId(0)], vec![NodeId(0)]],
        };
        assert!(Connectivity::from_spec(&twice, 3, &ids(3), &mut rng).is_err());
        let unknown = PartitionSpec::Groups {
            groups: vec![vec![NodeId(9)]],
        };
        let e = Connectivity::from_spec(&unknown, 3, &ids(3), &mut rng).unwrap_err();
        assert!(e.message.contains("n9"), "{e}");
        assert!(Connectivity::from_spec(&PartitionSpec::Bridge, 2, &ids(2), &mut rng).is_err());
    }
}
