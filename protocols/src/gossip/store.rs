//! What a member keeps on disk, and nothing else: its incarnation, the writes and
//! increments it accepted itself and each client's last request (synced before it answers the client, so an acknowledged
//! write survives a crash of the member that took it). Everything learnt from others is
//! volatile; after a restart anti-entropy brings it back.

use std::collections::BTreeMap;

use sim_core::{Ctx, NodeId, Storage};

use super::crdt::LwwEntry;
use super::msg::GossipMsg;

const INCARNATION: &str = "incarnation";
const WRITE_PREFIX: &str = "lww/";
const COUNT_PREFIX: &str = "count/";
const SESSION_PREFIX: &str = "session/";

/// A member's durable state as recovered after a restart.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Durable {
    /// The incarnation of the previous life.
    pub incarnation: u32,
    /// Per key, the latest write this member accepted.
    pub writes: BTreeMap<u64, LwwEntry>,
    /// Per key, this member's own slot of the counter.
    pub counts: BTreeMap<u64, u64>,
    /// Per client, the last request applied (a duplicated request must not apply twice).
    pub sessions: BTreeMap<NodeId, u64>,
}

/// Reads the durable state; `Ok(None)` on a first start. A record that cannot be read is an
/// error naming it.
pub fn load(storage: &Storage) -> Result<Option<Durable>, String> {
    let Some(bytes) = storage.get(INCARNATION) else {
        return Ok(None);
    };
    let mut durable = Durable {
        incarnation: serde_json::from_slice(bytes).map_err(|e| format!("{INCARNATION}: {e}"))?,
        ..Default::default()
    };
    for name in storage.keys_with_prefix(WRITE_PREFIX) {
        let key = name[WRITE_PREFIX.len()..].parse::<u64>();
        let entry = storage.get(&name).map(serde_json::from_slice::<LwwEntry>);
        match (key, entry) {
            (Ok(key), Some(Ok(entry))) => {
                durable.writes.insert(key, entry);
            }
            _ => return Err(format!("unreadable record {name}")),
        }
    }
    for name in storage.keys_with_prefix(COUNT_PREFIX) {
        let key = name[COUNT_PREFIX.len()..].parse::<u64>();
        let count = storage.get(&name).map(serde_json::from_slice::<u64>);
        match (key, count) {
            (Ok(key), Some(Ok(count))) => {
                durable.counts.insert(key, count);
            }
            _ => return Err(format!("unreadable record {name}")),
        }
    }
    for name in storage.keys_with_prefix(SESSION_PREFIX) {
        let client = name[SESSION_PREFIX.len()..].parse::<u32>();
        let req = storage.get(&name).map(serde_json::from_slice::<u64>);
        match (client, req) {
            (Ok(client), Some(Ok(req))) => {
                durable.sessions.insert(NodeId(client), req);
            }
            _ => return Err(format!("unreadable record {name}")),
        }
    }
    Ok(Some(durable))
}

/// Records the last request applied for `client`; durable with the next sync.
pub fn save_session(ctx: &mut Ctx<'_, GossipMsg>, client: NodeId, req: u64) {
    let bytes = serde_json::to_vec(&req).unwrap_or_default();
    ctx.storage_mut()
        .put(format!("{SESSION_PREFIX}{:010}", client.0), bytes);
}

/// Records the incarnation and syncs.
pub fn save_incarnation(ctx: &mut Ctx<'_, GossipMsg>, incarnation: u32) {
    let bytes = serde_json::to_vec(&incarnation).unwrap_or_default();
    ctx.storage_mut().put(INCARNATION, bytes);
    ctx.storage_mut().sync();
}

/// Records the write this member accepted for `key` and syncs.
pub fn save_write(ctx: &mut Ctx<'_, GossipMsg>, key: u64, entry: &LwwEntry) {
    let bytes = serde_json::to_vec(entry).unwrap_or_default();
    ctx.storage_mut()
        .put(format!("{WRITE_PREFIX}{key:020}"), bytes);
    ctx.storage_mut().sync();
}

/// Records this member's slot of `key`'s counter and syncs.
pub fn save_count(ctx: &mut Ctx<'_, GossipMsg>, key: u64, count: u64) {
    let bytes = serde_json::to_vec(&count).unwrap_or_default();
    ctx.storage_mut()
        .put(format!("{COUNT_PREFIX}{key:020}"), bytes);
    ctx.storage_mut().sync();
}
