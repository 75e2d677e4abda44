//! Embeds the scenario library (`library/*.json`) in the crate, so `dsim list` shows it and
//! `dsim run NAME` runs it from any directory.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo")).join("library");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/library exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut code = String::from(
        "/// Every library scenario as `(name, file text)`, in name order.\npub const FILES: &[(&str, &str)] = &[\n",
    );
    for file in files {
        let name = file
            .file_stem()
            .expect("a file name")
            .to_string_lossy()
            .into_owned();
        println!("cargo:rerun-if-changed={}", file.display());
        let _ = writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            file.display().to_string()
        );
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("library.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
