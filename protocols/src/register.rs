//! A single-server key/value register service and its clients: the baseline protocol.
//!
//! The server holds one register per key (read, write, compare-and-set, append) and persists
//! every change with a sync before it answers. Clients resend a request that has not been
//! answered, so the server remembers each client's last request and its reply and never
//! applies a request twice (exactly-once over an at-least-once network). With one server there
//! is nothing to agree on, so the history is linearizable under loss, duplication, reordering,
//! pauses and crash-recovery — unless a bug is switched on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{
    ClientOp, ConfigError, Ctx, Nanos, NodeId, OpFn, OpId, Outcome, Process, QuorumCall,
    SimBuilder, TimerId, Value, ms,
};

use sim_core::bounds::{DURATION_NS_MAX, PERIOD_NS_MIN, check_ns};
use sim_core::protocol::{BugInfo, Cluster, Protocol};

/// Register messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum RegisterMsg {
    /// Client to server.
    Request {
        /// The client's request number (its operation id); resends reuse it.
        req: u64,
        /// What to do.
        f: OpFn,
        /// On which key.
        key: u64,
        /// The argument.
        value: Value,
    },
    /// Server to client.
    Reply {
        /// The request answered.
        req: u64,
        /// Its result.
        result: Reply,
    },
}

/// What the server answers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Reply {
    /// Done; the value read, or the argument.
    Ok(Value),
    /// A compare-and-set whose expected value did not match; nothing changed.
    Failed,
}

/// Known bugs of the register service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegisterBug {
    /// The server applies every request it receives, so a resent or duplicated write is
    /// applied again after later writes (the classic at-least-once mistake).
    NoDedup,
    /// The server answers before its write is durable; a crash then loses an acknowledged write.
    ReplyBeforeSync,
}

const BUGS: &[BugInfo] = &[
    BugInfo {
        name: "no_dedup",
        description: "server applies resent/duplicated requests again (at-least-once treated as exactly-once)",
    },
    BugInfo {
        name: "reply_before_sync",
        description: "server acknowledges a write before syncing it; a crash loses acknowledged writes",
    },
];

/// Options of `register`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterOptions {
    /// How long (client local time) a client waits before resending an unanswered request
    /// (10 µs to 24 h).
    pub resend_ns: Nanos,
    /// Bugs to switch on.
    pub bugs: Vec<RegisterBug>,
}

impl Default for RegisterOptions {
    fn default() -> Self {
        Self {
            resend_ns: ms(50),
            bugs: Vec::new(),
        }
    }
}

/// The server.
#[derive(Debug)]
pub struct RegisterServer {
    values: BTreeMap<u64, Value>,
    /// Each client's last request and the reply it got, for exactly-once.
    sessions: BTreeMap<NodeId, (u64, Reply)>,
    no_dedup: bool,
    reply_before_sync: bool,
    /// Pending lazy flush (only with `reply_before_sync`).
    flush_timer: Option<TimerId>,
}

/// How long the buggy server waits before flushing acknowledged writes.
const FLUSH_DELAY_NS: Nanos = ms(100);

impl RegisterServer {
    /// A server with the given bugs switched on.
    pub fn new(bugs: &[RegisterBug]) -> Self {
        Self {
            values: BTreeMap::new(),
            sessions: BTreeMap::new(),
            no_dedup: bugs.contains(&RegisterBug::NoDedup),
            reply_before_sync: bugs.contains(&RegisterBug::ReplyBeforeSync),
            flush_timer: None,
        }
    }

    /// The current value of `key`.
    pub fn value(&self, key: u64) -> &Value {
        self.values.get(&key).unwrap_or(&Value::Nil)
    }

    fn apply(&mut self, f: OpFn, key: u64, value: &Value) -> Reply {
        let current = self.values.get(&key).cloned().unwrap_or(Value::Nil);
        match f {
            OpFn::Read => Reply::Ok(current),
            OpFn::Write => {
                self.values.insert(key, value.clone());
                Reply::Ok(value.clone())
            }
            OpFn::Cas => match value {
                Value::List(pair) if pair.len() == 2 && pair[0] == current => {
                    self.values.insert(key, pair[1].clone());
                    Reply::Ok(value.clone())
                }
                _ => Reply::Failed,
            },
            OpFn::Append => {
                let mut list = match current {
                    Value::List(items) => items,
                    Value::Nil => Vec::new(),
                    other => vec![other],
                };
                list.push(value.clone());
                self.values.insert(key, Value::List(list));
                Reply::Ok(value.clone())
            }
        }
    }

    fn persist(&self, ctx: &mut Ctx<'_, RegisterMsg>, key: u64, client: NodeId) {
        let value = serde_json::to_vec(self.value(key)).unwrap_or_default();
        ctx.storage_mut().put(format!("value/{key:020}"), value);
        if let Some(session) = self.sessions.get(&client) {
            let bytes = serde_json::to_vec(session).unwrap_or_default();
            ctx.storage_mut()
                .put(format!("session/{:010}", client.0), bytes);
        }
    }
}

impl Process for RegisterServer {
    type Msg = RegisterMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, RegisterMsg>) {
        // Recover from durable storage alone.
        for name in ctx.storage().keys_with_prefix("value/") {
            let key = name["value/".len()..].parse::<u64>();
            let value = ctx
                .storage()
                .get(&name)
                .and_then(|b| serde_json::from_slice(b).ok());
            match (key, value) {
                (Ok(key), Some(value)) => {
                    self.values.insert(key, value);
                }
                _ => ctx.violation("register-storage", format!("unreadable record {name}")),
            }
        }
        for name in ctx.storage().keys_with_prefix("session/") {
            let client = name["session/".len()..].parse::<u32>();
            let session = ctx
                .storage()
                .get(&name)
                .and_then(|b| serde_json::from_slice(b).ok());
            if let (Ok(client), Some(session)) = (client, session) {
                self.sessions.insert(NodeId(client), session);
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, from: NodeId, msg: RegisterMsg) {
        let RegisterMsg::Request { req, f, key, value } = msg else {
            return;
        };
        if !self.no_dedup {
            match self.sessions.get(&from) {
                Some((last, reply)) if *last == req => {
                    let result = reply.clone();
                    ctx.send(from, RegisterMsg::Reply { req, result });
                    return;
                }
                Some((last, _)) if *last > req => return, // a stale duplicate
                _ => {}
            }
        }
        let result = self.apply(f, key, &value);
        self.sessions.insert(from, (req, result.clone()));
        self.persist(ctx, key, from);
        if self.reply_before_sync {
            // Group commit with an early acknowledgement: flush a little later.
            if self.flush_timer.is_none() {
                self.flush_timer = Some(ctx.set_timer(FLUSH_DELAY_NS, 0));
            }
        } else {
            ctx.storage_mut().sync();
        }
        ctx.send(from, RegisterMsg::Reply { req, result });
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, timer: TimerId, _tag: u64) {
        if self.flush_timer == Some(timer) {
            self.flush_timer = None;
            ctx.storage_mut().sync();
        }
    }
}

/// A client: sends each operation to the server and resends until answered: a quorum call
/// of one, whose phase is the operation's id, so an answer to an operation the client gave up
/// on is stale.
#[derive(Debug)]
pub struct RegisterClient {
    server: NodeId,
    call: QuorumCall<RegisterMsg, Reply>,
}

impl RegisterClient {
    /// A client of `server`.
    pub fn new(server: NodeId, resend_ns: Nanos) -> Self {
        Self {
            server,
            call: QuorumCall::new(resend_ns),
        }
    }
}

impl Process for RegisterClient {
    type Msg = RegisterMsg;

    fn on_message(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, from: NodeId, msg: RegisterMsg) {
        let RegisterMsg::Reply { req, result } = msg else {
            return;
        };
        let Some(mut replies) = self.call.on_reply(ctx, from, req, result) else {
            return;
        };
        let outcome = match replies.pop().map(|(_, reply)| reply) {
            Some(Reply::Ok(v)) => Outcome::Ok(v),
            Some(Reply::Failed) | None => Outcome::Fail,
        };
        ctx.complete(OpId(req), outcome);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, timer: TimerId, _tag: u64) {
        self.call.on_timer(ctx, timer);
    }

    fn on_client_op(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, op: ClientOp) {
        let request = RegisterMsg::Request {
            req: op.id.0,
            f: op.f,
            key: op.key,
            value: op.value,
        };
        self.call.start(ctx, op.id.0, &[self.server], 1, request);
        // A client may send a request twice (a retry library, an impatient user): legal, and
        // the server's exactly-once dedup must absorb it.
        if ctx.buggify("register/send-twice") {
            self.call.resend_now(ctx);
        }
    }

    fn on_client_timeout(&mut self, ctx: &mut Ctx<'_, RegisterMsg>, _op: OpId) {
        self.call.cancel(ctx);
    }
}

/// The register protocol.
pub struct Register;

impl Protocol for Register {
    const NAME: &'static str = "register";
    const DESCRIPTION: &'static str =
        "single-server key/value register with exactly-once resends: the linearizable baseline";
    const MODEL: Option<sim_core::ModelKind> = Some(sim_core::ModelKind::CasRegister);
    const OPERATIONS: &'static [sim_core::OpFn] = &[
        sim_core::OpFn::Read,
        sim_core::OpFn::Write,
        sim_core::OpFn::Cas,
    ];
    type Msg = RegisterMsg;
    type Options = RegisterOptions;

    fn bugs() -> &'static [BugInfo] {
        BUGS
    }

    fn populate(
        options: &RegisterOptions,
        cluster: Cluster,
        builder: &mut SimBuilder<RegisterMsg>,
    ) -> Result<(), ConfigError> {
        if cluster.servers != 1 {
            return Err(ConfigError::new(
                "cluster.servers",
                "the register service has exactly 1 server",
            ));
        }
        check_ns(
            "protocol.options.resend_ns",
            options.resend_ns,
            PERIOD_NS_MIN..=DURATION_NS_MAX,
        )?;
        let bugs = options.bugs.clone();
        let server = builder.add_server(move |_| Box::new(RegisterServer::new(&bugs)));
        let resend_ns = options.resend_ns;
        for _ in 0..cluster.clients {
            builder.add_client(move |_| Box::new(RegisterClient::new(server, resend_ns)));
        }
        Ok(())
    }
}
