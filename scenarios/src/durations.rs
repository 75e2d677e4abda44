//! Human-friendly durations in scenario files. Every field whose name ends in `_ns` (or has a
//! qualifier after it, like `duration_ns_max`) takes
//! either integer nanoseconds or a string with a unit (`"250us"`, `"1.5ms"`, `"30s"`, `"2m"`),
//! so a file reads `"duration_ns": "60s"` instead of `60000000000`. Strings are rewritten to
//! integers before the typed parse; signed fields (`delta_ns`, `offset_ns`) accept a leading `-`.

use serde_json::Value;

/// Rewrites every `*_ns` string in `value` to integer nanoseconds. On failure returns the JSON
/// path of the bad field and what is wrong with it.
pub fn normalize(value: &mut Value, path: &mut Vec<String>) -> Result<(), (String, String)> {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                path.push(key.clone());
                if is_duration_field(key) {
                    if let Value::String(text) = v {
                        let ns = parse(text).map_err(|why| (join(path), why))?;
                        *v = Value::from(ns);
                    }
                } else {
                    normalize(v, path)?;
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                path.push(format!("[{i}]"));
                normalize(v, path)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Whether a field holds nanoseconds: `ns` (a constant latency), `*_ns`, or
/// `*_ns_<qualifier>` such as `duration_ns_max`.
fn is_duration_field(key: &str) -> bool {
    key == "ns" || key.ends_with("_ns") || key.contains("_ns_")
}

/// Joins path segments as `a.b[2].c`.
pub fn join(path: &[String]) -> String {
    let mut out = String::new();
    for seg in path {
        if !seg.starts_with('[') && !out.is_empty() {
            out.push('.');
        }
        out.push_str(seg);
    }
    out
}

/// Parses `"1.5ms"` and friends into signed nanoseconds.
pub fn parse(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| c.is_ascii_alphabetic() || c == 'µ')
        .ok_or_else(|| {
            format!("`{text}` has no unit; expected a number with ns, us, ms, s or m")
        })?;
    let (number, unit) = t.split_at(split);
    let scale: f64 = match unit.trim() {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        "h" => 3600e9,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`; expected ns, us, ms, s, m or h"
            ));
        }
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` does not start with a number"))?;
    let ns = n * scale;
    if !ns.is_finite() || ns.abs() > i64::MAX as f64 {
        return Err(format!("`{text}` is out of range"));
    }
    Ok(ns.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_parse() {
        assert_eq!(parse("250us"), Ok(250_000));
        assert_eq!(parse("1.5ms"), Ok(1_500_000));
        assert_eq!(parse("30s"), Ok(30_000_000_000));
        assert_eq!(parse("2m"), Ok(120_000_000_000));
        assert_eq!(parse("-20ms"), Ok(-20_000_000));
        assert_eq!(parse("7ns"), Ok(7));
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse("10").unwrap_err().contains("no unit"));
        assert!(parse("10 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse("ms").unwrap_err().contains("number"));
        assert!(
            parse("99999999999999h")
                .unwrap_err()
                .contains("out of range")
        );
    }

    #[test]
    fn only_ns_fields_are_rewritten_and_paths_are_reported() {
        let mut v: Value = serde_json::from_str(
            r#"{"duration_ns": "1s", "name": "5s", "d_ns_max": "3us", "faults": [{"at_ns": "2ms"}, {"at_ns": "x"}]}"#,
        )
        .unwrap();
        let err = normalize(&mut v, &mut Vec::new()).unwrap_err();
        assert_eq!(err.0, "faults[1].at_ns");
        assert_eq!(v["duration_ns"], 1_000_000_000);
        assert_eq!(v["name"], "5s");
        assert_eq!(v["d_ns_max"], 3_000);
        assert_eq!(v["faults"][0]["at_ns"], 2_000_000);
    }
}
