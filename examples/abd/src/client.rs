//! An ABD client: each operation is two quorum calls to a majority of the servers.

use sim_core::{
    ClientOp, Ctx, Nanos, NodeId, OpFn, OpId, Outcome, Process, QuorumCall, TimerId, Value,
};

use crate::msg::{AbdMsg, Timestamp};

/// What a client is doing.
#[derive(Debug)]
enum Stage {
    Idle,
    /// First round trip: collecting timestamps and values.
    Querying {
        op: ClientOp,
    },
    /// Second round trip: storing `value` (the write's, or the read's write-back).
    Storing {
        op: OpId,
        value: Value,
    },
}

/// A client: one operation at a time, two round trips each.
#[derive(Debug)]
pub struct AbdClient {
    call: QuorumCall<AbdMsg, (Timestamp, Value)>,
    stage: Stage,
    write_back: bool,
}

impl AbdClient {
    /// A client resending every `resend_ns`; `write_back` false is the known bug.
    pub fn new(resend_ns: Nanos, write_back: bool) -> Self {
        Self {
            call: QuorumCall::new(resend_ns),
            stage: Stage::Idle,
            write_back,
        }
    }

    /// Phases are unique per run: two per operation id.
    fn phase(op: OpId, second: bool) -> u64 {
        op.0 * 2 + u64::from(second)
    }

    fn call(&mut self, ctx: &mut Ctx<'_, AbdMsg>, phase: u64, msg: AbdMsg) {
        let servers = ctx.servers().to_vec();
        let majority = servers.len() / 2 + 1;
        self.call.start(ctx, phase, &servers, majority, msg);
    }

    /// The first round trip is done: `held` is what a majority holds.
    fn queried(
        &mut self,
        ctx: &mut Ctx<'_, AbdMsg>,
        op: ClientOp,
        held: Vec<(NodeId, (Timestamp, Value))>,
    ) {
        let (newest, value) = held
            .into_iter()
            .map(|(_, h)| h)
            .max_by_key(|(ts, _)| *ts)
            .unwrap_or_default();
        let (ts, value) = match op.f {
            OpFn::Write => (
                Timestamp {
                    counter: newest.counter + 1,
                    writer: ctx.id().0,
                },
                op.value,
            ),
            _ if !self.write_back => {
                self.stage = Stage::Idle;
                ctx.complete(op.id, Outcome::Ok(value));
                return;
            }
            _ => (newest, value),
        };
        let phase = Self::phase(op.id, true);
        self.call(
            ctx,
            phase,
            AbdMsg::Store {
                phase,
                key: op.key,
                ts,
                value: value.clone(),
            },
        );
        self.stage = Stage::Storing { op: op.id, value };
    }
}

impl Process for AbdClient {
    type Msg = AbdMsg;

    fn on_message(&mut self, ctx: &mut Ctx<'_, AbdMsg>, from: NodeId, msg: AbdMsg) {
        let (phase, reply) = match msg {
            AbdMsg::Held { phase, ts, value } => (phase, (ts, value)),
            AbdMsg::Stored { phase } => (phase, Default::default()),
            AbdMsg::Query { .. } | AbdMsg::Store { .. } => return,
        };
        let Some(replies) = self.call.on_reply(ctx, from, phase, reply) else {
            return;
        };
        match std::mem::replace(&mut self.stage, Stage::Idle) {
            Stage::Querying { op } => self.queried(ctx, op, replies),
            Stage::Storing { op, value } => ctx.complete(op, Outcome::Ok(value)),
            Stage::Idle => {}
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, AbdMsg>, timer: TimerId, _tag: u64) {
        self.call.on_timer(ctx, timer);
    }

    fn on_client_op(&mut self, ctx: &mut Ctx<'_, AbdMsg>, op: ClientOp) {
        let phase = Self::phase(op.id, false);
        self.call(ctx, phase, AbdMsg::Query { phase, key: op.key });
        self.stage = Stage::Querying { op };
    }

    fn on_client_timeout(&mut self, ctx: &mut Ctx<'_, AbdMsg>, _op: OpId) {
        self.call.cancel(ctx);
        self.stage = Stage::Idle;
    }
}
