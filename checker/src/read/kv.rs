//! Porcupine's kv histories: one EDN op map per line, such as
//! `{:process 3, :type :invoke, :f :append, :key "9", :value "x 3 0 y"}`.

use super::edn::{Location, edn_error, event_of_map};
use crate::error::ReadError;
use crate::history::History;

/// Reads kv EDN lines; `source` names the file in errors.
pub(crate) fn read(text: &str, source: &str) -> Result<History, ReadError> {
    let mut history = History::default();
    let mut line_start = 0;
    for (index, raw) in text.split('\n').enumerate() {
        let base = line_start;
        line_start += raw.len() + 1;
        let line = raw.trim_end();
        if line.trim_start().is_empty() {
            continue;
        }
        let offset = line.len() - line.trim_start().len();
        let (form, rest) = clojure_reader::edn::read(line.trim_start())
            .map_err(|err| edn_error(text, source, base + offset, &err))?;
        if !rest.trim().is_empty() {
            let column = line[..line.len() - rest.trim_start().len()].chars().count() + 1;
            return Err(ReadError::Syntax {
                file: source.to_owned(),
                line: index + 1,
                column,
                expected: "one op map per line".to_owned(),
                found: super::shorten(rest),
            });
        }
        let at = Location {
            file: source,
            line: index + 1,
            column: offset + 1,
        };
        match event_of_map(&form, &at, history.events.len() as u64)? {
            Some(event) => {
                history.events.push(event);
                history
                    .lines
                    .push(u32::try_from(index + 1).unwrap_or(u32::MAX));
            }
            None => history.skipped += 1,
        }
    }
    Ok(history)
}
