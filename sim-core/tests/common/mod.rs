//! Test processes shared by the engine's integration tests.
#![allow(dead_code)]

use std::cell::RefCell;
use std::rc::Rc;

use sim_core::{BoxProcess, ClientOp, Ctx, NodeId, OpId, Outcome, Process, TimerId, Value};

/// What a probe saw, with the node's local time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    Started {
        node: NodeId,
        local: u64,
        restored: Option<Vec<u8>>,
    },
    Message {
        node: NodeId,
        from: NodeId,
        msg: u64,
        local: u64,
    },
    Timer {
        node: NodeId,
        tag: u64,
        local: u64,
    },
}

pub type Log = Rc<RefCell<Vec<Seen>>>;

/// A scripted process: on start it sends `sends` and sets `timers`, and writes `write` to
/// storage (synced if `sync`). Everything it sees goes to the shared log.
#[derive(Clone, Default)]
pub struct Probe {
    pub log: Log,
    pub sends: Vec<(NodeId, u64)>,
    pub timers: Vec<(u64, u64)>,
    pub cancel_tag: Option<u64>,
    pub write: Option<(Vec<u8>, bool)>,
    pub echo: bool,
}

impl Probe {
    /// A factory building this probe on every start; restarts log to the same shared log.
    pub fn factory(self) -> impl Fn(NodeId) -> BoxProcess<u64> + 'static {
        move |_| Box::new(self.clone())
    }
}

impl Process for Probe {
    type Msg = u64;

    fn on_start(&mut self, ctx: &mut Ctx<'_, u64>) {
        let restored = ctx.storage().get("k").map(<[u8]>::to_vec);
        self.log.borrow_mut().push(Seen::Started {
            node: ctx.id(),
            local: ctx.now(),
            restored,
        });
        for (to, msg) in self.sends.clone() {
            ctx.send(to, msg);
        }
        let mut cancel = None;
        for (delay, tag) in self.timers.clone() {
            let id = ctx.set_timer(delay, tag);
            if Some(tag) == self.cancel_tag {
                cancel = Some(id);
            }
        }
        if let Some(id) = cancel {
            ctx.cancel_timer(id);
        }
        if let Some((bytes, sync)) = self.write.take() {
            ctx.storage_mut().put("k", bytes);
            if sync {
                ctx.storage_mut().sync();
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, from: NodeId, msg: u64) {
        self.log.borrow_mut().push(Seen::Message {
            node: ctx.id(),
            from,
            msg,
            local: ctx.now(),
        });
        if self.echo {
            ctx.send(from, msg);
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, u64>, _timer: TimerId, tag: u64) {
        self.log.borrow_mut().push(Seen::Timer {
            node: ctx.id(),
            tag,
            local: ctx.now(),
        });
    }
}

/// A server that answers every request with the same number (a trivial echo service).
pub struct EchoServer;

impl Process for EchoServer {
    type Msg = u64;
    fn on_start(&mut self, _ctx: &mut Ctx<'_, u64>) {}
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, from: NodeId, msg: u64) {
        ctx.send(from, msg);
    }
    fn on_timer(&mut self, _ctx: &mut Ctx<'_, u64>, _timer: TimerId, _tag: u64) {}
}

/// A client that sends each op's id to `server` and completes it when the echo returns.
pub struct EchoClient {
    pub server: NodeId,
    pub open: Option<OpId>,
}

impl Process for EchoClient {
    type Msg = u64;
    fn on_start(&mut self, _ctx: &mut Ctx<'_, u64>) {}
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: NodeId, msg: u64) {
        if self.open == Some(OpId(msg)) {
            self.open = None;
            ctx.complete(OpId(msg), Outcome::Ok(Value::Int(msg as i64)));
        }
    }
    fn on_timer(&mut self, _ctx: &mut Ctx<'_, u64>, _timer: TimerId, _tag: u64) {}
    fn on_client_op(&mut self, ctx: &mut Ctx<'_, u64>, op: ClientOp) {
        self.open = Some(op.id);
        ctx.send(self.server, op.id.0);
    }
    fn on_client_timeout(&mut self, _ctx: &mut Ctx<'_, u64>, _op: OpId) {
        self.open = None;
    }
}

/// Forwards every message to a random node, like ping-pong.
pub struct Bouncer {
    pub nodes: u32,
    pub serve: u32,
}

impl Process for Bouncer {
    type Msg = u64;
    fn on_start(&mut self, ctx: &mut Ctx<'_, u64>) {
        use rand::Rng;
        for i in 0..self.serve {
            let to = NodeId(ctx.rng().random_range(0..self.nodes));
            ctx.send(to, u64::from(i));
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, u64>, _from: NodeId, msg: u64) {
        use rand::Rng;
        let to = NodeId(ctx.rng().random_range(0..self.nodes));
        ctx.send(to, msg + 1);
    }
    fn on_timer(&mut self, _ctx: &mut Ctx<'_, u64>, _timer: TimerId, _tag: u64) {}
}
