//! Interned model states and a cache of steps, so the search works on `u32` state ids and
//! calls the model once per distinct (operation, state) pair.

use rustc_hash::FxHashMap;

use crate::history::Operation;
use crate::model::Model;

/// Marks a cached step that is not allowed.
const ILLEGAL: u32 = u32::MAX;

/// The states met so far and the steps taken between them.
pub(crate) struct Table<'m, M: Model> {
    model: &'m M,
    states: Vec<M::State>,
    ids: FxHashMap<M::State, u32>,
    steps: FxHashMap<u64, u32>,
    reach: FxHashMap<u64, bool>,
    states_max: usize,
}

/// The model produced more distinct states than the limit allows.
pub(crate) struct TooManyStates(pub(crate) usize);

impl<'m, M: Model> Table<'m, M> {
    /// A table holding the model's initial state as id 0, and at most `states_max` states.
    pub(crate) fn new(model: &'m M, states_max: usize) -> Table<'m, M> {
        let mut table = Table {
            model,
            states: Vec::new(),
            ids: FxHashMap::default(),
            steps: FxHashMap::default(),
            reach: FxHashMap::default(),
            states_max: states_max.max(1),
        };
        table.intern(model.init());
        table
    }

    /// The state with this id.
    pub(crate) fn state(&self, id: u32) -> &M::State {
        &self.states[id as usize]
    }

    /// The state after operation number `op_index` (`op`) in state `state`, if allowed.
    #[inline]
    pub(crate) fn step(
        &mut self,
        op_index: u32,
        op: &Operation,
        state: u32,
    ) -> Result<Option<u32>, TooManyStates> {
        let key = (u64::from(op_index) << 32) | u64::from(state);
        if let Some(&next) = self.steps.get(&key) {
            return Ok((next != ILLEGAL).then_some(next));
        }
        let next = match self.model.step(&self.states[state as usize], op) {
            Some(next) => self.intern(next),
            None => ILLEGAL,
        };
        if self.states.len() > self.states_max {
            return Err(TooManyStates(self.states_max));
        }
        self.steps.insert(key, next);
        Ok((next != ILLEGAL).then_some(next))
    }

    /// [`Model::can_reach`], cached like steps.
    #[inline]
    pub(crate) fn can_reach(&mut self, op_index: u32, op: &Operation, state: u32) -> bool {
        let key = (u64::from(op_index) << 32) | u64::from(state);
        let model = self.model;
        let states = &self.states;
        *self
            .reach
            .entry(key)
            .or_insert_with(|| model.can_reach(&states[state as usize], op))
    }

    fn intern(&mut self, state: M::State) -> u32 {
        if let Some(&id) = self.ids.get(&state) {
            return id;
        }
        let id = u32::try_from(self.states.len()).unwrap_or(ILLEGAL - 1);
        self.states.push(state.clone());
        self.ids.insert(state, id);
        id
    }
}
