//! An ABD server: a timestamped value per key, kept durable before any answer.

use std::collections::BTreeMap;

use sim_core::{Ctx, NodeId, Process, Value};

use crate::msg::{AbdMsg, Timestamp};

/// A server. It answers queries and stores newer values; it never talks to other servers.
#[derive(Debug, Default)]
pub struct AbdServer {
    registers: BTreeMap<u64, (Timestamp, Value)>,
}

impl AbdServer {
    /// What the server holds for `key`.
    pub fn held(&self, key: u64) -> (Timestamp, Value) {
        self.registers.get(&key).cloned().unwrap_or_default()
    }

    fn store(&mut self, ctx: &mut Ctx<'_, AbdMsg>, key: u64, ts: Timestamp, value: Value) {
        if ts <= self.held(key).0 {
            return;
        }
        let record = format!("{} {} {}", ts.counter, ts.writer, encode(&value));
        ctx.storage_mut()
            .put(format!("key/{key:020}"), record.into_bytes());
        // Durable before the client hears "stored": a crash must not lose an acknowledged write.
        ctx.storage_mut().sync();
        self.registers.insert(key, (ts, value));
    }
}

impl Process for AbdServer {
    type Msg = AbdMsg;

    fn on_start(&mut self, ctx: &mut Ctx<'_, AbdMsg>) {
        for name in ctx.storage().keys_with_prefix("key/") {
            let record = ctx
                .storage()
                .get(&name)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            match (
                name["key/".len()..].parse::<u64>(),
                record.as_deref().and_then(decode),
            ) {
                (Ok(key), Some(held)) => {
                    self.registers.insert(key, held);
                }
                _ => ctx.violation("abd-storage", format!("unreadable record {name}")),
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, AbdMsg>, from: NodeId, msg: AbdMsg) {
        match msg {
            AbdMsg::Query { phase, key } => {
                let (ts, value) = self.held(key);
                ctx.send(from, AbdMsg::Held { phase, ts, value });
            }
            AbdMsg::Store {
                phase,
                key,
                ts,
                value,
            } => {
                self.store(ctx, key, ts, value);
                ctx.send(from, AbdMsg::Stored { phase });
            }
            AbdMsg::Held { .. } | AbdMsg::Stored { .. } => {}
        }
    }
}

/// Values the workload writes are integers (or nil).
fn encode(value: &Value) -> String {
    match value {
        Value::Int(i) => i.to_string(),
        _ => "nil".to_string(),
    }
}

fn decode(record: &str) -> Option<(Timestamp, Value)> {
    let mut parts = record.split(' ');
    let counter = parts.next()?.parse().ok()?;
    let writer = parts.next()?.parse().ok()?;
    let value = match parts.next()? {
        "nil" => Value::Nil,
        i => Value::Int(i.parse().ok()?),
    };
    Some((Timestamp { counter, writer }, value))
}
