//! The durable logs of two-phase commit: record names and contents, for the participants and
//! for the coordinator. Everything a node knows after a crash comes from these records.
//!
//! Participant: `data/<key>` (a key's value and the transaction that wrote it),
//! `prep/<txn>` (prepared: the operations and what they read and will write), `done/<txn>`
//! (committed here; kept until the coordinator says every participant acknowledged) and
//! `refused/<txn>` (a promise made to an in-doubt peer never to vote yes) and `horizon` (the
//! newest transaction whose `done/` record was dropped: no prepare at or below it is new).
//!
//! Coordinator: `epoch` (its incarnation), `commit/<txn>` (the commit decision; presumed
//! abort: no record means abort) and `session/<client>` (the client's last committed request,
//! so a resent request is never run twice).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sim_core::{Nanos, NodeId, Storage};

use super::msg::{Effects, TxnId, TxnOp};

/// Prefix of a participant's data records.
pub const DATA: &str = "data/";
/// Prefix of a participant's prepare records.
pub const PREPARED: &str = "prep/";
/// Prefix of a participant's commit-outcome records.
pub const DONE: &str = "done/";
/// Prefix of a participant's refusal records.
pub const REFUSED: &str = "refused/";
/// The coordinator's incarnation record.
pub const EPOCH: &str = "epoch";
/// Participant: the newest transaction whose outcome record was dropped.
pub const HORIZON: &str = "horizon";
/// Prefix of the coordinator's commit-decision records.
pub const COMMIT: &str = "commit/";
/// Prefix of the coordinator's client-session records.
pub const SESSION: &str = "session/";

/// A key's current value at its participant.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    /// The value (`None`: never written and no initial value).
    pub value: Option<i64>,
    /// The transaction that wrote it (`None`: the initial value).
    pub version: Option<TxnId>,
}

/// What a participant logs before voting yes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreparedRecord {
    /// Every participant of the transaction (for cooperative termination).
    pub participants: Vec<NodeId>,
    /// This participant's operations (their keys are the locks to take again on recovery).
    pub ops: Vec<TxnOp>,
    /// What they read and will write.
    pub effects: Effects,
    /// When it prepared, on its local clock (for the in-doubt time).
    pub prepared_at_local_ns: Nanos,
}

/// The coordinator's commit decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitRecord {
    /// Every participant, to resend the decision to after a crash.
    pub participants: Vec<NodeId>,
}

/// A client's last committed request at the coordinator.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The request number.
    pub req: u64,
    /// What the committed transaction read and wrote, to answer a resend.
    pub effects: Vec<Effects>,
}

/// The name of `key`'s data record.
pub fn data_name(key: u64) -> String {
    format!("{DATA}{key:020}")
}

/// The name of `txn`'s record under `prefix`.
pub fn txn_name(prefix: &str, txn: TxnId) -> String {
    format!("{prefix}{}", txn.record_name())
}

/// The name of `client`'s session record.
pub fn session_name(client: NodeId) -> String {
    format!("{SESSION}{:010}", client.0)
}

/// Writes `record` under `name` (not yet synced).
pub fn put<T: Serialize>(storage: &mut Storage, name: String, record: &T) {
    // Serializing plain data to JSON cannot fail.
    let bytes = serde_json::to_vec(record).unwrap_or_default();
    storage.put(name, bytes);
}

/// Reads every record under `prefix` whose name parses with `parse`; the names that do not
/// parse or whose contents do not decode are returned as errors, for a violation report.
pub fn load<K, T: DeserializeOwned>(
    storage: &Storage,
    prefix: &str,
    parse: impl Fn(&str) -> Option<K>,
) -> (Vec<(K, T)>, Vec<String>) {
    let mut records = Vec::new();
    let mut unreadable = Vec::new();
    for name in storage.keys_with_prefix(prefix) {
        let id = parse(&name[prefix.len()..]);
        let record = storage
            .get(&name)
            .and_then(|b| serde_json::from_slice(b).ok());
        match (id, record) {
            (Some(id), Some(record)) => records.push((id, record)),
            _ => unreadable.push(name),
        }
    }
    (records, unreadable)
}

/// Reads the single record `name`, if present and readable.
pub fn get<T: DeserializeOwned>(storage: &Storage, name: &str) -> Option<T> {
    storage
        .get(name)
        .and_then(|b| serde_json::from_slice(b).ok())
}

/// Parses a data record's key.
pub fn parse_key(text: &str) -> Option<u64> {
    text.parse().ok()
}

/// Parses a session record's client.
pub fn parse_client(text: &str) -> Option<NodeId> {
    text.parse().ok().map(NodeId)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_through_storage_and_survive_only_when_synced() {
        let mut storage = Storage::new();
        let txn = TxnId { epoch: 2, seq: 7 };
        let record = PreparedRecord {
            participants: vec![NodeId(1), NodeId(2)],
            ops: vec![TxnOp::Add(3, -5)],
            effects: Effects::default(),
            prepared_at_local_ns: 42,
        };
        put(&mut storage, txn_name(PREPARED, txn), &record);
        put(&mut storage, data_name(3), &Cell::default());
        storage.sync();
        put(&mut storage, txn_name(DONE, txn), &());
        storage.crash();
        let (prepared, bad): (Vec<(TxnId, PreparedRecord)>, _) =
            load(&storage, PREPARED, TxnId::parse_record_name);
        assert_eq!(prepared, vec![(txn, record)]);
        assert!(bad.is_empty());
        let (done, _): (Vec<(TxnId, ())>, _) = load(&storage, DONE, TxnId::parse_record_name);
        assert!(done.is_empty(), "the unsynced outcome is lost");
        let (cells, _): (Vec<(u64, Cell)>, _) = load(&storage, DATA, parse_key);
        assert_eq!(cells, vec![(3, Cell::default())]);
    }
}
