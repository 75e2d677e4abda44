//! Linearizability checking for dsim and for histories from Jepsen, Knossos and Porcupine.
//!
//! Read a history ([`read`]), pick a model ([`model`]), and check it:
//!
//! ```
//! use checker::{CheckOptions, ModelKind, ModelSpec, Verdict, check_history, read};
//!
//! let text = r#"{"process":0,"type":"invoke","f":"write","value":1,"time":10}
//! {"process":0,"type":"ok","f":"write","value":1,"time":20}
//! {"process":1,"type":"invoke","f":"read","value":null,"time":30}
//! {"process":1,"type":"ok","f":"read","value":2,"time":40}
//! "#;
//! let history = read::read_str(text, "example.jsonl", read::Format::Auto).unwrap();
//! let report = check_history(&history, &ModelSpec::new(ModelKind::Register), &CheckOptions::default()).unwrap();
//! assert_eq!(report.verdict, Verdict::NotLinearizable);
//! println!("{}", report.explanation.unwrap());
//! ```
//!
//! The search ([`search`]) is Wing & Gong's with Lowe's memo, split by key and run in
//! parallel; see its module docs for how it stays small and fast.

#![warn(missing_docs)]

mod check;
pub mod error;
pub mod explain;
pub mod history;
mod html;
mod in_flight;
pub mod model;
mod partition;
pub mod read;
pub mod search;
mod stream;

pub use check::{
    CheckOptions, CheckReport, PartitionReport, Progress, Verdict, check_events, check_history,
    check_stream, check_with_model, partition_ops,
};
pub use error::{CheckError, HistoryError, ReadError};
pub use history::{Event, EventKind, History, OpFn, Operation, Position, Value};
pub use html::render_html;
pub use model::{ModelKind, ModelSpec};
pub use search::Limits;
pub use stream::Checker;
