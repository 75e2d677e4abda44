//! dsim's JSON Lines histories: one [`Event`] object per line, in time order; blank lines are
//! allowed.

use crate::error::ReadError;
use crate::history::{Event, History};

/// Reads JSON Lines; `source` names the file in errors.
pub(crate) fn read(text: &str, source: &str) -> Result<History, ReadError> {
    let mut history = History::default();
    let mut time_prev = 0u64;
    for (index, raw) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let event: Event = serde_json::from_str(line).map_err(|err| {
            let at = super::floor_char_boundary(line, err.column().saturating_sub(1));
            ReadError::Syntax {
                file: source.to_owned(),
                line: line_no,
                column: line[..at].chars().count() + 1,
                expected: expected_of(&err),
                found: super::shorten(&line[at..]),
            }
        })?;
        if event.time < time_prev {
            return Err(ReadError::Syntax {
                file: source.to_owned(),
                line: line_no,
                column: line.find("\"time\"").map_or(1, |i| i + 1),
                expected: format!("a time >= {time_prev} (lines are in time order)"),
                found: event.time.to_string(),
            });
        }
        time_prev = event.time;
        history.events.push(event);
        history
            .lines
            .push(u32::try_from(line_no).unwrap_or(u32::MAX));
    }
    Ok(history)
}

/// What serde_json wanted, without its own "at line 1 column 7" (we name the file's line).
fn expected_of(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let message = match message.rfind(" at line ") {
        Some(at) => &message[..at],
        None => &message,
    };
    format!(
        "an event object {{\"process\", \"type\", \"f\", \"value\", \"time\"[, \"key\"]}} ({message})"
    )
}
