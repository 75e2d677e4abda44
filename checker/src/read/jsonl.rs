//! dsim's JSON Lines histories: one [`Event`] object per line, in time order; blank lines are
//! allowed.

use crate::error::ReadError;
use crate::history::Event;

/// Parses one line (without its line ending) as line `line_no`; `None` for a blank line.
/// `time_prev` is the time of the previous event: times may not go back.
pub(crate) fn parse_line(
    line: &str,
    line_no: usize,
    source: &str,
    time_prev: &mut u64,
) -> Result<Option<Event>, ReadError> {
    if line.trim().is_empty() {
        return Ok(None);
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
    if event.time < *time_prev {
        return Err(ReadError::Syntax {
            file: source.to_owned(),
            line: line_no,
            column: line
                .find("\"time\"")
                .map_or(1, |at| line[..at].chars().count() + 1),
            expected: format!("a time >= {time_prev} (lines are in time order)"),
            found: event.time.to_string(),
        });
    }
    *time_prev = event.time;
    Ok(Some(event))
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
