//! Mutant schemata for `scripts/mutants.sh`: writes a sample of cargo-mutants' mutants into a
//! copy of the source at once, each behind a runtime switch, so that one build serves every
//! mutant of the sample (a run with `DSIM_MUTANT=ID` turns mutant `ID` on; no variable, or
//! another id, runs the original code). cargo-mutants builds once per mutant, which costs a
//! minute or more per mutant on this 2-core machine; a schema costs one build per sample.
//!
//! Usage: `mutants-schemata ROOT < sample.json`, where ROOT is the copy to rewrite in place and
//! the sample is a JSON array of cargo-mutants' `--list --json` records, each with an added
//! `"id"`. Prints `{"placed": [ids], "unplaced": [ids]}`: an unplaced mutant was not found in
//! the syntax tree (its file is left as it was for it).
//!
//! Each mutant becomes an `if crate::mutant_active(ID) { mutated } else { original }` around
//! the smallest expression that holds it (a binary or unary operation, a match guard), a
//! guard `if !crate::mutant_active(ID)` on a deleted match arm, or an early
//! `if crate::mutant_active(ID) { return REPLACEMENT; }` in a function body. The caller defines
//! `mutant_active` in the crate root.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use proc_macro2::{Span, TokenStream};
use quote::quote;
use serde::Deserialize;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};

#[derive(Deserialize, Clone)]
struct Position {
    line: usize,
    column: usize,
}

#[derive(Deserialize, Clone)]
struct Region {
    start: Position,
    end: Position,
}

#[derive(Deserialize, Clone)]
struct Function {
    function_name: String,
}

/// One record of `cargo mutants --list --json`, with the id the caller gave it.
#[derive(Deserialize, Clone)]
struct Mutant {
    id: u32,
    file: String,
    genre: String,
    replacement: String,
    span: Region,
    function: Option<Function>,
}

/// Where a syntax node starts, as cargo-mutants counts (line and column from 1).
fn start(span: Span) -> (usize, usize) {
    let at = span.start();
    (at.line, at.column + 1)
}

fn end(span: Span) -> (usize, usize) {
    let at = span.end();
    (at.line, at.column + 1)
}

fn key(p: &Position) -> (usize, usize) {
    (p.line, p.column)
}

/// Rewrites one file's syntax tree for the mutants of that file.
struct Schema<'a> {
    mutants: &'a [Mutant],
    placed: Vec<u32>,
}

impl Schema<'_> {
    fn matching(&self, genre: &str, at: (usize, usize)) -> Vec<Mutant> {
        self.mutants
            .iter()
            .filter(|m| m.genre == genre && key(&m.span.start) == at)
            .cloned()
            .collect()
    }

    /// `(if active(a) { A } else if active(b) { B } else { original })`, or nothing (and the
    /// mutants left unplaced) where that is not an expression, as around a `let` of a let
    /// chain.
    fn switch(
        &mut self,
        variants: Vec<(u32, TokenStream)>,
        original: TokenStream,
    ) -> Option<syn::Expr> {
        let mut out = original;
        let ids: Vec<u32> = variants.iter().map(|(id, _)| *id).collect();
        for (id, mutated) in variants.into_iter().rev() {
            out = quote! { if crate::mutant_active(#id) { #mutated } else { #out } };
        }
        let expr = syn::parse2(quote! { (#out) }).ok()?;
        self.placed.extend(ids);
        Some(expr)
    }
}

impl VisitMut for Schema<'_> {
    fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
        visit_mut::visit_expr_mut(self, expr);
        match expr {
            syn::Expr::Binary(binary) => {
                let found = self.matching("BinaryOperator", start(binary.op.span()));
                if found.is_empty() {
                    return;
                }
                let (left, right) = (&binary.left, &binary.right);
                if [left, right]
                    .iter()
                    .any(|side| matches!(***side, syn::Expr::Let(_)))
                {
                    // A let chain's `&&`: its bindings cannot move into a branch.
                    return;
                }
                let variants = found
                    .iter()
                    .filter_map(|m| {
                        let op: syn::BinOp = syn::parse_str(&m.replacement).ok()?;
                        Some((m.id, quote! { (#left) #op (#right) }))
                    })
                    .collect();
                let original = quote! { #binary };
                if let Some(switched) = self.switch(variants, original) {
                    *expr = switched;
                }
            }
            syn::Expr::Unary(unary) => {
                let found = self.matching("UnaryOperator", start(unary.op.span()));
                if found.is_empty() {
                    return;
                }
                let inner = &unary.expr;
                let variants = found.iter().map(|m| (m.id, quote! { #inner })).collect();
                let original = quote! { #unary };
                if let Some(switched) = self.switch(variants, original) {
                    *expr = switched;
                }
            }
            syn::Expr::Struct(literal) => {
                let Some(rest) = literal.rest.clone() else {
                    return;
                };
                for field in literal.fields.iter_mut() {
                    let found = self.matching("StructField", start(field.span()));
                    if found.is_empty() {
                        continue;
                    }
                    let member = &field.member;
                    let value = &field.expr;
                    let variants = found
                        .iter()
                        .map(|m| (m.id, quote! { (#rest).#member }))
                        .collect();
                    let original = quote! { #value };
                    if let Some(switched) = self.switch(variants, original) {
                        field.expr = switched;
                        field.colon_token.get_or_insert_with(Default::default);
                    }
                }
            }
            _ => {}
        }
    }

    fn visit_arm_mut(&mut self, arm: &mut syn::Arm) {
        // Where the guard and the pattern start, before any mutant inside them is written in.
        let guard_at = arm.guard.as_ref().map(|(_, guard)| start(guard.span()));
        let pattern_at = start(arm.pat.span());
        visit_mut::visit_arm_mut(self, arm);
        if let (Some((_, guard)), Some(at)) = (&mut arm.guard, guard_at) {
            let found = self.matching("MatchArmGuard", at);
            if !found.is_empty() {
                let variants = found
                    .iter()
                    .filter_map(|m| {
                        let value: syn::Expr = syn::parse_str(&m.replacement).ok()?;
                        Some((m.id, quote! { #value }))
                    })
                    .collect();
                let original = quote! { #guard };
                if let Some(switched) = self.switch(variants, original) {
                    **guard = switched;
                }
            }
        }
        for m in self.matching("MatchArm", pattern_at) {
            let id = m.id;
            let kept = match &arm.guard {
                Some((_, guard)) => quote! { (!crate::mutant_active(#id) && (#guard)) },
                None => quote! { (!crate::mutant_active(#id)) },
            };
            if let Ok(kept) = syn::parse2(kept) {
                self.placed.push(id);
                arm.guard = Some((Default::default(), Box::new(kept)));
            }
        }
    }

    fn visit_item_fn_mut(&mut self, item: &mut syn::ItemFn) {
        visit_mut::visit_item_fn_mut(self, item);
        let name = item.sig.ident.to_string();
        self.return_early(&name, &mut item.block);
    }

    fn visit_impl_item_fn_mut(&mut self, item: &mut syn::ImplItemFn) {
        visit_mut::visit_impl_item_fn_mut(self, item);
        let name = item.sig.ident.to_string();
        self.return_early(&name, &mut item.block);
    }

    fn visit_trait_item_fn_mut(&mut self, item: &mut syn::TraitItemFn) {
        visit_mut::visit_trait_item_fn_mut(self, item);
        let name = item.sig.ident.to_string();
        if let Some(block) = &mut item.default {
            self.return_early(&name, block);
        }
    }
}

impl Schema<'_> {
    /// Puts `if active(ID) { return REPLACEMENT; }` first in the body of function `name` for
    /// each of its whole-body mutants (those whose region lies inside this body's braces).
    fn return_early(&mut self, name: &str, block: &mut syn::Block) {
        let open = end(block.brace_token.span.open());
        let close = start(block.brace_token.span.close());
        let found: Vec<Mutant> = self
            .mutants
            .iter()
            .filter(|m| {
                m.genre == "FnValue"
                    && m.function
                        .as_ref()
                        .is_some_and(|f| f.function_name.rsplit("::").next() == Some(name))
                    && key(&m.span.start) >= open
                    && key(&m.span.end) <= close
            })
            .cloned()
            .collect();
        let mut early = Vec::new();
        for m in found.iter().rev() {
            let Ok(value) = syn::parse_str::<syn::Expr>(&m.replacement) else {
                continue;
            };
            let id = m.id;
            self.placed.push(id);
            early.push(
                syn::parse2::<syn::Stmt>(quote! {
                    if crate::mutant_active(#id) { return #value; }
                })
                .expect("an early return parses"),
            );
        }
        early.reverse();
        block.stmts.splice(0..0, early);
    }
}

fn rewrite(path: &Path, mutants: &[Mutant]) -> Result<Vec<u32>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut file = syn::parse_file(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut schema = Schema {
        mutants,
        placed: Vec::new(),
    };
    schema.visit_file_mut(&mut file);
    std::fs::write(path, prettyplease::unparse(&file))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(schema.placed)
}

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| {
        eprintln!("usage: mutants-schemata ROOT < sample.json");
        std::process::exit(2);
    }));
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .expect("stdin is readable");
    let mutants: Vec<Mutant> = serde_json::from_str(&input).unwrap_or_else(|e| {
        eprintln!("mutants-schemata: the sample is not cargo-mutants JSON with ids: {e}");
        std::process::exit(2);
    });
    let mut by_file: BTreeMap<&str, Vec<Mutant>> = BTreeMap::new();
    for m in &mutants {
        by_file.entry(&m.file).or_default().push(m.clone());
    }
    let mut placed = Vec::new();
    for (file, of_file) in &by_file {
        match rewrite(&root.join(file), of_file) {
            Ok(ids) => placed.extend(ids),
            Err(e) => {
                eprintln!("mutants-schemata: {e}");
                std::process::exit(1);
            }
        }
    }
    placed.sort_unstable();
    placed.dedup();
    let unplaced: Vec<u32> = mutants
        .iter()
        .map(|m| m.id)
        .filter(|id| placed.binary_search(id).is_err())
        .collect();
    println!(
        "{}",
        serde_json::json!({ "placed": placed, "unplaced": unplaced })
    );
}
