//! Architecture invariant: the top-level modules of the crate import each other without a cycle
//! (ARCHITECTURE.md, "Module layers"). Read from the source itself: every `crate::` path in
//! every file of `server/src` (in `use` lines and inline), with comments, strings and char
//! literals left out, gives an edge from the file's top-level module to the module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level module -> the top-level modules it names, each with one file that does.
type Graph = BTreeMap<String, BTreeMap<String, String>>;

#[test]
fn top_level_modules_form_no_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph_of(&src);
    assert!(graph.contains_key("http"), "no imports read: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        let ties: Vec<String> = cycle
            .windows(2)
            .map(|w| format!("{} -> {} (in {})", w[0], w[1], graph[&w[0]][&w[1]]))
            .collect();
        panic!(
            "the modules import each other in a circle:\n  {}",
            ties.join("\n  ")
        );
    }
}

#[test]
fn the_reader_sees_every_form_of_crate_path_and_nothing_else() {
    let text = r##"
        use crate::a::X;
        use crate::{b, c::{D, E}};
        let f = crate::d::f();
        // use crate::commented;
        /* crate::blocked */
        let s = "crate::quoted";
        let r = r#"crate::raw"#;
        let c = '"'; let q = '\''; let b = br"crate::bytes";
        fn g<'a>(x: &'a str) -> &'a str { crate::e::h(x) }
        macro_rules! m { () => { $crate::macro_path } }
        let _ = my_crate::other;
    "##;
    let named: BTreeSet<String> = crate_roots(&strip(text)).into_iter().collect();
    let expected = ["a", "b", "c", "d", "e"].map(String::from);
    assert_eq!(named, BTreeSet::from(expected));
}

#[test]
fn a_cycle_is_found_and_a_layering_is_not() {
    let edge = |pairs: &[(&str, &str)]| {
        let mut graph = Graph::new();
        for (a, b) in pairs {
            graph
                .entry(a.to_string())
                .or_default()
                .insert(b.to_string(), String::new());
        }
        graph
    };
    let layered = edge(&[("http", "hub"), ("hub", "room"), ("http", "room")]);
    assert_eq!(find_cycle(&layered), None);
    let circle = edge(&[("http", "hub"), ("hub", "room"), ("room", "http")]);
    assert!(find_cycle(&circle).is_some_and(|c| c.len() == 4));
}

/// The import graph between the top-level modules that `lib.rs` declares.
fn graph_of(src: &Path) -> Graph {
    let lib = read(&src.join("lib.rs"));
    let modules = declared_modules(&lib);
    let reexports = root_reexports(&lib, &modules);
    let mut graph = Graph::new();
    for file in rust_files(src) {
        let relative = file.strip_prefix(src).unwrap_or(&file);
        let Some(module) = top_module(relative).filter(|m| modules.contains(m)) else {
            continue;
        };
        for name in crate_roots(&strip(&read(&file))) {
            let target = reexports.get(&name).cloned().unwrap_or(name);
            if target != module && modules.contains(&target) {
                graph
                    .entry(module.clone())
                    .or_default()
                    .entry(target)
                    .or_insert_with(|| relative.display().to_string());
            }
        }
    }
    graph
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// `cluster.rs` and `cluster/bus.rs` both belong to `cluster`.
fn top_module(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// `mod x;` and `pub mod x;` lines of the crate root.
fn declared_modules(lib: &str) -> BTreeSet<String> {
    strip(lib)
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
            let line = line.strip_prefix("pub ").unwrap_or(line);
            let name = line.strip_prefix("mod ")?.strip_suffix(';')?;
            Some(name.trim().to_owned())
        })
        .collect()
}

/// Names the root re-exports (`pub use config::{Config, Durability};`), so that
/// `crate::Config` counts as naming `config`.
fn root_reexports(lib: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for line in strip(lib).lines() {
        let Some(path) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, rest)) = path.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        let rest = rest.trim_end_matches(';');
        for name in rest.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.rsplit("::").next().unwrap_or(name).trim();
            if !name.is_empty() {
                names.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    names
}

/// The first segment after every `crate::` (each name of a `crate::{a, b::c}` group).
fn crate_roots(code: &str) -> Vec<String> {
    let bytes = code.as_bytes();
    let mut roots = Vec::new();
    let mut from = 0;
    while let Some(found) = code[from..].find("crate::") {
        let at = from + found;
        from = at + "crate::".len();
        let before = at.checked_sub(1).map(|i| bytes[i]);
        if before.is_some_and(|b| b == b'$' || b == b'_' || b.is_ascii_alphanumeric()) {
            continue;
        }
        let rest = &code[from..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut start = true;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        roots.push(identifier(&group[i..]).to_owned());
                        start = false;
                    }
                    c if !c.is_whitespace() => start = false,
                    _ => {}
                }
            }
        } else if !identifier(rest).is_empty() {
            roots.push(identifier(rest).to_owned());
        }
    }
    roots
}

fn identifier(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The code with comments, string literals (raw ones too) and char literals blanked out.
fn strip(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0usize;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r'
            && (at(i + 1) == '"' || at(i + 1) == '#')
            && starts_word(i.wrapping_sub(1), &at)
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while at(j) == '#' {
                hashes += 1;
                j += 1;
            }
            if at(j) != '"' {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() && !(chars[j] == '"' && (1..=hashes).all(|k| at(j + k) == '#')) {
                j += 1;
            }
            i = j + 1 + hashes;
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && at(i + 1) == '\\' {
            i += 3;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && at(i + 2) == '\'' {
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether the char at `before` lets a literal start after it: no identifier char, or the `b`
/// of `br"…"` at a word's start.
fn starts_word(before: usize, at: &impl Fn(usize) -> char) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    !ident(at(before)) || (at(before) == 'b' && !ident(at(before.wrapping_sub(1))))
}

/// One cycle as a path that ends where it starts, if the graph has any.
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit(
        node: &str,
        graph: &Graph,
        marks: &mut BTreeMap<String, Mark>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        marks.insert(node.to_owned(), Mark::Open);
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flat_map(|n| n.keys()) {
            match marks.get(next) {
                Some(Mark::Open) => {
                    let start = path.iter().position(|p| p == next).unwrap_or(0);
                    let mut cycle = path[start..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(cycle) = visit(next, graph, marks, path) {
                        return Some(cycle);
                    }
                }
            }
        }
        path.pop();
        marks.insert(node.to_owned(), Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for node in graph.keys() {
        if !marks.contains_key(node) {
            if let Some(cycle) = visit(node, graph, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}
