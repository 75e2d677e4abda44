//! Input generation: input `i` of a campaign is a seed input with a few stacked mutations, all
//! drawn from `arbitrary::Unstructured` over a ChaCha stream fixed by the campaign's seed and
//! `i`. So an input is a pure function of (seed corpus, seed, index): the parent regenerates
//! the input a dead worker was running from its index alone, and a campaign can be repeated
//! exactly. (The mutators read their choices from `Unstructured`, so a coverage-guided engine
//! could drive them with its own bytes instead.)
//!
//! The mutations know the formats: JSON trees (numbers set to extremes, subtrees deleted,
//! duplicated, nested, grafted from another seed at the same path), number, string and EDN
//! keyword tokens, lines (deleted, repeated, swapped, joined onto one line), deep nesting, and
//! bytes (flips, BOM, NUL, invalid UTF-8, splices between seeds, truncation).

use std::collections::BTreeSet;

use arbitrary::Unstructured;
use checker::read::Format;
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde_json::Value;

use crate::corpus::Corpus;
use crate::targets::{self, Target};

/// Largest input generated; bigger ones are cut.
pub const INPUT_BYTES_MAX: usize = 4 << 20;

/// Most bytes of the seed window a reading target's input mostly starts from (see
/// [`Target::is_reading`]).
const READ_BASE_BYTES_MAX: usize = 16 * 1024;

/// Most tokens in a target's dictionary.
const DICTIONARY_TOKENS_MAX: usize = 4000;

/// Input `index` of the campaign with `seed`. The first `corpus.entries.len()` indices are the
/// seeds themselves (a `run` seed cut to the run bounds), so every seed is run once as it is.
pub fn generate(target: Target, corpus: &Corpus, seed: u64, index: u64) -> Vec<u8> {
    if corpus.entries.is_empty() {
        return Vec::new();
    }
    if let Some((_, bytes)) = usize::try_from(index)
        .ok()
        .and_then(|i| corpus.entries.get(i))
    {
        let mut input = bytes.clone();
        if target == Target::Run {
            clamp_run_text(&mut input);
        }
        return input;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(index);
    let mut choices = vec![0u8; 4096];
    rng.fill_bytes(&mut choices);
    let mut m = Mutator {
        u: Unstructured::new(&choices),
        corpus,
        bounds_rarely: target == Target::Run,
    };
    let mut input = m.base();
    let shape = Shape::of(target, &input);
    // A reading target mostly reads a window of a big seed: its cost grows with the input,
    // and the bugs of reading are in the syntax of a few lines, not in the length of a file.
    if target.is_reading() && input.len() > READ_BASE_BYTES_MAX && m.chance(7, 8) {
        m.crop(&mut input, READ_BASE_BYTES_MAX);
    } else if input.len() > 64 * 1024 && m.chance(3, 4) {
        m.crop(&mut input, 64 * 1024);
    }
    let stacked = if target == Target::Run {
        1 + m.below(3)
    } else {
        1 + m.below(4) + if m.chance(1, 4) { m.below(5) } else { 0 }
    };
    for _ in 0..stacked {
        m.mutate(shape, &mut input);
        input.truncate(INPUT_BYTES_MAX);
    }
    if target == Target::Run {
        clamp_run_text(&mut input);
    }
    input
}

/// The tokens mutations insert: field names, string values and keywords of the seeds, plus
/// what each format finds hard.
pub fn dictionary(target: Target, entries: &[(std::path::PathBuf, Vec<u8>)]) -> Vec<Vec<u8>> {
    let mut tokens: BTreeSet<Vec<u8>> = BTreeSet::new();
    for (_, bytes) in entries {
        let head = &bytes[..bytes.len().min(64 * 1024)];
        for (start, end) in spans(head, Token::String)
            .into_iter()
            .chain(spans(head, Token::Keyword))
        {
            if end - start <= 64 {
                tokens.insert(head[start..end].to_vec());
            }
            if tokens.len() >= DICTIONARY_TOKENS_MAX {
                break;
            }
        }
    }
    let extra: &[&str] = match target {
        Target::Scenario | Target::Build | Target::Run => &[
            "\"0s\"",
            "\"1ns\"",
            "\"-1s\"",
            "\"1000h\"",
            "\"18446744073709551615ns\"",
            "\"18446744073709551616ns\"",
            "\"1.5s\"",
            "\"1e3ms\"",
            "\"10 s\"",
            "\"1us\"",
            "\"1µs\"",
            "\"NaN s\"",
            "\"inf\"",
            "\"NaN\"",
            "\"raft\"",
            "\"gossip\"",
            "\"chain\"",
            "\"twopc\"",
            "\"register\"",
            "\"pingpong\"",
        ],
        _ => &[
            ":invoke",
            ":ok",
            ":fail",
            ":info",
            ":read",
            ":write",
            ":cas",
            ":txn",
            ":append",
            ":get",
            ":put",
            ":add",
            ":r",
            ":w",
            ":process",
            ":type",
            ":f",
            ":value",
            ":key",
            ":time",
            ":index",
            ":timed-out",
            "nil",
            "true",
            "false",
            "#{}",
            "##NaN",
            "##Inf",
            "1N",
            "1.5M",
            "\\a",
            "#_",
            "#inst \"2020\"",
            "^:m",
            "'",
            "@",
            "~",
            "#\"re\"",
            "\"process\"",
            "\"type\"",
            "\"f\"",
            "\"value\"",
            "\"key\"",
            "\"time\"",
            "\"invoke\"",
            "\"ok\"",
            "\"fail\"",
            "\"info\"",
            "\"read\"",
            "\"write\"",
            "\"cas\"",
        ],
    };
    tokens.extend(extra.iter().map(|t| t.as_bytes().to_vec()));
    tokens.into_iter().collect()
}

/// The broad syntax of an input, which decides the mutations that suit it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// One JSON document (a scenario).
    Json,
    /// A scenario that must stay runnable: tree mutations only.
    RunJson,
    /// JSON Lines.
    JsonLines,
    /// EDN, whole or one form per line.
    Edn,
    /// The etcd console log.
    EtcdLog,
}

impl Shape {
    fn of(target: Target, input: &[u8]) -> Shape {
        match target {
            Target::Scenario | Target::Build => Shape::Json,
            Target::Run => Shape::RunJson,
            Target::History(Format::Jsonl) => Shape::JsonLines,
            Target::History(Format::Edn | Format::KvEdn) => Shape::Edn,
            Target::History(Format::EtcdLog) => Shape::EtcdLog,
            Target::History(Format::Auto) | Target::Check => {
                let first = input.iter().find(|b| !b.is_ascii_whitespace());
                if input.starts_with(b"INFO") {
                    Shape::EtcdLog
                } else if first == Some(&b'{') && input.iter().take(200).any(|&b| b == b'"') {
                    Shape::JsonLines
                } else {
                    Shape::Edn
                }
            }
        }
    }
}

/// Number literals that break things: type bounds, float extremes, negative zero, and what
/// JSON and EDN do not allow.
const NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "7",
    "255",
    "65536",
    "2147483647",
    "2147483648",
    "4294967295",
    "4294967296",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "1e308",
    "-1e308",
    "1e309",
    "0.5",
    "-0",
    "-0.0",
    "1e-320",
    "1.0E400",
    "NaN",
    "Infinity",
    "\"NaN\"",
    "00",
    "1N",
    "1.5M",
    "##NaN",
    "##-Inf",
    "1/0",
    "0x10",
    "+1",
];

/// Byte strings that readers often mishandle.
const SPECIALS: &[&[u8]] = &[
    b"\xEF\xBB\xBF",
    b"\0",
    b"\xFF",
    b"\xC3",
    b"\xED\xA0\x80",
    b"\xE2\x80\xA8",
    "é".as_bytes(),
    "𝔘".as_bytes(),
    b"\r\n",
    b"\r",
    b"\t",
    b"\\u0000",
    b"\\ud800",
    b"\"",
    b"\\",
    b"#",
    b";",
    b"//",
    b"/*",
    b",",
    b" ",
    b"\n\n\n",
    b"}",
    b"]",
    b")",
    b"{",
    b"[",
    b"(",
];

/// Nesting depths: mostly shallow or just past common recursion limits (128)...
const DEPTHS: &[usize] = &[2, 3, 10, 64, 127, 129, 1000, 5000];

/// ...and rarely far deeper: a reader that recurses per level overflows its stack at these,
/// and one that is quadratic in depth takes seconds, so drawn often they would leave a
/// campaign nothing but the same hang to look at.
const DEPTHS_DEEP: &[usize] = &[20_000, 100_000];

/// Durations a typed mutation puts where a duration was.
const DURATIONS: &[&str] = &[
    "1ns", "1us", "100us", "1ms", "5ms", "10ms", "50ms", "100ms", "300ms", "500ms", "1s", "2s",
    "5s", "30s",
];

/// Whether a string is a duration such as `"150ms"`.
fn is_duration(text: &str) -> bool {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    !digits.is_empty()
        && digits.len() < text.len()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// Repetition counts for duplicated lines, array elements and bytes.
const REPEATS: &[usize] = &[1, 2, 3, 10, 100, 1000, 10_000];

/// Which kind of token [`spans`] looks for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A number literal.
    Number,
    /// A JSON/EDN string literal, quotes included.
    String,
    /// An EDN keyword.
    Keyword,
}

/// The byte ranges of every token of one kind (at most 100,000, from the start).
fn spans(text: &[u8], kind: Token) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < text.len() && found.len() < 100_000 {
        let b = text[i];
        let start = i;
        match kind {
            Token::String if b == b'"' => {
                i += 1;
                while i < text.len() && text[i] != b'"' {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(text.len());
                found.push((start, i));
                continue;
            }
            Token::Number
                if b.is_ascii_digit()
                    || (b == b'-' && text.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let before = start.checked_sub(1).map(|j| text[j]);
                i += 1;
                while i < text.len()
                    && (text[i].is_ascii_digit() || matches!(text[i], b'.' | b'e' | b'E' | b'+'))
                {
                    i += 1;
                }
                // Digits inside a word (a keyword or name) are not a number.
                if !before.is_some_and(|c| c.is_ascii_alphabetic() || c == b'_') {
                    found.push((start, i));
                }
                continue;
            }
            Token::Keyword if b == b':' => {
                i += 1;
                while i < text.len()
                    && (text[i].is_ascii_alphanumeric() || b"*+!_?<>=/.-".contains(&text[i]))
                {
                    i += 1;
                }
                if i > start + 1 {
                    found.push((start, i));
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    found
}

/// Draws every choice of one input's mutations.
struct Mutator<'a> {
    u: Unstructured<'a>,
    corpus: &'a Corpus,
    /// Draw type bounds (2^31, 2^32 - 1, 2^64 - 1) for integers rarely: the `run` target
    /// explores runs, and the scenario target already tries every bound on loading.
    bounds_rarely: bool,
}

impl Mutator<'_> {
    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            self.u.choose_index(n).unwrap_or(0)
        }
    }

    /// True with probability `num / den`.
    fn chance(&mut self, num: u8, den: u8) -> bool {
        self.u.ratio(num, den).unwrap_or(false)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// A position in `0..=len`.
    fn position(&mut self, len: usize) -> usize {
        self.below(len + 1)
    }

    /// A seed to start from: any, but one bigger than 256 KiB only one time in eight it is
    /// drawn (they are slow to run and find nothing the small ones do not).
    fn base(&mut self) -> Vec<u8> {
        let entries = &self.corpus.entries;
        for _ in 0..8 {
            let (_, bytes) = &entries[self.below(entries.len())];
            if bytes.len() <= 256 * 1024 || self.chance(1, 8) {
                return bytes.clone();
            }
        }
        entries[self.below(entries.len())].1.clone()
    }

    /// Another seed's bytes, for splices and grafts.
    fn other(&mut self) -> &[u8] {
        let entries = &self.corpus.entries;
        &entries[self.below(entries.len())].1
    }

    /// A token of the target's dictionary.
    fn word(&mut self) -> Vec<u8> {
        let dict = &self.corpus.dictionary;
        if dict.is_empty() {
            return b"x".to_vec();
        }
        dict[self.below(dict.len())].clone()
    }

    /// Applies one mutation that suits the shape.
    fn mutate(&mut self, shape: Shape, input: &mut Vec<u8>) {
        let roll = self.below(100);
        match shape {
            Shape::RunJson => self.tree_typed(input),
            Shape::Json => match roll {
                0..25 => self.tree_typed(input),
                25..45 => self.tree(input, false),
                45..60 => self.number(input),
                60..70 => self.string(input),
                70..75 => self.nest(input, shape),
                _ => self.bytes(input),
            },
            Shape::JsonLines => match roll {
                0..20 => self.lines(input),
                20..50 => self.tree_on_a_line(input),
                50..65 => self.number(input),
                65..70 => self.string(input),
                70..75 => self.nest(input, shape),
                _ => self.bytes(input),
            },
            Shape::Edn => match roll {
                0..20 => self.lines(input),
                20..35 => self.keyword(input),
                35..50 => self.number(input),
                50..58 => self.nest(input, shape),
                58..68 => self.insert_word(input),
                _ => self.bytes(input),
            },
            Shape::EtcdLog => match roll {
                0..25 => self.lines(input),
                25..45 => self.insert_word(input),
                45..60 => self.number(input),
                60..70 => self.whitespace(input),
                _ => self.bytes(input),
            },
        }
    }

    /// Keeps a window of whole lines (a sub-history) of about 1 KiB to `keep_max` bytes (a
    /// power of two).
    fn crop(&mut self, input: &mut Vec<u8>, keep_max: usize) {
        let len = input.len();
        let doublings = (keep_max / 1024).max(1).ilog2() as usize + 1;
        let keep = (1024usize << self.below(doublings)).min(len);
        let mut start = self.below(len - keep + 1);
        while start > 0 && input[start - 1] != b'\n' {
            start -= 1;
        }
        let mut end = (start + keep).min(len);
        while end < len && input[end - 1] != b'\n' {
            end += 1;
        }
        *input = input[start..end].to_vec();
    }

    /// Byte-level mutations: flips, special bytes, deletions, duplications, splices,
    /// truncation and long repetitions.
    fn bytes(&mut self, input: &mut Vec<u8>) {
        let len = input.len();
        match self.below(10) {
            0 if len > 0 => {
                let at = self.below(len);
                input[at] ^= 1 << self.below(8);
            }
            1 => {
                let special = self.pick(SPECIALS);
                let at = if self.chance(1, 4) {
                    0
                } else {
                    self.position(len)
                };
                splice_in(input, at, special);
            }
            2 if len > 0 => {
                let at = self.below(len);
                let most = if self.chance(1, 8) { len } else { 16 };
                let n = 1 + self.below((len - at).min(most));
                input.drain(at..at + n);
            }
            3 if len > 0 => {
                let at = self.below(len);
                let n = 1 + self.below((len - at).min(256));
                let chunk = input[at..at + n].to_vec();
                let to = self.position(len);
                splice_in(input, to, &chunk);
            }
            4 => {
                let other = self.other().to_vec();
                if other.is_empty() {
                    return;
                }
                let from = self.below(other.len());
                let n = 1 + self.below((other.len() - from).min(4096));
                let at = self.position(len);
                if self.chance(1, 2) {
                    input.truncate(at);
                }
                splice_in(input, at, &other[from..from + n]);
            }
            5 => {
                let at = self.position(len);
                input.truncate(at);
            }
            6 => {
                let unit = if self.chance(1, 2) {
                    self.pick(SPECIALS).to_vec()
                } else {
                    self.word()
                };
                let times = self.pick(REPEATS).min(room(input) / unit.len().max(1));
                let at = self.position(len);
                splice_in(input, at, &unit.repeat(times));
            }
            7 if len > 0 => {
                let at = self.below(len);
                input[at] = self.pick(&[0x00, 0x7F, 0x80, 0xFF, b'"', b'\\', b'\n', b'0', b'9']);
            }
            _ => self.insert_word(input),
        }
    }

    /// Inserts a dictionary token, or replaces a token-sized run with one.
    fn insert_word(&mut self, input: &mut Vec<u8>) {
        let word = self.word();
        let at = self.position(input.len());
        if self.chance(1, 2) {
            let end = input[at..]
                .iter()
                .position(|b| b.is_ascii_whitespace() || b",]})".contains(b))
                .map_or(input.len(), |n| at + n);
            input.splice(at..end, word);
        } else {
            let mut with_space = word;
            with_space.push(b' ');
            splice_in(input, at, &with_space);
        }
    }

    /// Replaces a number token with an extreme or a neighbour of itself.
    fn number(&mut self, input: &mut Vec<u8>) {
        let found = spans(input, Token::Number);
        if found.is_empty() {
            return self.insert_word(input);
        }
        let (start, end) = found[self.below(found.len())];
        let replacement: Vec<u8> = if self.chance(3, 5) {
            self.pick(NUMBERS).as_bytes().to_vec()
        } else {
            let text = String::from_utf8_lossy(&input[start..end]);
            let n: i128 = text.parse::<f64>().map_or(1, |f| f as i128);
            // Wrapping, as a release build computed these before overflow checks met them:
            // the inputs are the same in every profile.
            let next = match self.below(7) {
                0 => n.wrapping_add(1),
                1 => n.wrapping_sub(1),
                2 => n.wrapping_mul(2),
                3 => n / 2,
                4 => n.wrapping_neg(),
                5 => n.wrapping_mul(1000),
                _ => n.wrapping_mul(n),
            };
            next.to_string().into_bytes()
        };
        input.splice(start..end, replacement);
    }

    /// Replaces a string literal with a dictionary token or a hard string.
    fn string(&mut self, input: &mut Vec<u8>) {
        let found = spans(input, Token::String);
        if found.is_empty() {
            return self.insert_word(input);
        }
        let (start, end) = found[self.below(found.len())];
        let replacement = match self.below(6) {
            0 => b"\"\"".to_vec(),
            1 => format!("\"{}\"", "a".repeat(4096)).into_bytes(),
            2 => b"\"\\u0000\\ud800\xC3\xA9\xF0\x9D\x94\x98\"".to_vec(),
            _ => self.word(),
        };
        input.splice(start..end, replacement);
    }

    /// Replaces an EDN keyword with another.
    fn keyword(&mut self, input: &mut Vec<u8>) {
        let found = spans(input, Token::Keyword);
        if found.is_empty() {
            return self.insert_word(input);
        }
        let (start, end) = found[self.below(found.len())];
        let replacement = match self.below(8) {
            0 => b":".to_vec(),
            1 => b"::a".to_vec(),
            2 => b":a/b".to_vec(),
            _ => self.word(),
        };
        input.splice(start..end, replacement);
    }

    /// Tabs for spaces and back, runs of spaces, CRLF line ends.
    fn whitespace(&mut self, input: &mut Vec<u8>) {
        let (from, to): (&[u8], &[u8]) = match self.below(4) {
            0 => (b"\t", b" "),
            1 => (b"\t", b"    \t "),
            2 => (b"\n", b"\r\n"),
            _ => (b" ", b"\t"),
        };
        let limit = self.pick(&[1usize, 10, usize::MAX]);
        *input = replace_bytes(input, from, to, limit);
    }

    /// Wraps the token at a position in many brackets: the depth that breaks a recursive
    /// reader or printer.
    fn nest(&mut self, input: &mut Vec<u8>, shape: Shape) {
        let depth = if self.chance(1, 64) {
            self.pick(DEPTHS_DEEP)
        } else {
            self.pick(DEPTHS)
        };
        let (open, close): (&[u8], &[u8]) = match (shape, self.below(4)) {
            (Shape::Json | Shape::RunJson | Shape::JsonLines, 0) => (b"{\"a\":", b"}"),
            (Shape::Json | Shape::RunJson | Shape::JsonLines, _) => (b"[", b"]"),
            (_, 0) => (b"{:a ", b"}"),
            (_, 1) => (b"(", b")"),
            (_, 2) => (b"#{", b"}"),
            _ => (b"[", b"]"),
        };
        let depth = depth.min(room(input) / (open.len() + close.len()));
        let candidates = spans(input, Token::Number);
        let (start, end) = if candidates.is_empty() {
            let at = self.position(input.len());
            (at, at)
        } else {
            candidates[self.below(candidates.len())]
        };
        let mut nested = open.repeat(depth);
        nested.extend_from_slice(&input[start..end]);
        nested.extend_from_slice(&close.repeat(depth));
        input.splice(start..end, nested);
    }

    /// Line-level mutations: delete, repeat, swap, join onto one line, insert another seed's.
    fn lines(&mut self, input: &mut Vec<u8>) {
        let mut lines: Vec<Vec<u8>> = input
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        let n = lines.len();
        if n == 0 {
            return self.insert_word(input);
        }
        match self.below(7) {
            0 => {
                let at = self.below(n);
                let count = 1 + self.below((n - at).min(8));
                lines.drain(at..at + count);
            }
            1 => {
                let at = self.below(n);
                let times = self.pick(REPEATS).min(room(input) / lines[at].len().max(1));
                let copies = vec![lines[at].clone(); times];
                lines.splice(at..at, copies);
            }
            2 => {
                let (a, b) = (self.below(n), self.below(n));
                lines.swap(a, b);
            }
            3 => {
                // One-line joins: the whole file, or a run of lines.
                let (from, to) = if self.chance(1, 2) {
                    (0, n)
                } else {
                    let from = self.below(n);
                    (from, from + 1 + self.below(n - from))
                };
                for line in &mut lines[from..to] {
                    if line.last() == Some(&b'\n') {
                        *line.last_mut().expect("not empty") = b' ';
                    }
                }
            }
            4 => {
                let other: Vec<Vec<u8>> = self
                    .other()
                    .split_inclusive(|&b| b == b'\n')
                    .take(10_000)
                    .map(<[u8]>::to_vec)
                    .collect();
                if !other.is_empty() {
                    let line = other[self.below(other.len())].clone();
                    let at = self.position(n);
                    lines.insert(at, line);
                }
            }
            5 => {
                let at = self.below(n);
                let len = 1 + self.below((n - at).min(32));
                lines[at..at + len].reverse();
            }
            _ => {
                let at = self.below(n);
                lines[at] = b"\n".to_vec();
            }
        }
        *input = lines.concat();
    }

    /// A tree mutation on one line of JSON Lines.
    fn tree_on_a_line(&mut self, input: &mut Vec<u8>) {
        let mut lines: Vec<Vec<u8>> = input
            .split_inclusive(|&b| b == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        if lines.is_empty() {
            return self.bytes(input);
        }
        let at = self.below(lines.len());
        let ended = lines[at].last() == Some(&b'\n');
        let mut line = lines[at].clone();
        if ended {
            line.pop();
        }
        self.tree(&mut line, false);
        if ended {
            line.push(b'\n');
        }
        lines[at] = line;
        *input = lines.concat();
    }

    /// A mutation of the JSON tree: a node replaced (by an extreme, a neighbour, another type,
    /// a token, or the node at the same path in another seed), deleted, repeated or wrapped.
    /// `moderate` keeps numbers near their old values more often (a run should still run).
    fn tree(&mut self, input: &mut Vec<u8>, moderate: bool) {
        let Ok(mut doc) = serde_json::from_slice::<Value>(input) else {
            return self.bytes(input);
        };
        let pointers = pointers(&doc);
        let pointer = pointers[self.below(pointers.len())].clone();
        let roll = self.below(10);
        let replacement: Option<Value> =
            match roll {
                0..3 => {
                    let old = doc.pointer(&pointer).cloned().unwrap_or(Value::Null);
                    Some(self.number_value(&old, moderate))
                }
                3 => Some(match self.below(6) {
                    0 => Value::Null,
                    1 => Value::Bool(true),
                    2 => Value::String(String::new()),
                    3 => Value::Array(Vec::new()),
                    4 => Value::Object(Default::default()),
                    _ => Value::String("x".to_string()),
                }),
                4 => {
                    let word = self.word();
                    Some(serde_json::from_slice(&word).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(&word).into_owned())
                    }))
                }
                5 => self.graft(&pointer),
                6 => {
                    delete(&mut doc, &pointer);
                    None
                }
                7 => {
                    let times = self.pick(REPEATS);
                    repeat(&mut doc, &pointer, times.min(room(input) / 16));
                    None
                }
                8 => {
                    let key = String::from_utf8_lossy(&self.word())
                        .trim_matches('"')
                        .to_string();
                    let value = self.graft(&pointer).unwrap_or(Value::Null);
                    if let Some(Value::Object(map)) = doc.pointer_mut(&pointer) {
                        map.insert(key, value);
                    }
                    None
                }
                _ => {
                    let old = doc.pointer(&pointer).cloned().unwrap_or(Value::Null);
                    Some(Value::Array(vec![old]))
                }
            };
        if let Some(value) = replacement {
            if pointer.is_empty() {
                doc = value;
            } else if let Some(slot) = doc.pointer_mut(&pointer) {
                *slot = value;
            }
        }
        let text = if self.chance(1, 2) {
            serde_json::to_vec_pretty(&doc)
        } else {
            serde_json::to_vec(&doc)
        };
        if let Ok(text) = text {
            *input = text;
        }
    }

    /// A mutation that keeps the document's types (an unsigned integer stays one, a
    /// probability stays in [0, 1], a duration stays a duration), so that a scenario mostly
    /// still loads and runs: what the `run` target needs to get past validation.
    fn tree_typed(&mut self, input: &mut Vec<u8>) {
        let Ok(mut doc) = serde_json::from_slice::<Value>(input) else {
            return;
        };
        let pointers = pointers(&doc);
        let pointer = pointers[self.below(pointers.len())].clone();
        let Some(old) = doc.pointer(&pointer).cloned() else {
            return;
        };
        let roll = self.below(100);
        let replacement = match (&old, roll) {
            (Value::Number(n), 0..70) => Some(self.same_kind_number(n)),
            (Value::String(text), 0..70) if is_duration(text) => {
                Some(Value::String(self.pick(DURATIONS).to_string()))
            }
            (Value::String(_), 0..70) => {
                let word = self.word();
                match serde_json::from_slice::<Value>(&word) {
                    Ok(Value::String(s)) => Some(Value::String(s)),
                    _ => None,
                }
            }
            (_, 0..80) => self.graft_same_path(&pointer),
            (_, 80..92) => {
                delete(&mut doc, &pointer);
                None
            }
            _ => {
                let times = 1 + self.below(8);
                repeat(&mut doc, &pointer, times);
                None
            }
        };
        if let Some(value) = replacement
            && let Some(slot) = doc.pointer_mut(&pointer)
        {
            *slot = value;
        }
        if let Ok(text) = serde_json::to_vec_pretty(&doc) {
            *input = text;
        }
    }

    /// A number of the same kind: a probability stays in [0, 1], a non-negative integer stays
    /// one (mostly near its old value, now and then a type bound), any other stays a float.
    fn same_kind_number(&mut self, n: &serde_json::Number) -> Value {
        if let Some(old) = n.as_u64() {
            // Wrapping (u64::MAX + 1 is 0), as in `number`.
            let next = match self.below(if self.bounds_rarely { 64 } else { 12 }) {
                0 => old.wrapping_add(1),
                1 => old.saturating_sub(1),
                2 => old.saturating_mul(2),
                3 => old / 2,
                4 => old.saturating_mul(10),
                5 => 0,
                6 => 1,
                7 => self.below(10) as u64,
                8 => old / 10,
                9 => u64::from(u32::MAX),
                10 => 1 << 31,
                11 => u64::MAX,
                _ => old.wrapping_add(self.below(3) as u64),
            };
            return Value::from(next);
        }
        let old = n.as_f64().unwrap_or(0.0);
        if (0.0..=1.0).contains(&old) {
            let next = match self.below(6) {
                0 => 0.0,
                1 => 1.0,
                2 => old / 2.0,
                3 => (old * 2.0).min(1.0),
                4 => 0.999,
                _ => self.below(100) as f64 / 100.0,
            };
            return Value::from(next);
        }
        Value::from(match self.below(4) {
            0 => old * 2.0,
            1 => old / 2.0,
            2 => -old,
            _ => 0.0,
        })
    }

    /// The node at `pointer` in another seed that has one there.
    fn graft_same_path(&mut self, pointer: &str) -> Option<Value> {
        for _ in 0..4 {
            let Ok(other) = serde_json::from_slice::<Value>(self.other()) else {
                continue;
            };
            if let Some(found) = other.pointer(pointer) {
                return Some(found.clone());
            }
        }
        None
    }

    /// A number for a JSON node: an extreme, or (for `moderate`) mostly near the old value.
    fn number_value(&mut self, old: &Value, moderate: bool) -> Value {
        let n = old.as_f64().unwrap_or(1.0);
        if moderate && self.chance(3, 4) {
            let small = self.below(10) as f64;
            let next = match self.below(6) {
                0 => n + 1.0,
                1 => (n - 1.0).max(0.0),
                2 => n * 2.0,
                3 => (n / 2.0).floor(),
                4 => n * 10.0,
                _ => small,
            };
            return serde_json::json!(next as u64);
        }
        match self.below(10) {
            0 => serde_json::json!(0),
            1 => serde_json::json!(-1),
            2 => serde_json::json!(u64::MAX),
            3 => serde_json::json!(i64::MIN),
            4 => serde_json::json!(1u64 << 31),
            5 => serde_json::json!(u64::from(u32::MAX)),
            6 => serde_json::json!(1u64 << 63),
            7 => serde_json::json!(1e308),
            8 => serde_json::json!(0.5),
            _ => serde_json::json!(1u64),
        }
    }

    /// The node at `pointer` in another seed if it has one there, else any node of it.
    fn graft(&mut self, pointer: &str) -> Option<Value> {
        let other: Value = serde_json::from_slice(self.other()).ok()?;
        if let Some(found) = other.pointer(pointer)
            && self.chance(3, 4)
        {
            return Some(found.clone());
        }
        let pointers = pointers(&other);
        let at = &pointers[self.below(pointers.len())];
        other.pointer(at).cloned()
    }
}

/// Room left under [`INPUT_BYTES_MAX`].
fn room(input: &[u8]) -> usize {
    INPUT_BYTES_MAX.saturating_sub(input.len())
}

fn splice_in(input: &mut Vec<u8>, at: usize, bytes: &[u8]) {
    input.splice(at..at, bytes.iter().copied());
}

/// `input` with the first `limit` occurrences of `from` replaced by `to`.
fn replace_bytes(input: &[u8], from: &[u8], to: &[u8], limit: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    let mut done = 0;
    while i < input.len() {
        if done < limit && input[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
            done += 1;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    out
}

/// JSON pointers of the nodes of `doc` (the root is `""`), breadth first, at most 4096;
/// an explicit queue, so a deep document costs no stack.
pub fn pointers(doc: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let mut queue = std::collections::VecDeque::from([(String::new(), doc)]);
    while let Some((pointer, value)) = queue.pop_front() {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let key = key.replace('~', "~0").replace('/', "~1");
                    queue.push_back((format!("{pointer}/{key}"), child));
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    queue.push_back((format!("{pointer}/{i}"), child));
                }
            }
            _ => {}
        }
        found.push(pointer);
        if found.len() >= 4096 {
            break;
        }
    }
    found
}

/// The parent's pointer and the last step of `pointer`.
fn split_pointer(pointer: &str) -> Option<(&str, String)> {
    let (parent, last) = pointer.rsplit_once('/')?;
    Some((parent, last.replace("~1", "/").replace("~0", "~")))
}

/// Removes the node at `pointer` from its object or array.
fn delete(doc: &mut Value, pointer: &str) {
    let Some((parent, last)) = split_pointer(pointer) else {
        return;
    };
    match doc.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.remove(&last);
        }
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                items.remove(i);
            }
        }
        _ => {}
    }
}

/// Repeats the array element at `pointer` `times` more times (an object member is doubled
/// into an array of copies instead).
fn repeat(doc: &mut Value, pointer: &str, times: usize) {
    let Some((parent, last)) = split_pointer(pointer) else {
        return;
    };
    match doc.pointer_mut(parent) {
        Some(Value::Array(items)) => {
            if let Ok(i) = last.parse::<usize>()
                && i < items.len()
            {
                let copies = vec![items[i].clone(); times];
                items.splice(i..i, copies);
            }
        }
        Some(Value::Object(map)) => {
            if let Some(value) = map.get_mut(&last) {
                *value = Value::Array(vec![value.clone(); times.max(1)]);
            }
        }
        _ => {}
    }
}

/// Makes a scenario text respect the `run` target's bounds in the text itself (simulated
/// time, events, queue, history), so that a saved input runs the same under `dsim run` as
/// under the target. Text that is not a JSON object is left as it is.
pub fn clamp_run_text(input: &mut Vec<u8>) {
    let Ok(Value::Object(mut doc)) = serde_json::from_slice::<Value>(input) else {
        return;
    };
    let duration_ok = doc
        .get("duration_ns")
        .and_then(Value::as_u64)
        .is_some_and(|d| d > 0 && d <= targets::RUN_DURATION_NS_MAX);
    if !duration_ok {
        doc.insert("duration_ns".into(), "1s".into());
    }
    let duration = doc
        .get("duration_ns")
        .and_then(Value::as_u64)
        .unwrap_or(1_000_000_000);
    if let Some(Value::Object(liveness)) = doc.get_mut("liveness") {
        liveness.insert("duration_ns".into(), (duration / 4).max(1).into());
    }
    let limits = doc
        .entry("limits")
        .or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(limits) = limits {
        let bounds = [
            ("events_max", targets::RUN_EVENTS_MAX),
            ("queue_len_max", targets::RUN_QUEUE_LEN_MAX as u64),
            ("history_events_max", targets::RUN_HISTORY_EVENTS_MAX as u64),
        ];
        for (name, max) in bounds {
            let value = limits.get(name).and_then(Value::as_u64).unwrap_or(max);
            limits.insert(name.into(), value.min(max).into());
        }
    }
    if let Ok(text) = serde_json::to_vec_pretty(&Value::Object(doc)) {
        *input = text;
    }
}
