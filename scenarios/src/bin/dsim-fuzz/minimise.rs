//! Shrinks a finding's input while it still gives the same signature: whole lines first, then
//! JSON members and elements, then byte ranges, each pass halving its chunk size (delta
//! debugging), within a time budget.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::mutate;
use crate::supervise::Replayer;
use crate::targets::Target;

/// The smallest input found within `budget` that still gives `signature`. For the `run`
/// target every candidate keeps the run bounds in its text (`mutate::clamp_run_text`), so the
/// result still runs under `dsim run` as under the target.
pub fn minimise(
    replayer: &mut Replayer,
    target: Target,
    input: &[u8],
    signature: &str,
    budget: Duration,
) -> Vec<u8> {
    let deadline = Instant::now() + budget;
    let mut best = input.to_vec();
    let mut reproduces = |candidate: &[u8]| -> bool {
        let mut candidate = candidate.to_vec();
        if target == Target::Run {
            mutate::clamp_run_text(&mut candidate);
        }
        Instant::now() < deadline
            && replayer
                .run(&candidate)
                .ok()
                .and_then(|o| o.signature())
                .is_some_and(|s| s == signature)
    };
    best = chunks(best, b'\n', &mut reproduces, deadline);
    best = json_members(best, &mut reproduces, deadline);
    if best.len() <= 1 << 16 {
        best = bytes(best, &mut reproduces, deadline);
    }
    if target == Target::Run {
        mutate::clamp_run_text(&mut best);
    }
    best
}

/// Removes chunks of whole `separator`-ended pieces (lines).
fn chunks(
    input: Vec<u8>,
    separator: u8,
    reproduces: &mut impl FnMut(&[u8]) -> bool,
    deadline: Instant,
) -> Vec<u8> {
    let mut pieces: Vec<&[u8]> = input.split_inclusive(|&b| b == separator).collect();
    let mut size = pieces.len() / 2;
    while size >= 1 && Instant::now() < deadline {
        let mut at = 0;
        while at < pieces.len() && Instant::now() < deadline {
            let end = (at + size).min(pieces.len());
            let candidate: Vec<u8> = pieces[..at]
                .iter()
                .chain(&pieces[end..])
                .flat_map(|p| p.iter().copied())
                .collect();
            if pieces.len() > 1 && reproduces(&candidate) {
                pieces.drain(at..end);
            } else {
                at += size;
            }
        }
        size /= 2;
    }
    pieces.concat()
}

/// Deletes JSON object members and array elements, biggest subtrees first.
fn json_members(
    input: Vec<u8>,
    reproduces: &mut impl FnMut(&[u8]) -> bool,
    deadline: Instant,
) -> Vec<u8> {
    let Ok(mut doc) = serde_json::from_slice::<Value>(&input) else {
        return input;
    };
    let mut best = input;
    let mut progress = true;
    while progress && Instant::now() < deadline {
        progress = false;
        for pointer in mutate::pointers(&doc).into_iter().skip(1) {
            if Instant::now() >= deadline {
                break;
            }
            let mut candidate = doc.clone();
            if !remove(&mut candidate, &pointer) {
                continue;
            }
            let Ok(text) = serde_json::to_vec_pretty(&candidate) else {
                continue;
            };
            if text.len() < best.len() && reproduces(&text) {
                doc = candidate;
                best = text;
                progress = true;
                break;
            }
        }
    }
    best
}

fn remove(doc: &mut Value, pointer: &str) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    let last = last.replace("~1", "/").replace("~0", "~");
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(&last).is_some(),
        Some(Value::Array(items)) => match last.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// Removes byte ranges.
fn bytes(input: Vec<u8>, reproduces: &mut impl FnMut(&[u8]) -> bool, deadline: Instant) -> Vec<u8> {
    let mut best = input;
    let mut size = best.len() / 2;
    while size >= 1 && Instant::now() < deadline {
        let mut at = 0;
        while at < best.len() && Instant::now() < deadline {
            let end = (at + size).min(best.len());
            let mut candidate = best[..at].to_vec();
            candidate.extend_from_slice(&best[end..]);
            if reproduces(&candidate) {
                best = candidate;
            } else {
                at += size;
            }
        }
        size /= 2;
    }
    best
}
