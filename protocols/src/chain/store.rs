//! A server's durable state: the key/value store, the client sessions and its position in the
//! history (last applied sequence number and a rolling digest of the history). Everything here
//! is written to storage and synced before the server forwards, acknowledges or answers, so a
//! restart recovers exactly what the rest of the chain may already rely on.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::{Deserialize, Serialize};
use sim_core::{NodeId, OpFn, Storage, Value};

use super::msg::{Change, Reply, Session, Snapshot, Update};

const META_KEY: &str = "chain/meta";
const VALUE_PREFIX: &str = "chain/value/";
const SESSION_PREFIX: &str = "chain/session/";
const LOG_PREFIX: &str = "chain/log/";

/// The replicated state machine of one server, mirrored in its durable storage.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Replica {
    values: BTreeMap<u64, Value>,
    sessions: BTreeMap<NodeId, Session>,
    applied: u64,
    digest: u64,
}

/// The position in the history, stored under [`META_KEY`].
#[derive(Serialize, Deserialize)]
struct Meta {
    applied: u64,
    digest: u64,
}

/// What the head decides for a client's update.
pub enum Decision {
    /// A new update to sequence.
    New {
        /// The state change.
        change: Change,
        /// The client's answer.
        result: Reply,
    },
    /// The client's resend of an update already in the history at `seq`.
    Duplicate {
        /// Where it is.
        seq: u64,
        /// Its result.
        result: Reply,
    },
    /// An older request than the client's last one: a stale copy, ignore it.
    Stale,
}

impl Replica {
    /// Last applied sequence number (0: nothing yet).
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Rolling digest of the history so far (0 for the empty history).
    pub fn digest(&self) -> u64 {
        self.digest
    }

    /// The first difference from `other`, for people: the position, a key or a client
    /// session, with both sides (`""` when the replicas are equal).
    pub fn difference(&self, other: &Replica) -> String {
        if (self.applied, self.digest) != (other.applied, other.digest) {
            return format!(
                "history (applied, digest) = {:?} / {:?}",
                (self.applied, self.digest),
                (other.applied, other.digest)
            );
        }
        let keys = self.values.keys().chain(other.values.keys());
        if let Some(k) = keys.copied().find(|k| self.value(*k) != other.value(*k)) {
            return format!("key {k} = {:?} / {:?}", self.value(k), other.value(k));
        }
        let clients = self.sessions.keys().chain(other.sessions.keys());
        if let Some(c) = clients
            .copied()
            .find(|c| self.sessions.get(c) != other.sessions.get(c))
        {
            return format!(
                "session of {c} = {:?} / {:?}",
                self.sessions.get(&c),
                other.sessions.get(&c)
            );
        }
        String::new()
    }

    /// The current value of `key` (Nil if never written).
    pub fn value(&self, key: u64) -> &Value {
        self.values.get(&key).unwrap_or(&Value::Nil)
    }

    /// The head's decision for `client`'s request `req`: dedup against its session, else the
    /// state change the operation makes at the end of the current history.
    pub fn decide(&self, client: NodeId, req: u64, f: OpFn, key: u64, value: &Value) -> Decision {
        if let Some(session) = self.sessions.get(&client) {
            if session.req == req {
                return Decision::Duplicate {
                    seq: session.seq,
                    result: session.result.clone(),
                };
            }
            if session.req > req {
                return Decision::Stale;
            }
        }
        let current = self.value(key);
        let (change, result) = match f {
            // Reads never reach here (the tail serves them); treat one as a no-op update.
            OpFn::Read => (Change::Nothing, Reply::Ok(current.clone())),
            OpFn::Write => (Change::Set(value.clone()), Reply::Ok(value.clone())),
            OpFn::Cas => match value {
                Value::List(pair) if pair.len() == 2 && pair[0] == *current => {
                    (Change::Set(pair[1].clone()), Reply::Ok(value.clone()))
                }
                _ => (Change::Nothing, Reply::Failed),
            },
            OpFn::Append => (Change::Append(value.clone()), Reply::Ok(value.clone())),
        };
        Decision::New { change, result }
    }

    /// Applies `update` (the server makes sure it is the next in the history, unless a bug is
    /// switched on) and writes it to storage (unsynced: the
    /// caller syncs once per batch, before anything leaves the node).
    pub fn apply(&mut self, update: &Update, storage: &mut Storage) {
        match &update.change {
            Change::Nothing => {}
            Change::Set(v) => {
                self.values.insert(update.key, v.clone());
            }
            Change::Append(v) => {
                let slot = self.values.entry(update.key).or_insert(Value::Nil);
                match slot {
                    Value::List(items) => items.push(v.clone()),
                    Value::Nil => *slot = Value::List(vec![v.clone()]),
                    other => *other = Value::List(vec![other.clone(), v.clone()]),
                }
            }
        }
        let session = Session {
            req: update.req,
            seq: update.seq,
            result: update.result.clone(),
        };
        self.applied = update.seq;
        self.digest = next_digest(self.digest, update);
        if !matches!(update.change, Change::Nothing) {
            storage.put(value_key(update.key), encode(self.value(update.key)));
        }
        storage.put(session_key(update.client), encode(&session));
        self.sessions.insert(update.client, session);
        self.write_meta(storage);
    }

    /// The whole state, for a joining server.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            applied: self.applied,
            digest: self.digest,
            values: self.values.iter().map(|(k, v)| (*k, v.clone())).collect(),
            sessions: self.sessions.iter().map(|(c, s)| (*c, s.clone())).collect(),
        }
    }

    /// Replaces everything with `snapshot`, in memory and on disk (unsynced).
    pub fn install(&mut self, snapshot: &Snapshot, storage: &mut Storage) {
        for prefix in [VALUE_PREFIX, SESSION_PREFIX, LOG_PREFIX] {
            for name in storage.keys_with_prefix(prefix) {
                storage.delete(name);
            }
        }
        self.values = snapshot.values.iter().cloned().collect();
        self.sessions = snapshot.sessions.iter().cloned().collect();
        self.applied = snapshot.applied;
        self.digest = snapshot.digest;
        for (key, value) in &self.values {
            storage.put(value_key(*key), encode(value));
        }
        for (client, session) in &self.sessions {
            storage.put(session_key(*client), encode(session));
        }
        self.write_meta(storage);
    }

    /// Rebuilds the state from durable storage alone (empty storage: the empty history).
    pub fn recover(storage: &Storage) -> Result<Self, String> {
        let mut replica = Replica::default();
        if let Some(bytes) = storage.get(META_KEY) {
            let meta: Meta = decode(bytes, META_KEY)?;
            replica.applied = meta.applied;
            replica.digest = meta.digest;
        }
        for name in storage.keys_with_prefix(VALUE_PREFIX) {
            let key = parse_suffix(&name, VALUE_PREFIX)?;
            let bytes = storage.get(&name).unwrap_or_default();
            replica.values.insert(key, decode(bytes, &name)?);
        }
        for name in storage.keys_with_prefix(SESSION_PREFIX) {
            let client = parse_suffix(&name, SESSION_PREFIX)?;
            let bytes = storage.get(&name).unwrap_or_default();
            replica
                .sessions
                .insert(NodeId(client as u32), decode(bytes, &name)?);
        }
        Ok(replica)
    }

    /// The pending updates kept on disk (see `log_put`), in sequence order: the contiguous
    /// run that ends at the last applied update. Stray older records are ignored.
    pub fn recover_log(&self, storage: &Storage) -> Result<Vec<Update>, String> {
        let mut log: Vec<Update> = Vec::new();
        for name in storage.keys_with_prefix(LOG_PREFIX) {
            let bytes = storage.get(&name).unwrap_or_default();
            let update: Update = decode(bytes, &name)?;
            if update.seq > self.applied {
                return Err(format!(
                    "{name} is beyond the last applied update {}",
                    self.applied
                ));
            }
            if log.last().is_some_and(|u| u.seq + 1 != update.seq) {
                log.clear(); // a gap: only the run ending at `applied` is pending
            }
            log.push(update);
        }
        if log.last().is_some_and(|u| u.seq != self.applied) {
            log.clear();
        }
        Ok(log)
    }

    fn write_meta(&self, storage: &mut Storage) {
        let meta = Meta {
            applied: self.applied,
            digest: self.digest,
        };
        storage.put(META_KEY, encode(&meta));
    }
}

/// Keeps a pending (`Sent`) update on disk, so a restarted server can still re-send it.
pub fn log_put(storage: &mut Storage, update: &Update) {
    storage.put(log_key(update.seq), encode(update));
}

/// Forgets a pending update once the end of the chain has it.
pub fn log_delete(storage: &mut Storage, seq: u64) {
    storage.delete(log_key(seq));
}

/// The digest of a history extended by `update`: equal digests at the same position mean equal
/// histories (up to hash collisions), which makes the prefix check O(1).
pub fn next_digest(digest: u64, update: &Update) -> u64 {
    // `DefaultHasher::new()` has fixed keys, so digests are the same in every run of a build.
    let mut h = DefaultHasher::new();
    digest.hash(&mut h);
    update.hash(&mut h);
    h.finish()
}

fn value_key(key: u64) -> String {
    format!("{VALUE_PREFIX}{key:020}")
}

fn log_key(seq: u64) -> String {
    format!("{LOG_PREFIX}{seq:020}")
}

fn session_key(client: NodeId) -> String {
    format!("{SESSION_PREFIX}{:010}", client.0)
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("chain records are plain data and always serialize")
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8], name: &str) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("unreadable record {name}: {e}"))
}

fn parse_suffix(name: &str, prefix: &str) -> Result<u64, String> {
    name[prefix.len()..]
        .parse()
        .map_err(|_| format!("bad record name {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(seq: u64, key: u64, change: Change) -> Update {
        Update {
            seq,
            client: NodeId(9),
            req: seq,
            key,
            change,
            result: Reply::Ok(Value::Nil),
        }
    }

    #[test]
    fn replicas_differ_in_position_values_or_sessions() {
        let mut storage = Storage::new();
        let mut a = Replica::default();
        a.apply(&update(1, 0, Change::Set(Value::Int(5))), &mut storage);
        assert_eq!(a.difference(&a.clone()), "");
        // The same position and digest cannot hide a different value or session: build them
        // by hand, as a bug that skips part of an update would leave them.
        let mut other_value = a.clone();
        other_value.values.insert(0, Value::Int(6));
        assert_eq!(a.difference(&other_value), "key 0 = Int(5) / Int(6)");
        let mut other_session = a.clone();
        other_session.sessions.clear();
        assert!(
            a.difference(&other_session)
                .starts_with("session of n9 = Some("),
            "{}",
            a.difference(&other_session)
        );
        let mut behind = Replica::default();
        behind.apply(&update(1, 0, Change::Set(Value::Int(5))), &mut storage);
        behind.apply(&update(2, 0, Change::Nothing), &mut storage);
        assert!(
            a.difference(&behind)
                .starts_with("history (applied, digest) = (1, ")
        );
    }

    #[test]
    fn synced_state_survives_and_unsynced_state_does_not() {
        let mut storage = Storage::new();
        let mut r = Replica::default();
        r.apply(&update(1, 0, Change::Set(Value::Int(5))), &mut storage);
        r.apply(&update(2, 1, Change::Append(Value::Int(7))), &mut storage);
        storage.sync();
        r.apply(&update(3, 0, Change::Set(Value::Int(6))), &mut storage);
        storage.crash();
        let back = Replica::recover(&storage).unwrap();
        assert_eq!(back.applied(), 2);
        assert_eq!(back.value(0), &Value::Int(5));
        assert_eq!(back.value(1), &Value::List(vec![Value::Int(7)]));
        assert_eq!(
            back.decide(NodeId(9), 2, OpFn::Write, 0, &Value::Int(1))
                .seq(),
            Some(2),
            "the session survives, so a resend is recognised"
        );
    }

    #[test]
    fn cas_decisions_follow_the_current_value() {
        let mut storage = Storage::new();
        let mut r = Replica::default();
        r.apply(&update(1, 0, Change::Set(Value::Int(1))), &mut storage);
        let ok = Value::List(vec![Value::Int(1), Value::Int(2)]);
        let bad = Value::List(vec![Value::Int(3), Value::Int(2)]);
        assert!(matches!(
            r.decide(NodeId(1), 1, OpFn::Cas, 0, &ok),
            Decision::New {
                change: Change::Set(Value::Int(2)),
                ..
            }
        ));
        assert!(matches!(
            r.decide(NodeId(1), 1, OpFn::Cas, 0, &bad),
            Decision::New {
                change: Change::Nothing,
                result: Reply::Failed
            }
        ));
    }

    #[test]
    fn a_snapshot_reproduces_state_and_digest() {
        let mut a_disk = Storage::new();
        let mut a = Replica::default();
        for seq in 1..=5 {
            a.apply(
                &update(seq, seq % 2, Change::Append(Value::Int(seq as i64))),
                &mut a_disk,
            );
        }
        let mut b_disk = Storage::new();
        let mut b = Replica::default();
        b.apply(&update(1, 3, Change::Set(Value::Int(0))), &mut b_disk);
        b.install(&a.snapshot(), &mut b_disk);
        b_disk.sync();
        let b = Replica::recover(&b_disk).unwrap();
        assert_eq!((b.applied(), b.digest()), (a.applied(), a.digest()));
        assert_eq!(b.value(3), &Value::Nil, "the old state is gone");
        assert_eq!(b.value(1), a.value(1));
    }

    impl Decision {
        fn seq(&self) -> Option<u64> {
            match self {
                Decision::Duplicate { seq, .. } => Some(*seq),
                _ => None,
            }
        }
    }
}
