//! A YAML document as a tree of nodes that remember where they were written,
//! so that a problem found later (a missing reference) can be reported at
//! its line and column, given only its field path.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::{Location, Spanned};
use std::fmt;

#[derive(Debug)]
pub(crate) enum Node {
    Scalar,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(String, Spanned<Node>)>),
}

/// Finds the location of `path` (`services[2].links[0].url`) in `root`; if
/// the path ends early (a field left to its default), the location of the
/// deepest node that exists.
pub(crate) fn locate(root: &Spanned<Node>, path: &str) -> Location {
    let mut here = root;
    for seg in segments(path) {
        let next = match (&here.value, seg) {
            (Node::Map(entries), Segment::Key(k)) => {
                entries.iter().find(|(key, _)| key == k).map(|(_, v)| v)
            }
            (Node::Seq(items), Segment::Index(i)) => items.get(i),
            _ => None,
        };
        match next {
            Some(n) => here = n,
            None => break,
        }
    }
    here.referenced
}

/// The field path of what is written at `line:column`: a value that starts
/// there, or the key of an entry whose value follows on the same line (the
/// parser reports an unknown field at its key).
pub(crate) fn path_at(root: &Spanned<Node>, line: u64, column: u64) -> Option<String> {
    fn walk(n: &Spanned<Node>, path: &str, line: u64, column: u64) -> Option<String> {
        let here = (n.referenced.line(), n.referenced.column());
        match &n.value {
            Node::Map(entries) => {
                for (k, v) in entries {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    let (vl, vc) = (v.referenced.line(), v.referenced.column());
                    if (vl == line && vc > column) || (vl, vc) == (line, column) {
                        return walk(v, &p, line, column).or(Some(p));
                    }
                    if let Some(found) = walk(v, &p, line, column) {
                        return Some(found);
                    }
                }
                None
            }
            Node::Seq(items) => items
                .iter()
                .enumerate()
                .find_map(|(i, v)| walk(v, &format!("{path}[{i}]"), line, column)),
            Node::Scalar => (here == (line, column)).then(|| path.to_owned()),
        }
    }
    walk(root, "", line, column).filter(|p| !p.is_empty())
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn segments(path: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let mut rest = part;
        if let Some(bracket) = rest.find('[') {
            if bracket > 0 {
                out.push(Segment::Key(&rest[..bracket]));
            }
            rest = &rest[bracket..];
            while let Some(stripped) = rest.strip_prefix('[') {
                let Some(end) = stripped.find(']') else { break };
                if let Ok(i) = stripped[..end].parse() {
                    out.push(Segment::Index(i));
                }
                rest = &stripped[end + 1..];
            }
        } else {
            out.push(Segment::Key(rest));
        }
    }
    out
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

/// Map keys as text, whatever scalar type the YAML gave them.
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mapping key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(Key(v.to_owned()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Key, E> {
                Ok(Key(v.to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Key, E> {
                Ok(Key(String::new()))
            }
        }
        d.deserialize_any(KeyVisitor)
    }
}

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Scalar)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<Node>>()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(Key(k)) = map.next_key::<Key>()? {
            entries.push((k, map.next_value::<Spanned<Node>>()?));
        }
        Ok(Node::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_and_falls_back_to_the_parent() {
        let yaml = "services:\n  - name: a\n    team: x\n  - name: b\n    links:\n      - title: t\n        url: u\n";
        let root: Spanned<Node> = serde_saphyr::from_str(yaml).unwrap();
        let at = |p: &str| {
            let l = locate(&root, p);
            (l.line(), l.column())
        };
        assert_eq!(at("services[0].team"), (3, 11));
        assert_eq!(at("services[1].links[0].url"), (7, 14));
        // `team` is missing on the second service: point at the service.
        assert_eq!(at("services[1].team"), (4, 5));
        assert_eq!(path_at(&root, 3, 5).as_deref(), Some("services[0].team"));
        assert_eq!(
            path_at(&root, 7, 14).as_deref(),
            Some("services[1].links[0].url")
        );
    }
}
