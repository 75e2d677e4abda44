//! Porcupine's kv histories: one EDN op map per line, such as
//! `{:process 3, :type :invoke, :f :append, :key "9", :value "x 3 0 y"}`.

use super::edn::{Location, edn_error, event_of_map};
use crate::error::ReadError;
use crate::history::Event;

/// Parses one line as line `line_no`: `None` for a blank line, `Some(None)` for an op that
/// is not a client's; `index` stands in for `:time`.
pub(crate) fn parse_line(
    line: &str,
    line_no: usize,
    source: &str,
    index: u64,
) -> Result<Option<Option<Event>>, ReadError> {
    let line = line.trim_end();
    if line.trim_start().is_empty() {
        return Ok(None);
    }
    let offset = line.len() - line.trim_start().len();
    let column = line[..offset].chars().count() + 1;
    let (form, rest) = clojure_reader::edn::read(line.trim_start())
        .map_err(|err| edn_error(source, (line_no, column), &err))?;
    if !rest.trim().is_empty() {
        let column = line[..line.len() - rest.trim_start().len()].chars().count() + 1;
        return Err(ReadError::Syntax {
            file: source.to_owned(),
            line: line_no,
            column,
            expected: "one op map per line".to_owned(),
            found: super::shorten(rest),
        });
    }
    let at = Location {
        file: source,
        line: line_no,
        column,
    };
    event_of_map(&form, &at, index).map(Some)
}
