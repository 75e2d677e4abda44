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
        let (start, end) = blamed(line, &err);
        ReadError::Syntax {
            file: source.to_owned(),
            line: line_no,
            column: line[..start].chars().count() + 1,
            expected: expected_of(&err),
            found: super::shorten(&line[start..end]),
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

/// The bytes of `line` an error of serde_json's is about: a value of the wrong type or an
/// unknown name is blamed from its first character (serde_json points at its last); a syntax
/// error from where it was found to the end of the line; the end of the line for one that
/// ends too soon.
fn blamed(line: &str, err: &serde_json::Error) -> (usize, usize) {
    let at = super::floor_char_boundary(line, err.column().saturating_sub(1));
    let bytes = line.as_bytes();
    match err.classify() {
        serde_json::error::Category::Eof => (line.len(), line.len()),
        serde_json::error::Category::Data if at < line.len() => {
            let start = match bytes[at] {
                // The string's opening quote: the previous quote not escaped.
                b'"' => (0..at)
                    .rev()
                    .find(|&i| bytes[i] == b'"' && escapes_before(bytes, i).is_multiple_of(2))
                    .unwrap_or(at),
                b if is_scalar(b) => (0..at)
                    .rev()
                    .find(|&i| !is_scalar(bytes[i]))
                    .map_or(0, |i| i + 1),
                _ => at,
            };
            (start, super::floor_char_boundary(line, at + 1))
        }
        _ => (at, line.len()),
    }
}

/// Backslashes just before byte `at`.
fn escapes_before(bytes: &[u8], at: usize) -> usize {
    bytes[..at]
        .iter()
        .rev()
        .take_while(|&&b| b == b'\\')
        .count()
}

/// Bytes of a JSON number or literal (`true`, `null`).
fn is_scalar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+')
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
