//! Sequential specifications that histories are checked against.
//!
//! A model is a deterministic state machine: [`Model::step`] says whether an operation may
//! take effect in a state, and what state it leaves. The search interns states and caches
//! steps, so `step` runs once per distinct (operation, state) pair and may allocate.

mod kv;
mod multi_register;
mod register;
mod set;

use std::fmt::Debug;
use std::hash::Hash;
use std::str::FromStr;

pub use kv::Kv;
pub use multi_register::MultiRegister;
pub use register::Register;
pub use set::Set;

use crate::history::{OpFn, Operation, Value};

/// A sequential specification. Adding a model is one impl of this trait.
///
/// `step` gets the operation with its input and, for a completed call, its output; for a call
/// that may or may not have happened (`info`) the output is `None` and `step` must allow any
/// result. Histories are split by the operations' `key` before any model sees them.
///
/// # Example
///
/// A counter: `add n` adds `n`, `read` returns the total.
///
/// ```
/// use checker::history::{Event, EventKind, History, OpFn, Operation, Value};
/// use checker::model::Model;
/// use checker::{CheckOptions, Verdict, check_with_model};
///
/// struct Counter;
///
/// impl Model for Counter {
///     type State = i64;
///
///     fn init(&self) -> i64 {
///         0
///     }
///
///     fn step(&self, total: &i64, op: &Operation) -> Option<i64> {
///         match (op.f, op.output()) {
///             (OpFn::Add, _) => total.checked_add(op.input().as_int()?),
///             (OpFn::Read, Some(out)) => (out.as_int()? == *total).then_some(*total),
///             (OpFn::Read, None) => Some(*total),
///             _ => None,
///         }
///     }
///
///     fn validate(&self, op: &Operation) -> Result<(), String> {
///         match op.f {
///             OpFn::Add | OpFn::Read => Ok(()),
///             _ => Err("expected add or read".to_owned()),
///         }
///     }
/// }
///
/// let event = |process, kind, f, value: i64| Event { process, kind, f, key: None, value: Value::Int(value), time: 0 };
/// // Two concurrent adds; a read that overlaps the second one sees only the first.
/// let history = History::from_events("example", vec![
///     event(0, EventKind::Invoke, OpFn::Add, 1),
///     event(0, EventKind::Ok, OpFn::Add, 1),
///     event(1, EventKind::Invoke, OpFn::Add, 2),
///     event(2, EventKind::Invoke, OpFn::Read, 0),
///     event(2, EventKind::Ok, OpFn::Read, 1),
///     event(1, EventKind::Ok, OpFn::Add, 2),
/// ]);
/// let report = check_with_model(&Counter, "counter", &history, &CheckOptions::default()).unwrap();
/// assert_eq!(report.verdict, Verdict::Linearizable);
/// ```
pub trait Model: Sync {
    /// The model's state. Kept small: the search stores each distinct state once.
    type State: Clone + Eq + Hash + Debug + Send;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// The state after `op` takes effect in `state`, or `None` if it cannot take effect there
    /// (its output contradicts the state).
    fn step(&self, state: &Self::State, op: &Operation) -> Option<Self::State>;

    /// Rejects operations this model does not understand, saying what it expected.
    fn validate(&self, _op: &Operation) -> Result<(), String> {
        Ok(())
    }

    /// Whether `op` never changes any state, whatever its output: a read, a cas that returned
    /// false or goes from `a` to `a`. Such an op never needs a place when its outcome is unknown,
    /// and when it completed and may go next in a state where it is legal, it goes there.
    fn is_read_only(&self, _op: &Operation) -> bool {
        false
    }

    /// Whether `op` may take effect in `state`: `step(state, op).is_some()`, the default. The
    /// search asks this instead of `step` for read-only operations (whose next state is
    /// `state`), so a model can answer without building a state.
    fn allows(&self, state: &Self::State, op: &Operation) -> bool {
        self.step(state, op).is_some()
    }

    /// Optional (speed only): the state `op` leaves whatever state it takes effect in (a write,
    /// a put), or `None`. Such a *reset* must be legal in every state. The lookahead uses it to
    /// see which states a later operation can start from when such calls may go before it.
    fn reset_state(&self, _op: &Operation) -> Option<Self::State> {
        None
    }

    /// Lookahead, optional (speed only): the state `op` leaves whenever it changes the state
    /// (a successful cas leaves its new value, whatever it replaced), or `None`. Defaults to
    /// [`Model::reset_state`]. The lookahead treats such a call like a reset when it asks which
    /// states a later operation can start from: a call that may or may not have happened is
    /// only ever placed where it changes the state.
    fn effect_state(&self, op: &Operation) -> Option<Self::State> {
        self.reset_state(op)
    }

    /// Lookahead, optional (speed only): whether `op` is *blind*: growing, and legal in every
    /// growth of a state it is legal in (an append). The search treats a state that no call
    /// still to be placed can observe before the next reset as one anonymous state, so the
    /// orders of blind calls nobody observes are searched once.
    fn is_blind(&self, _op: &Operation) -> bool {
        false
    }

    /// Lookahead, optional (speed only): whether `op` only ever *grows* the state in the sense
    /// [`Model::can_reach`] assumes (reads grow nothing; appends extend a string).
    fn is_growing(&self, _op: &Operation) -> bool {
        false
    }

    /// Lookahead, optional (speed only): whether the completed operation `later` can be legal
    /// in some state reached from `state` by growing operations alone. The search prunes a
    /// configuration when this is false for an operation that only growing ones, and calls with
    /// a [`Model::effect_state`] whose state this is also false for, can precede.
    /// Return `true` unless sure. The lookahead asks it only about growing read-only
    /// operations (a read that must see what the appends before it built); the unobservable
    /// state merge also asks it about growing operations that are not blind.
    fn can_reach(&self, _state: &Self::State, _later: &Operation) -> bool {
        true
    }

    /// The state as text, for explanations.
    fn describe(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }
}

/// The built-in models, by their command-line names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// `register`: read / write.
    Register,
    /// `cas-register`: read / write / cas, initially nil.
    CasRegister,
    /// `kv`: a map with get / put / append / cas, checked key by key, every key initially `""`.
    Kv,
    /// `multi-register`: Knossos' registers with `txn` of reads and writes.
    MultiRegister,
    /// `set`: add / read (the read returns every element).
    Set,
}

impl ModelKind {
    /// Every model with its command-line name.
    pub const NAMES: [(&'static str, ModelKind); 5] = [
        ("register", ModelKind::Register),
        ("cas-register", ModelKind::CasRegister),
        ("kv", ModelKind::Kv),
        ("multi-register", ModelKind::MultiRegister),
        ("set", ModelKind::Set),
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        ModelKind::NAMES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("?", |(name, _)| name)
    }

    /// The names, comma-separated, for messages.
    pub fn names() -> String {
        let names: Vec<&str> = ModelKind::NAMES.iter().map(|(name, _)| *name).collect();
        names.join(", ")
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<ModelKind, String> {
        ModelKind::NAMES
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| {
                format!(
                    "unknown model {s:?}; expected one of: {}",
                    ModelKind::names()
                )
            })
    }
}

/// Which model, and its initial value (`None`: the model's default).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelSpec {
    /// The model.
    pub kind: ModelKind,
    /// The initial value of a register / every key / every register of a multi-register, or
    /// the initial elements of a set (a list).
    pub initial: Option<Value>,
}

impl ModelSpec {
    /// A model with its default initial value.
    pub fn new(kind: ModelKind) -> ModelSpec {
        ModelSpec {
            kind,
            initial: None,
        }
    }

    /// The same model starting from `initial`.
    pub fn with_initial(self, initial: Value) -> ModelSpec {
        ModelSpec {
            initial: Some(initial),
            ..self
        }
    }
}

/// `"expected one of f1, f2"` for a model's `validate`.
#[inline]
fn expect_fns(op: &Operation, allowed: &[OpFn]) -> Result<(), String> {
    if allowed.contains(&op.f) {
        return Ok(());
    }
    Err(accepts_only(allowed))
}

/// The message of [`expect_fns`], apart: it is built only for a bad operation.
#[cold]
fn accepts_only(allowed: &[OpFn]) -> String {
    let names: Vec<&str> = allowed.iter().map(|f| f.name()).collect();
    format!("this model accepts {} only", names.join(", "))
}

/// The `[from, to]` of a cas.
fn cas_args(input: &Value) -> Option<(&Value, &Value)> {
    match input.as_list()? {
        [from, to] => Some((from, to)),
        _ => None,
    }
}
