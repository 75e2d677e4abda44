//! Seeded randomness. One `u64` seed gives independent ChaCha streams, one per concern, so that a
//! change in how much randomness one concern draws (say, a bigger workload) does not reshuffle the
//! choices of another (the network's delays).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::process::NodeId;

/// The random number generator used everywhere inside a run.
pub type SimRng = ChaCha8Rng;

/// The concerns that each own an independent random stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stream {
    /// Latency, loss, duplication and reordering decisions.
    Network,
    /// Initial clock offsets and drifts drawn at random.
    Clocks,
    /// The random nemesis: which fault, when, on whom.
    Faults,
    /// The client workload: operations, keys, values, think times.
    Workload,
    /// Random choices inside partition patterns (which halves, whom to isolate).
    Partitions,
    /// Which calls of an enabled buggify point fire.
    Buggify,
    /// A scenario's swarm draws over its configuration (before the run starts).
    Swarm,
    /// Which messages a link re-delivers as stale duplicates, and how late. A stream of its
    /// own so that turning stale duplicates on leaves every latency the network draws as it was.
    StaleDuplicates,
    /// When held messages are released (a hold's spread).
    Release,
    /// The RNG a node's process sees through `Ctx::rng`.
    Node(NodeId),
}

impl Stream {
    /// The ChaCha stream number for this concern. Node streams start at 1024 so the named
    /// concerns can grow without colliding with them.
    fn number(self) -> u64 {
        match self {
            Stream::Network => 0,
            Stream::Clocks => 1,
            Stream::Faults => 2,
            Stream::Workload => 3,
            Stream::Partitions => 4,
            Stream::Buggify => 5,
            Stream::Swarm => 6,
            Stream::StaleDuplicates => 7,
            Stream::Release => 8,
            Stream::Node(node) => 1024 + u64::from(node.0),
        }
    }
}

/// Derives the independent stream for `stream` from the run's `seed`.
///
/// ChaCha's 64-bit stream parameter selects a separate keystream for the same key, so streams
/// never overlap however much each one draws.
pub fn stream(seed: u64, stream: Stream) -> SimRng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream.number());
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn draw(mut rng: SimRng) -> Vec<u64> {
        (0..8).map(|_| rng.random()).collect()
    }

    #[test]
    fn same_seed_and_stream_give_the_same_numbers() {
        assert_eq!(
            draw(stream(7, Stream::Network)),
            draw(stream(7, Stream::Network))
        );
    }

    #[test]
    fn streams_of_one_seed_are_independent() {
        let all = [
            Stream::Network,
            Stream::Clocks,
            Stream::Faults,
            Stream::Workload,
            Stream::Partitions,
            Stream::Node(NodeId(0)),
            Stream::Node(NodeId(1)),
        ];
        let draws: Vec<_> = all.iter().map(|s| draw(stream(7, *s))).collect();
        for i in 0..draws.len() {
            for j in i + 1..draws.len() {
                assert_ne!(draws[i], draws[j], "{:?} and {:?} collide", all[i], all[j]);
            }
        }
    }

    #[test]
    fn drawing_from_one_stream_does_not_move_another() {
        let mut workload = stream(3, Stream::Workload);
        for _ in 0..1000 {
            let _: u64 = workload.random();
        }
        assert_eq!(
            draw(stream(3, Stream::Network)),
            draw(stream(3, Stream::Network))
        );
    }

    #[test]
    fn different_seeds_differ() {
        assert_ne!(
            draw(stream(1, Stream::Network)),
            draw(stream(2, Stream::Network))
        );
    }
}
