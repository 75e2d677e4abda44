//! Finds where a JSON path (`workload.mix.read`, `faults[2].fault.node`) sits in the source text,
//! so errors found after parsing (a bad value, a semantic check) still point at a line and
//! column. The text has already parsed as JSON, so a small tokenizer suffices.

/// Line and column (both 1-based) of the value at `path` in `text`, or of the deepest prefix
/// of the path that exists.
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let wanted = segments(path);
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        pos: 0,
        best: None,
        wanted: &wanted,
    };
    scanner.value(&mut Vec::new());
    scanner.best.map(|(_, offset)| line_col(text, offset))
}

/// Splits `a.b[2].c` into `["a", "b", "[2]", "c"]`.
fn segments(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let mut rest = part;
        while let Some(i) = rest.find('[') {
            if i > 0 {
                out.push(rest[..i].to_string());
            }
            let end = rest[i..].find(']').map_or(rest.len(), |e| i + e + 1);
            out.push(rest[i..end].to_string());
            rest = &rest[end..];
        }
        if !rest.is_empty() {
            out.push(rest.to_string());
        }
    }
    out
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(before.chars().count(), |nl| {
        before[nl + 1..].chars().count()
    }) + 1;
    (line, column)
}

struct Scanner<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Deepest match so far: (matched segments, byte offset of the value).
    best: Option<(usize, usize)>,
    wanted: &'a [String],
}

impl Scanner<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.bytes.len() && self.bytes[self.pos].is_ascii_whitespace() {
            self.pos += 1;
        }
    }

    fn note(&mut self, path: &[String]) {
        let depth = path.len();
        if depth <= self.wanted.len()
            && path == &self.wanted[..depth]
            && self.best.is_none_or(|(d, _)| depth > d)
        {
            self.best = Some((depth, self.pos));
        }
    }

    fn value(&mut self, path: &mut Vec<String>) {
        self.skip_ws();
        self.note(path);
        match self.bytes.get(self.pos) {
            Some(b'{') => {
                self.pos += 1;
                loop {
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b'}') | None => {
                            self.pos += 1;
                            return;
                        }
                        Some(b',') => self.pos += 1,
                        Some(b'"') => {
                            let key = self.string();
                            self.skip_ws();
                            if self.bytes.get(self.pos) == Some(&b':') {
                                self.pos += 1;
                            }
                            path.push(key);
                            self.value(path);
                            path.pop();
                        }
                        Some(_) => self.pos += 1,
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                let mut index = 0;
                loop {
                    self.skip_ws();
                    match self.bytes.get(self.pos) {
                        Some(b']') | None => {
                            self.pos += 1;
                            return;
                        }
                        Some(b',') => self.pos += 1,
                        Some(_) => {
                            path.push(format!("[{index}]"));
                            self.value(path);
                            path.pop();
                            index += 1;
                        }
                    }
                }
            }
            Some(b'"') => {
                self.string();
            }
            Some(_) => {
                while self.pos < self.bytes.len() && !b",]}".contains(&self.bytes[self.pos]) {
                    self.pos += 1;
                }
            }
            None => {}
        }
    }

    fn string(&mut self) -> String {
        let start = self.pos + 1;
        self.pos += 1;
        while self.pos < self.bytes.len() && self.bytes[self.pos] != b'"' {
            if self.bytes[self.pos] == b'\\' {
                self.pos += 1;
            }
            self.pos += 1;
        }
        let end = self.pos.min(self.bytes.len());
        self.pos += 1;
        String::from_utf8_lossy(&self.bytes[start.min(end)..end]).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "{\n  \"a\": 1,\n  \"faults\": [\n    {\"at_ns\": 5},\n    {\"at_ns\": 6, \"fault\": {\"node\": 9}}\n  ]\n}";

    #[test]
    fn finds_nested_paths() {
        assert_eq!(locate(TEXT, "a"), Some((2, 8)));
        assert_eq!(locate(TEXT, "faults[1].fault.node"), Some((5, 36)));
        assert_eq!(locate(TEXT, "faults[0].at_ns"), Some((4, 15)));
    }

    #[test]
    fn falls_back_to_the_deepest_existing_prefix() {
        assert_eq!(locate(TEXT, "faults[1].missing"), Some((5, 5)));
    }
}
