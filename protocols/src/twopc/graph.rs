//! Serializability of the committed transactions, decided as Adya does: build the direct
//! serialization graph from per-key version orders — write-write (ww), write-read (wr) and
//! read-write anti-dependency (rw) edges — and look for a cycle. No cycle: the committed
//! transactions are conflict-serializable. A cycle is reported edge by edge.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

use petgraph::algo::tarjan_scc;
use petgraph::graphmap::DiGraphMap;

use super::msg::TxnId;

/// A committed transaction as the graph needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedTxn {
    /// Its id.
    pub id: TxnId,
    /// The versions it read: key and writer (`None`: the initial version).
    pub reads: Vec<(u64, Option<TxnId>)>,
    /// The keys it wrote.
    pub writes: Vec<u64>,
}

/// Why one transaction must come before another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dep {
    /// Both wrote the key, the first one's version first.
    Ww(u64),
    /// The second read the first one's write.
    Wr(u64),
    /// The first read a version the second overwrote.
    Rw(u64),
}

impl fmt::Display for Dep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dep::Ww(k) => write!(f, "ww(k{k})"),
            Dep::Wr(k) => write!(f, "wr(k{k})"),
            Dep::Rw(k) => write!(f, "rw(k{k})"),
        }
    }
}

/// A serializability anomaly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anomaly {
    /// A committed transaction read a version no committed transaction wrote (Adya's G1a/G1b).
    ReadUncommitted {
        /// The reader.
        reader: TxnId,
        /// The key.
        key: u64,
        /// The writer of the version read.
        writer: TxnId,
    },
    /// A dependency cycle, as a closed path of edges.
    Cycle(Vec<(TxnId, Dep, TxnId)>),
}

impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Anomaly::ReadUncommitted {
                reader,
                key,
                writer,
            } => write!(
                f,
                "{reader} read k{key} as written by {writer}, which did not commit that write"
            ),
            Anomaly::Cycle(edges) => {
                write!(f, "dependency cycle:")?;
                for (from, dep, to) in edges {
                    write!(f, " {from} -{dep}-> {to};")?;
                }
                Ok(())
            }
        }
    }
}

/// The dependency graph of `txns`, given in an order consistent with each key's version order
/// (the order in which their writes were installed). Returns the number of edges, or the first
/// anomaly found.
pub fn check(txns: &[CommittedTxn]) -> Result<usize, Anomaly> {
    // Each key's version order: its committed writers, in order.
    let mut versions: BTreeMap<u64, Vec<TxnId>> = BTreeMap::new();
    for t in txns {
        for &key in &t.writes {
            versions.entry(key).or_default().push(t.id);
        }
    }
    let position: BTreeMap<(u64, TxnId), usize> = versions
        .iter()
        .flat_map(|(&key, writers)| writers.iter().enumerate().map(move |(i, &w)| ((key, w), i)))
        .collect();
    let mut graph: DiGraphMap<TxnId, Dep> = DiGraphMap::new();
    for t in txns {
        graph.add_node(t.id);
    }
    let add = |graph: &mut DiGraphMap<TxnId, Dep>, from: TxnId, to: TxnId, dep: Dep| {
        if from != to {
            graph.add_edge(from, to, dep);
        }
    };
    for (&key, writers) in &versions {
        for pair in writers.windows(2) {
            add(&mut graph, pair[0], pair[1], Dep::Ww(key));
        }
    }
    for t in txns {
        for &(key, version) in &t.reads {
            let next = match version {
                None => 0,
                Some(writer) => {
                    let Some(&i) = position.get(&(key, writer)) else {
                        return Err(Anomaly::ReadUncommitted {
                            reader: t.id,
                            key,
                            writer,
                        });
                    };
                    add(&mut graph, writer, t.id, Dep::Wr(key));
                    i + 1
                }
            };
            if let Some(&overwriter) = versions.get(&key).and_then(|w| w.get(next)) {
                add(&mut graph, t.id, overwriter, Dep::Rw(key));
            }
        }
    }
    match find_cycle(&graph) {
        Some(cycle) => Err(Anomaly::Cycle(cycle)),
        None => Ok(graph.edge_count()),
    }
}

/// A cycle of `graph`, if any: a strongly connected component with more than one node holds
/// one; a breadth-first search inside it from one node back to itself finds a shortest one.
fn find_cycle(graph: &DiGraphMap<TxnId, Dep>) -> Option<Vec<(TxnId, Dep, TxnId)>> {
    let component = tarjan_scc(graph).into_iter().find(|c| c.len() > 1)?;
    let members: BTreeSet<TxnId> = component.iter().copied().collect();
    let start = *members.first()?;
    let mut parent: BTreeMap<TxnId, TxnId> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.neighbors(node) {
            if !members.contains(&next) {
                continue;
            }
            if next == start {
                let mut path = vec![node];
                while let Some(&p) = path.last().and_then(|n| parent.get(n)) {
                    path.push(p);
                }
                path.reverse();
                path.push(start);
                return path
                    .windows(2)
                    .map(|w| Some((w[0], *graph.edge_weight(w[0], w[1])?, w[1])))
                    .collect();
            }
            if next != start && !parent.contains_key(&next) {
                parent.insert(next, node);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seq: u32) -> TxnId {
        TxnId { epoch: 0, seq }
    }

    fn txn(seq: u32, reads: &[(u64, Option<u32>)], writes: &[u64]) -> CommittedTxn {
        CommittedTxn {
            id: t(seq),
            reads: reads.iter().map(|&(k, v)| (k, v.map(t))).collect(),
            writes: writes.to_vec(),
        }
    }

    #[test]
    fn a_serial_history_has_no_cycle() {
        let history = [
            txn(1, &[(1, None)], &[1]),
            txn(2, &[(1, Some(1)), (2, None)], &[2]),
            txn(3, &[(2, Some(2))], &[]),
        ];
        assert!(check(&history).is_ok());
    }

    #[test]
    fn write_skew_is_a_cycle_of_two_anti_dependencies() {
        // Both read both keys initially, each writes one: T1 -rw-> T2 -rw-> T1.
        let history = [
            txn(1, &[(1, None), (2, None)], &[1]),
            txn(2, &[(1, None), (2, None)], &[2]),
        ];
        let Err(Anomaly::Cycle(edges)) = check(&history) else {
            panic!("write skew must be found");
        };
        assert_eq!(
            edges,
            vec![(t(1), Dep::Rw(2), t(2)), (t(2), Dep::Rw(1), t(1))]
        );
    }

    #[test]
    fn a_lost_update_is_found() {
        // Both read k1's initial version and write k1: T1 -ww-> T2 and T2 -rw-> T1.
        let history = [txn(1, &[(1, None)], &[1]), txn(2, &[(1, None)], &[1])];
        let found = check(&history).unwrap_err();
        assert!(found.to_string().contains("rw(k1)"), "{found}");
    }

    #[test]
    fn reading_an_uncommitted_version_is_reported() {
        let history = [txn(1, &[(1, Some(9))], &[])];
        assert_eq!(
            check(&history),
            Err(Anomaly::ReadUncommitted {
                reader: t(1),
                key: 1,
                writer: t(9)
            })
        );
    }
}
