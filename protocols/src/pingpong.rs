//! Ping-pong: the throughput benchmark. Every node starts with a few balls and forwards each
//! ball it receives to a node chosen at random. The engine does all the work, so this measures
//! the event loop, the network model and the RNG, not a protocol.

use serde::{Deserialize, Serialize};
use sim_core::{ConfigError, Ctx, Footprint, NodeId, Process, SimBuilder, SimConfig, TimerId};

use sim_core::bounds::check;
use sim_core::protocol::{Cluster, Protocol};

/// A ball in play.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Ball {
    /// Which ball.
    pub id: u32,
    /// How many times it has been passed.
    pub hops: u32,
}

/// Options of `pingpong`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PingPongOptions {
    /// Balls in flight in all, spread over the nodes (100 in the standard benchmark; at most
    /// [`IN_FLIGHT_MAX`]).
    pub in_flight: u32,
}

impl Default for PingPongOptions {
    fn default() -> Self {
        Self { in_flight: 100 }
    }
}

/// Most balls in flight: every ball is an event in the queue at all times, and a queue of a
/// million makes each event several times slower.
pub const IN_FLIGHT_MAX: u32 = 100_000;

/// A ping-pong node.
#[derive(Debug)]
pub struct PingPongNode {
    /// Balls this node serves at the start.
    initial: Vec<u32>,
    nodes: u32,
}

impl Process for PingPongNode {
    type Msg = Ball;

    fn on_start(&mut self, ctx: &mut Ctx<'_, Ball>) {
        for id in std::mem::take(&mut self.initial) {
            let to = self.pick(ctx);
            ctx.send(to, Ball { id, hops: 0 });
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Ball>, _from: NodeId, ball: Ball) {
        let to = self.pick(ctx);
        ctx.send(
            to,
            Ball {
                id: ball.id,
                hops: ball.hops.wrapping_add(1),
            },
        );
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Ball>, _timer: TimerId, _tag: u64) {}
}

impl PingPongNode {
    fn pick(&self, ctx: &mut Ctx<'_, Ball>) -> NodeId {
        use rand::Rng;
        NodeId(ctx.rng().random_range(0..self.nodes))
    }
}

/// The ping-pong protocol.
pub struct PingPong;

impl Protocol for PingPong {
    const NAME: &'static str = "pingpong";
    const DESCRIPTION: &'static str =
        "throughput benchmark: balls passed between random nodes; measures the engine itself";
    const MODEL: Option<sim_core::ModelKind> = None;
    type Msg = Ball;
    type Options = PingPongOptions;

    /// A node holds only its starting balls; a ball is a small message.
    fn footprint(options: &PingPongOptions, cluster: Cluster, _: &SimConfig) -> Footprint {
        let balls = u64::from(options.in_flight) / u64::from(cluster.servers.max(1)) + 1;
        Footprint {
            server_bytes: 256 + 4 * balls,
            client_bytes: 256,
            message_bytes: 0,
            op_value_bytes: 0,
        }
    }

    fn populate(
        options: &PingPongOptions,
        cluster: Cluster,
        builder: &mut SimBuilder<Ball>,
    ) -> Result<(), ConfigError> {
        if cluster.servers == 0 {
            return Err(ConfigError::new(
                "cluster.servers",
                "pingpong needs at least one node",
            ));
        }
        if cluster.clients != 0 {
            return Err(ConfigError::new(
                "workload",
                "pingpong has no clients; remove the workload",
            ));
        }
        check(
            "protocol.options.in_flight",
            options.in_flight,
            0..=IN_FLIGHT_MAX,
        )?;
        let nodes = cluster.servers;
        for n in 0..nodes {
            // Ball b starts at node b mod nodes, so balls spread evenly.
            let initial: Vec<u32> = (n..options.in_flight).step_by(nodes as usize).collect();
            builder.add_server(move |_| {
                Box::new(PingPongNode {
                    initial: initial.clone(),
                    nodes,
                })
            });
        }
        Ok(())
    }
}
