//! Interned model states and a cache of steps, so the search works on `u32` state ids and
//! calls the model once per distinct (operation, state) pair.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::{FxBuildHasher, FxHashMap};

use super::prepare::OpInfo;
use crate::history::Operation;
use crate::model::Model;

/// Marks a cached step that is not allowed.
const ILLEGAL: u32 = u32::MAX;
/// Marks an op with no [`Model::reset_state`] (or effect state) in the caches of those.
const NO_RESET: u32 = u32::MAX;
/// Marks a cache entry not computed yet.
const UNKNOWN: u32 = u32::MAX - 2;
/// Most (operation, state) entries kept in the dense cache (8 bytes each); pairs past it go to
/// the hash map.
const DENSE_ENTRIES_MAX: usize = 1 << 16;
/// The anonymous state: one that no call still to be placed can observe before the next reset
/// (see `Dfs::unobservable`). Only blind calls and resets may go in it; it is never interned.
pub(crate) const UNOBSERVED: u32 = u32::MAX - 1;

/// The states met so far and the steps taken between them.
pub(crate) struct Table<'m, M: Model> {
    model: &'m M,
    /// Every distinct state once, by id.
    states: Vec<M::State>,
    /// Per id: its state's hash.
    hashes: Vec<u64>,
    /// The ids, found by their state's hash (states are stored once, in `states`): one probe
    /// finds a state or the place for it.
    by_hash: HashTable<u32>,
    /// Operations in the problem: the length of a row of `dense`.
    ops: usize,
    /// Per (state, operation), for the first states (while rows fit in
    /// [`DENSE_ENTRIES_MAX`]): the step and the lookahead's answer, found without hashing.
    dense: Vec<Cached>,
    /// The same for the pairs past `dense`.
    cache: FxHashMap<u64, Cached>,
    /// Per operation: the id of its reset state, [`NO_RESET`] or [`UNKNOWN`].
    resets: Vec<u32>,
    /// Per operation: the id of its effect state, [`NO_RESET`] or [`UNKNOWN`].
    effects: Vec<u32>,
    states_max: usize,
}

/// What is known of one operation in one state. All zeros is nothing known, so that a new
/// state's row of the dense cache is a memset.
#[derive(Clone, Copy)]
struct Cached {
    /// The next state, [`ILLEGAL`] or [`UNKNOWN`], xor [`UNKNOWN`].
    step_xor: u32,
    /// [`Model::can_reach`]: 0 unknown, 1 false, 2 true.
    reach: u32,
}

impl Cached {
    const EMPTY: Cached = Cached {
        step_xor: 0,
        reach: 0,
    };

    /// The next state, [`ILLEGAL`] or [`UNKNOWN`].
    #[inline]
    fn step(self) -> u32 {
        self.step_xor ^ UNKNOWN
    }

    #[inline]
    fn set_step(&mut self, step: u32) {
        self.step_xor = step ^ UNKNOWN;
    }
}

/// The model produced more distinct states than the limit allows.
pub(crate) struct TooManyStates(pub(crate) usize);

impl<'m, M: Model> Table<'m, M> {
    /// A table holding the model's initial state as id 0, and at most `states_max` states,
    /// for a problem of `ops` operations; sized for `expected` of them searched (a segment) so
    /// that small searches never grow their maps.
    pub(crate) fn new(
        model: &'m M,
        states_max: usize,
        ops: usize,
        expected: usize,
    ) -> Table<'m, M> {
        let expected = expected.saturating_mul(2).min(states_max).max(4);
        let mut table = Table {
            model,
            states: Vec::with_capacity(expected),
            hashes: Vec::with_capacity(expected),
            by_hash: HashTable::with_capacity(expected),
            ops,
            dense: Vec::with_capacity(ops.saturating_mul(expected).min(DENSE_ENTRIES_MAX)),
            cache: FxHashMap::default(),
            resets: vec![UNKNOWN; ops],
            effects: vec![UNKNOWN; ops],
            states_max: states_max.max(1),
        };
        // Cannot fail: the table is empty and holds at least one state.
        let _initial = table.intern(model.init());
        table
    }

    /// The state with this id ([`UNOBSERVED`] has none).
    pub(crate) fn state(&self, id: u32) -> Option<&M::State> {
        self.states.get(id as usize)
    }

    /// The state after operation number `op_index` (`op`, laid out as `info`) in state
    /// `state`, if allowed. A read-only op is only asked [`Model::allows`]: its next state is
    /// `state`.
    #[inline]
    pub(crate) fn step(
        &mut self,
        op_index: u32,
        op: &Operation<'_>,
        info: &OpInfo,
        state: u32,
    ) -> Result<Option<u32>, TooManyStates> {
        if state == UNOBSERVED {
            return if info.blind {
                Ok(Some(UNOBSERVED))
            } else {
                self.reset(op_index, op)
            };
        }
        let known = self.cached(op_index, state).step();
        if known != UNKNOWN {
            return Ok((known != ILLEGAL).then_some(known));
        }
        let now = &self.states[state as usize];
        let next = if info.read_only {
            if self.model.allows(now, op) {
                state
            } else {
                ILLEGAL
            }
        } else {
            match self.model.step(now, op) {
                Some(next) => self.intern(next)?,
                None => ILLEGAL,
            }
        };
        self.cached(op_index, state).set_step(next);
        Ok((next != ILLEGAL).then_some(next))
    }

    /// [`Model::allows`] in an interned state (not [`UNOBSERVED`]), uncached: for ops whose
    /// next state the caller does not need.
    pub(crate) fn allows(&self, op: &Operation<'_>, state: u32) -> bool {
        self.model.allows(&self.states[state as usize], op)
    }

    /// [`Model::can_reach`], cached like steps.
    #[inline]
    pub(crate) fn can_reach(
        &mut self,
        op_index: u32,
        op: &Operation<'_>,
        info: &OpInfo,
        state: u32,
    ) -> bool {
        if state == UNOBSERVED {
            // Blind calls go in it; every other call that could observe it cannot.
            return info.blind;
        }
        let mut reach = self.cached(op_index, state).reach;
        if reach == 0 {
            reach = 1 + u32::from(self.model.can_reach(&self.states[state as usize], op));
            self.cached(op_index, state).reach = reach;
        }
        reach == 2
    }

    /// The cache entry of operation `op_index` in interned state `state`. Always inlined:
    /// left to itself, the inliner kept it out of `step` in some builds of `dsim` (its
    /// instantiations are compiled in the calling crate), costing 4% of etcd_002's check.
    #[inline(always)]
    fn cached(&mut self, op_index: u32, state: u32) -> &mut Cached {
        let at = (state as usize) * self.ops + op_index as usize;
        if at < self.dense.len() {
            return &mut self.dense[at];
        }
        let key = (u64::from(op_index) << 32) | u64::from(state);
        self.cache.entry(key).or_insert(Cached::EMPTY)
    }

    /// The id of [`Model::reset_state`] of operation number `op_index`, cached.
    pub(crate) fn reset(
        &mut self,
        op_index: u32,
        op: &Operation<'_>,
    ) -> Result<Option<u32>, TooManyStates> {
        self.state_of(op_index, op, |table| &mut table.resets, M::reset_state)
    }

    /// The id of [`Model::effect_state`] of operation number `op_index`, cached.
    pub(crate) fn effect(
        &mut self,
        op_index: u32,
        op: &Operation<'_>,
    ) -> Result<Option<u32>, TooManyStates> {
        self.state_of(op_index, op, |table| &mut table.effects, M::effect_state)
    }

    /// The id of the state `state` gives for operation number `op_index`, cached per operation
    /// in the vector `ids` picks.
    #[inline]
    fn state_of(
        &mut self,
        op_index: u32,
        op: &Operation<'_>,
        ids: fn(&mut Self) -> &mut Vec<u32>,
        state: fn(&M, &Operation<'_>) -> Option<M::State>,
    ) -> Result<Option<u32>, TooManyStates> {
        let mut id = ids(self)[op_index as usize];
        if id == UNKNOWN {
            id = self.intern_some(state(self.model, op))?;
            ids(self)[op_index as usize] = id;
        }
        Ok((id != NO_RESET).then_some(id))
    }

    /// The id of `state`, or [`NO_RESET`] for none.
    fn intern_some(&mut self, state: Option<M::State>) -> Result<u32, TooManyStates> {
        state.map_or(Ok(NO_RESET), |state| self.intern(state))
    }

    /// The id of `state` (from another table), adding it if new.
    pub(crate) fn adopt(&mut self, state: M::State) -> Result<u32, TooManyStates> {
        self.intern(state)
    }

    /// The id of `state`, adding it if new.
    fn intern(&mut self, state: M::State) -> Result<u32, TooManyStates> {
        let hash = FxBuildHasher.hash_one(&state);
        let (states, hashes) = (&self.states, &self.hashes);
        let vacant = match self.by_hash.entry(
            hash,
            |&id| states[id as usize] == state,
            |&id| hashes[id as usize],
        ) {
            Entry::Occupied(found) => return Ok(*found.get()),
            Entry::Vacant(vacant) => vacant,
        };
        // Ids from UNKNOWN up are markers.
        let id = u32::try_from(states.len())
            .ok()
            .filter(|&id| (id as usize) < self.states_max && id < UNKNOWN)
            .ok_or(TooManyStates(self.states_max))?;
        vacant.insert(id);
        self.states.push(state);
        self.hashes.push(hash);
        // The new state's row, while rows fit (ids are dense, so rows stay in id order).
        if self.dense.len() == (id as usize) * self.ops
            && self.dense.len() + self.ops <= DENSE_ENTRIES_MAX
        {
            self.dense
                .resize(self.dense.len() + self.ops, Cached::EMPTY);
        }
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::{DENSE_ENTRIES_MAX, Table};
    use std::borrow::Cow;

    use crate::history::{OpFn, Operation, Value};
    use crate::model::Kv;

    fn append(tail: &str) -> Operation<'static> {
        Operation {
            id: 0,
            process: 0,
            f: OpFn::Append,
            key: None,
            input: Cow::Owned(Value::Str(tail.to_owned())),
            output: None,
            call: 0,
            ret: Some(1),
            call_time: 0,
            ret_time: Some(1),
            line: 0,
            column: 0,
        }
    }

    /// Steps of states past the dense rows (kept in the hash map) give the same answers, and
    /// cached answers are the ones first computed.
    #[test]
    fn states_past_the_dense_rows_are_cached_in_the_map() {
        let model = Kv {
            initial: Value::Str(String::new()),
        };
        // One row fits, the second does not.
        let ops = DENSE_ENTRIES_MAX / 2 + 1;
        let mut table = Table::new(&model, 16, ops, 4);
        let op = append("a");
        let info = super::super::prepare::OpInfo {
            call: 0,
            ret: 1,
            window: 1,
            read_only: false,
            growing: true,
            blind: true,
            observer: false,
            class_start: false,
        };
        let last = (ops - 1) as u32;
        let one = table.step(last, &op, &info, 0).ok().flatten().unwrap();
        let two = table.step(last, &op, &info, one).ok().flatten().unwrap();
        assert_eq!(table.dense.len(), ops);
        assert!(!table.cache.is_empty());
        assert_eq!(table.state(two), Some(&Value::Str("aa".to_owned())));
        for _ in 0..2 {
            assert_eq!(table.step(last, &op, &info, 0).ok().flatten(), Some(one));
            assert_eq!(table.step(last, &op, &info, one).ok().flatten(), Some(two));
        }
    }
}
