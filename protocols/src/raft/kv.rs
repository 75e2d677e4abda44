//! The replicated key/value state machine with client sessions.
//!
//! Each client tags its commands with its node id and an increasing sequence number. The state
//! machine remembers, per client, the last sequence number it applied and the reply it gave, so
//! a command retried after a lost reply (or appended twice by two leaders) is applied at most
//! once and answered with the original reply (§8 of the paper). A client has at most one
//! operation open, so one remembered reply per client suffices; sessions are therefore bounded
//! by the number of clients.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim_core::{NodeId, OpFn, Value};

use super::log::ClientCommand;

/// The answer to a client command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum KvReply {
    /// Done: the value read, or the argument for a write, append or successful cas.
    Ok(Value),
    /// A compare-and-set whose expected value did not match; nothing changed.
    CasFailed,
}

/// What a session remembers about its client's last applied command.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Session {
    /// Its sequence number.
    pub seq: u64,
    /// The reply it got.
    pub reply: KvReply,
}

/// What applying a command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    /// Applied now (or earlier, for a retry): the reply to send.
    Reply(KvReply),
    /// An older command of a client that has moved on: ignored, no reply.
    Stale,
}

/// The key/value store plus sessions: everything a snapshot holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct KvState {
    values: BTreeMap<u64, Value>,
    sessions: BTreeMap<NodeId, Session>,
}

impl KvState {
    /// The current value of `key` (nil if never written).
    pub fn read(&self, key: u64) -> Value {
        self.values.get(&key).cloned().unwrap_or(Value::Nil)
    }

    /// The first difference from `other`, for people: a key or a client session, with both
    /// sides (`""` when the states are equal).
    pub fn difference(&self, other: &KvState) -> String {
        let keys = self.values.keys().chain(other.values.keys());
        if let Some(k) = keys.copied().find(|k| self.read(*k) != other.read(*k)) {
            return format!("key {k} = {:?} / {:?}", self.read(k), other.read(k));
        }
        let clients = self.sessions.keys().chain(other.sessions.keys());
        if let Some(c) = clients
            .copied()
            .find(|c| self.session(*c) != other.session(*c))
        {
            return format!(
                "session of {c} = {:?} / {:?}",
                self.session(c),
                other.session(c)
            );
        }
        String::new()
    }

    /// The session of `client`, if it has applied anything.
    pub fn session(&self, client: NodeId) -> Option<&Session> {
        self.sessions.get(&client)
    }

    /// Applies `cmd` at most once per (client, seq).
    pub fn apply(&mut self, cmd: &ClientCommand) -> Applied {
        match self.sessions.get(&cmd.client) {
            Some(s) if s.seq == cmd.seq => return Applied::Reply(s.reply.clone()),
            Some(s) if s.seq > cmd.seq => return Applied::Stale,
            _ => {}
        }
        let reply = self.execute(cmd.f, cmd.key, &cmd.value);
        self.sessions.insert(
            cmd.client,
            Session {
                seq: cmd.seq,
                reply: reply.clone(),
            },
        );
        Applied::Reply(reply)
    }

    fn execute(&mut self, f: OpFn, key: u64, value: &Value) -> KvReply {
        match f {
            OpFn::Read => KvReply::Ok(self.read(key)),
            OpFn::Write => {
                self.values.insert(key, value.clone());
                KvReply::Ok(value.clone())
            }
            OpFn::Cas => match value {
                Value::List(pair) if pair.len() == 2 && pair[0] == self.read(key) => {
                    self.values.insert(key, pair[1].clone());
                    KvReply::Ok(value.clone())
                }
                _ => KvReply::CasFailed,
            },
            OpFn::Append => {
                let slot = self.values.entry(key).or_insert(Value::Nil);
                match slot {
                    Value::List(items) => items.push(value.clone()),
                    Value::Nil => *slot = Value::List(vec![value.clone()]),
                    other => *other = Value::List(vec![other.clone(), value.clone()]),
                }
                KvReply::Ok(value.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(client: u32, seq: u64, f: OpFn, value: Value) -> ClientCommand {
        ClientCommand {
            client: NodeId(client),
            seq,
            f,
            key: 0,
            value,
        }
    }

    #[test]
    fn a_retried_command_is_applied_once_and_gets_the_same_reply() {
        let mut kv = KvState::default();
        let append = cmd(5, 1, OpFn::Append, Value::Int(1));
        assert_eq!(
            kv.apply(&append),
            Applied::Reply(KvReply::Ok(Value::Int(1)))
        );
        assert_eq!(
            kv.apply(&append),
            Applied::Reply(KvReply::Ok(Value::Int(1)))
        );
        assert_eq!(kv.read(0), Value::List(vec![Value::Int(1)]));
        let next = cmd(5, 2, OpFn::Write, Value::Int(9));
        kv.apply(&next);
        assert_eq!(kv.apply(&append), Applied::Stale);
        assert_eq!(kv.read(0), Value::Int(9));
    }

    #[test]
    fn cas_compares_with_the_current_value() {
        let mut kv = KvState::default();
        let pair = |a: Value, b: i64| Value::List(vec![a, Value::Int(b)]);
        let from_nil = cmd(5, 1, OpFn::Cas, pair(Value::Nil, 3));
        assert!(matches!(
            kv.apply(&from_nil),
            Applied::Reply(KvReply::Ok(_))
        ));
        let wrong = cmd(6, 1, OpFn::Cas, pair(Value::Int(2), 4));
        assert_eq!(kv.apply(&wrong), Applied::Reply(KvReply::CasFailed));
        assert_eq!(kv.read(0), Value::Int(3));
    }

    #[test]
    fn snapshots_round_trip_through_json() {
        let mut kv = KvState::default();
        kv.apply(&cmd(5, 1, OpFn::Append, Value::Int(1)));
        kv.apply(&cmd(6, 3, OpFn::Write, Value::Int(2)));
        let bytes = serde_json::to_vec(&kv).unwrap();
        let back: KvState = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, kv);
    }
}
