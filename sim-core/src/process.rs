//! What a node is: a sans-IO state machine ([`Process`]) driven by the engine through a context
//! ([`Ctx`]). A handler never performs I/O; it records effects (sends, timers, log lines,
//! completed client operations) in the context and the engine carries them out afterwards. The
//! same code could therefore run under exhaustive search as well as random simulation.

use std::any::Any;
use std::fmt::{self, Debug};
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use crate::buggify::Buggify;
use crate::history::{OpFn, Outcome, Value};
use crate::rng::SimRng;
use crate::storage::Storage;
use crate::time::Nanos;

/// A node's identity: its index in the simulation, shown as `n0`, `n1`, ...
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The index into per-node tables.
    #[inline]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A timer handle, unique per node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct TimerId(pub u64);

/// A client operation's identity, unique per run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct OpId(pub u64);

/// An operation the workload asks a client node to perform.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientOp {
    /// Pass this to [`Ctx::complete`] when the operation ends.
    pub id: OpId,
    /// What to do.
    pub f: OpFn,
    /// On which key.
    pub key: u64,
    /// The argument: the value to write or append, `[expected, new]` for cas, nil for reads.
    pub value: Value,
}

/// What a message type needs: cloning (duplication), `Debug` (reports), `Hash` (the trace
/// hash) and `Serialize` (the trace file).
pub trait Message: Clone + Debug + Hash + Serialize + 'static {}
impl<T: Clone + Debug + Hash + Serialize + 'static> Message for T {}

/// Lets the runner look inside a process after a run (`process.as_any().downcast_ref()`),
/// implemented for every type automatically.
pub trait AsAny {
    /// `self` as `Any`.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A node's behaviour. Handlers react to one event and record effects in `ctx`.
///
/// Every process handles messages; [`Process::on_start`] and [`Process::on_timer`] do nothing
/// unless implemented. Client nodes also implement [`Process::on_client_op`].
/// Durable state lives in `ctx.storage()` and survives crashes once synced; everything in
/// `self` is volatile and is rebuilt by the node's factory on a restart, after which
/// [`Process::on_start`] runs again and should recover from storage.
pub trait Process: AsAny {
    /// The messages this protocol sends.
    type Msg: Message;

    /// The node starts, first at time 0 and again after every restart (default: nothing).
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self::Msg>) {
        let _ = ctx;
    }

    /// A message from `from` arrived.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self::Msg>, from: NodeId, msg: Self::Msg);

    /// The timer `timer`, set with `tag`, fired (default: nothing).
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Msg>, timer: TimerId, tag: u64) {
        let _ = (ctx, timer, tag);
    }

    /// The workload asks this (client) node to perform `op`; complete it with
    /// [`Ctx::complete`]. Servers receive no operations; the default records a violation so a
    /// miswired scenario is reported rather than silently idle.
    fn on_client_op(&mut self, ctx: &mut Ctx<'_, Self::Msg>, op: ClientOp) {
        ctx.violation(
            "client-op-unsupported",
            format!("{} got {:?} but is not a client", ctx.id(), op.f),
        );
    }

    /// The engine gave up waiting for `op` (it is recorded as `info`); forget it.
    fn on_client_timeout(&mut self, ctx: &mut Ctx<'_, Self::Msg>, op: OpId) {
        let _ = (ctx, op);
    }
}

/// A boxed process of message type `M`.
pub type BoxProcess<M> = Box<dyn Process<Msg = M>>;

/// Builds a node's process: at the start and after every crash-recovery restart.
pub type Factory<M> = Box<dyn Fn(NodeId) -> BoxProcess<M>>;

/// An effect recorded by a handler, carried out by the engine after the handler returns.
#[derive(Debug)]
pub(crate) enum Effect<M> {
    Send {
        to: NodeId,
        msg: M,
    },
    SetTimer {
        id: TimerId,
        deadline_local_ns: Nanos,
        tag: u64,
    },
    CancelTimer {
        id: TimerId,
    },
    Log {
        line: String,
    },
    Complete {
        op: OpId,
        outcome: Outcome,
    },
    Violation {
        check: String,
        detail: String,
    },
}

/// The world as one handler sees it.
pub struct Ctx<'a, M> {
    pub(crate) node: NodeId,
    pub(crate) now_local_ns: Nanos,
    pub(crate) node_count: usize,
    pub(crate) servers: &'a [NodeId],
    pub(crate) clients: &'a [NodeId],
    pub(crate) rng: &'a mut SimRng,
    pub(crate) storage: &'a mut Storage,
    pub(crate) effects: &'a mut Vec<Effect<M>>,
    pub(crate) next_timer: &'a mut u64,
    pub(crate) buggify: &'a mut Buggify,
}

impl<M> Ctx<'_, M> {
    /// This node.
    pub fn id(&self) -> NodeId {
        self.node
    }

    /// The local clock: skewed, drifting and subject to jumps. There is no way to read true time.
    pub fn now(&self) -> Nanos {
        self.now_local_ns
    }

    /// Number of nodes in the simulation (servers and clients).
    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// The server nodes, in id order (the system under test).
    pub fn servers(&self) -> &[NodeId] {
        self.servers
    }

    /// The client nodes, in id order (they drive the workload).
    pub fn clients(&self) -> &[NodeId] {
        self.clients
    }

    /// Whether `node` is a server.
    pub fn is_server(&self, node: NodeId) -> bool {
        self.servers.binary_search(&node).is_ok()
    }

    /// Whether `node` is a client.
    pub fn is_client(&self, node: NodeId) -> bool {
        self.clients.binary_search(&node).is_ok()
    }

    /// Whether buggify point `name` fires at this call: a place where a rare but legal
    /// behaviour belongs (reply late, resend now, take the slow path). Always `false` unless
    /// the run turns buggify on; then each point is enabled in some seeds only and fires on a
    /// fraction of its calls (see [`crate::buggify`]). Name points `protocol/what`.
    pub fn buggify(&mut self, name: &'static str) -> bool {
        self.buggify.fires(name)
    }

    /// This node's seeded random number generator.
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// The node's durable storage (read access).
    pub fn storage(&self) -> &Storage {
        self.storage
    }

    /// The node's durable storage; writes are lost in a crash until [`Storage::sync`].
    pub fn storage_mut(&mut self) -> &mut Storage {
        self.storage
    }

    /// Sends `msg` to `to` over the simulated network.
    pub fn send(&mut self, to: NodeId, msg: M) {
        self.effects.push(Effect::Send { to, msg });
    }

    /// Sets a timer that fires when the local clock has advanced by `delay_local_ns`. `tag` is
    /// handed back to [`Process::on_timer`] so the process knows which timer it is.
    pub fn set_timer(&mut self, delay_local_ns: Nanos, tag: u64) -> TimerId {
        let id = TimerId(*self.next_timer);
        *self.next_timer += 1;
        let deadline_local_ns = self.now_local_ns.saturating_add(delay_local_ns);
        self.effects.push(Effect::SetTimer {
            id,
            deadline_local_ns,
            tag,
        });
        id
    }

    /// Cancels a timer; cancelling one that already fired is harmless.
    pub fn cancel_timer(&mut self, id: TimerId) {
        self.effects.push(Effect::CancelTimer { id });
    }

    /// A log line that lands in the trace.
    pub fn log(&mut self, line: impl Into<String>) {
        self.effects.push(Effect::Log { line: line.into() });
    }

    /// Ends client operation `op` with `outcome` (clients only).
    pub fn complete(&mut self, op: OpId, outcome: Outcome) {
        self.effects.push(Effect::Complete { op, outcome });
    }

    /// Reports that an invariant named `check` does not hold. The run goes on; the report
    /// lists the violation and the run fails.
    pub fn violation(&mut self, check: impl Into<String>, detail: impl Into<String>) {
        self.effects.push(Effect::Violation {
            check: check.into(),
            detail: detail.into(),
        });
    }
}

impl From<u32> for NodeId {
    fn from(n: u32) -> Self {
        NodeId(n)
    }
}
