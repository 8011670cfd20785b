//! Config as code: YAML manifests read from one or more directory trees,
//! parsed into domain objects, and checked as a whole. Every problem is
//! reported at once, each with file, line, column and field path.
//!
//! A manifest file holds one or more YAML documents (`---`), each a mapping
//! of kind lists (`teams:`, `users:`, `services:`, `schedules:`,
//! `escalation_policies:`, `integrations:`, `silences:`,
//! `maintenance_windows:`: each kind's plural). Files may be spread over
//! several directories (a platform team's defaults plus each team's own);
//! a name declared twice is an error naming both places.

mod document;
mod node;

use document::ManifestDocument;
use node::Node;
use serde_saphyr::Spanned;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use tocsin_domain::Name;
use tocsin_domain::catalog::{self, Kind, Object};

/// The text of one manifest file and the name it is reported under.
#[derive(Debug, Clone)]
pub struct Source {
    /// As shown to users and stored as the objects' origin.
    pub path: String,
    pub text: String,
}

/// A problem in the manifests, located precisely.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ManifestError {
    pub file: String,
    pub line: u64,
    pub column: u64,
    /// Field path from the document root (`services[0].team`); empty for
    /// problems with the file itself.
    pub path: String,
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// One object and where it was declared.
#[derive(Debug)]
pub struct Declared {
    pub object: Object,
    /// Index into the sources.
    pub file: usize,
    /// Index of the YAML document within the file.
    pub doc: usize,
    /// Path of the object within its document (`services[2]`).
    pub path: String,
}

/// Parsed manifests: what could be read, and what could not.
#[derive(Debug)]
pub struct Manifests {
    pub sources: Vec<Source>,
    pub declared: Vec<Declared>,
    /// Per file, per document: the located tree, for mapping problems.
    trees: Vec<Vec<Spanned<Node>>>,
    /// Problems found while reading and parsing.
    pub errors: Vec<ManifestError>,
}

/// Reads every `*.yaml` / `*.yml` file under each directory (or each file
/// given directly), in a stable order.
pub fn read_dirs(paths: &[PathBuf]) -> (Vec<Source>, Vec<ManifestError>) {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for root in paths {
        let mut files = Vec::new();
        if let Err(e) = collect(root, &mut files) {
            errors.push(file_error(
                &root.display().to_string(),
                format!("cannot read: {e}"),
            ));
            continue;
        }
        if files.is_empty() {
            errors.push(file_error(
                &root.display().to_string(),
                "no manifest files (*.yaml, *.yml) found here".to_owned(),
            ));
        }
        files.sort();
        for f in files {
            let shown = f.display().to_string();
            match std::fs::read_to_string(&f) {
                Ok(text) => sources.push(Source { path: shown, text }),
                Err(e) => errors.push(file_error(&shown, format!("cannot read: {e}"))),
            }
        }
    }
    (sources, errors)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = std::fs::metadata(path)?;
    if meta.is_file() {
        out.push(path.to_owned());
        return Ok(());
    }
    for entry in std::fs::read_dir(path)? {
        let p = entry?.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            collect(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(p);
        }
    }
    Ok(())
}

fn file_error(file: &str, message: String) -> ManifestError {
    ManifestError {
        file: file.to_owned(),
        line: 0,
        column: 0,
        path: String::new(),
        message,
    }
}

/// Parses every source. A file with a syntax or shape error contributes
/// that error (the parser stops at the first one in a file) and no objects.
pub fn parse(sources: Vec<Source>) -> Manifests {
    let mut declared = Vec::new();
    let mut trees = Vec::new();
    let mut errors = Vec::new();
    let options = serde_saphyr::options! { with_snippet: false };
    for (file, src) in sources.iter().enumerate() {
        let docs = serde_saphyr::from_multiple_with_options::<ManifestDocument>(
            &src.text,
            options.clone(),
        );
        let located =
            serde_saphyr::from_multiple_with_options::<Spanned<Node>>(&src.text, options.clone());
        match (docs, located) {
            (Ok(docs), Ok(tree)) => {
                for (doc, d) in docs.into_iter().enumerate() {
                    for (path, object) in d.into_objects() {
                        declared.push(Declared {
                            object,
                            file,
                            doc,
                            path,
                        });
                    }
                }
                trees.push(tree);
            }
            (Err(e), tree) => {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((0, 0));
                let path = tree
                    .ok()
                    .and_then(|docs| docs.iter().find_map(|d| node::path_at(d, line, column)))
                    .unwrap_or_default();
                errors.push(ManifestError {
                    file: src.path.clone(),
                    line,
                    column,
                    path,
                    message: clean_parse_message(&e.to_string()),
                });
                trees.push(Vec::new());
            }
            (Ok(_), Err(e)) => {
                let (line, column) = e
                    .location()
                    .map(|l| (l.line(), l.column()))
                    .unwrap_or((0, 0));
                errors.push(ManifestError {
                    file: src.path.clone(),
                    line,
                    column,
                    path: String::new(),
                    message: clean_parse_message(&e.to_string()),
                });
                trees.push(Vec::new());
            }
        }
    }
    Manifests {
        sources,
        declared,
        trees,
        errors,
    }
}

/// The parser's message without its own location suffix (we print ours).
fn clean_parse_message(msg: &str) -> String {
    let first = msg.lines().next().unwrap_or(msg);
    match first.rfind(" at line ") {
        Some(i) => first[..i].to_owned(),
        None => first.to_owned(),
    }
}

impl Manifests {
    /// Every problem: parse errors, then the catalog's own rules (each
    /// object's fields, duplicates, references). `existing` names objects
    /// that will still exist outside the manifests (in the store).
    ///
    /// References are only checked when every file parsed: with a file
    /// missing, "not declared" would mostly be noise.
    pub fn check(&self, existing: &BTreeSet<(Kind, Name)>) -> Vec<ManifestError> {
        let mut out = self.errors.clone();
        let objects: Vec<Object> = self.declared.iter().map(|d| d.object.clone()).collect();
        let all_parsed = self.errors.is_empty();
        for p in catalog::validate(&objects, existing) {
            let is_reference = p.message.starts_with("no ") && p.message.ends_with(" is declared");
            if is_reference && !all_parsed {
                continue;
            }
            let mut e = self.locate(p.object, &p.path, p.message);
            if let Some(first) = p.first {
                let f = self.locate(first, "name", String::new());
                e.message = format!(
                    "{} (first declared at {}:{}:{})",
                    e.message, f.file, f.line, f.column
                );
            }
            out.push(e);
        }
        out
    }

    /// A problem at `field` of declared object `index`.
    pub fn locate(&self, index: usize, field: &str, message: String) -> ManifestError {
        let Some(d) = self.declared.get(index) else {
            return file_error("?", message);
        };
        let path = if field.is_empty() {
            d.path.clone()
        } else {
            format!("{}.{field}", d.path)
        };
        let file = self
            .sources
            .get(d.file)
            .map(|s| s.path.clone())
            .unwrap_or_default();
        match self.trees.get(d.file).and_then(|t| t.get(d.doc)) {
            Some(tree) => {
                let l = node::locate(tree, &path);
                ManifestError {
                    file,
                    line: l.line(),
                    column: l.column(),
                    path,
                    message,
                }
            }
            None => ManifestError {
                file,
                line: 0,
                column: 0,
                path,
                message,
            },
        }
    }

    pub fn source_of(&self, index: usize) -> &str {
        self.declared
            .get(index)
            .and_then(|d| self.sources.get(d.file))
            .map(|s| s.path.as_str())
            .unwrap_or("")
    }
}

#[cfg(test)]
mod tests;
