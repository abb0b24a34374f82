//! The inline XML Schema of a served WSDL, read at start, used to check every request (element
//! names, order, cardinality, enums, simple types) the way a schema-driven SOAP stack would, and
//! — in the crate's tests — every response the simulator renders.

use crate::xml::{self, El};
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct Particle {
    pub name: String,
    /// Local type name; builtins keep an `xsd:` prefix.
    pub ty: String,
    pub min: u32,
    /// `None` = unbounded.
    pub max: Option<u32>,
    pub nillable: bool,
}

#[derive(Debug, Clone)]
pub enum TypeDef {
    Complex(Vec<Particle>),
    Enum(Vec<String>),
}

#[derive(Debug)]
pub struct Schema {
    pub ns: String,
    /// Global element → type.
    pub elements: HashMap<String, String>,
    pub types: HashMap<String, TypeDef>,
}

fn local(t: &str) -> String {
    match t.split_once(':') {
        Some(("xsd", l)) => format!("xsd:{l}"),
        Some((_, l)) => l.to_owned(),
        None => t.to_owned(),
    }
}

impl Schema {
    pub fn from_wsdl(wsdl: &str) -> Result<Schema, String> {
        // attributes are needed here, so read them with a dedicated pass
        let root = parse_with_attrs(wsdl)?;
        let types = root
            .children
            .iter()
            .find(|c| c.el.name == "types")
            .ok_or("WSDL without types")?;
        let schema = types
            .children
            .iter()
            .find(|c| c.el.name == "schema")
            .ok_or("WSDL without schema")?;
        let ns = schema
            .attr("targetNamespace")
            .unwrap_or_default()
            .to_owned();
        let mut pending: Vec<(String, String, Vec<Particle>)> = Vec::new();
        let mut out = Schema {
            ns,
            elements: HashMap::new(),
            types: HashMap::new(),
        };
        for c in &schema.children {
            match c.el.name.as_str() {
                "element" => {
                    let name = c.attr("name").unwrap_or_default().to_owned();
                    if let Some(t) = c.attr("type") {
                        out.elements.insert(name, local(t));
                    }
                }
                "complexType" => {
                    let name = c.attr("name").unwrap_or_default().to_owned();
                    let mut parts = Vec::new();
                    collect_particles(c, &mut parts);
                    // complexContent/extension: base first
                    if let Some(ext) = c
                        .children
                        .iter()
                        .find(|x| x.el.name == "complexContent")
                        .and_then(|cc| cc.children.iter().find(|x| x.el.name == "extension"))
                    {
                        let base = local(ext.attr("base").unwrap_or_default());
                        let mut own = Vec::new();
                        collect_particles(ext, &mut own);
                        pending.push((name, base, own));
                        continue;
                    }
                    out.types.insert(name, TypeDef::Complex(parts));
                }
                "simpleType" => {
                    let name = c.attr("name").unwrap_or_default().to_owned();
                    let mut enums = Vec::new();
                    for r in c.children.iter().filter(|x| x.el.name == "restriction") {
                        for e in r.children.iter().filter(|x| x.el.name == "enumeration") {
                            enums.push(e.attr("value").unwrap_or_default().to_owned());
                        }
                    }
                    out.types.insert(name, TypeDef::Enum(enums));
                }
                _ => {}
            }
        }
        for (name, base, own) in pending {
            let mut parts = match out.types.get(&base) {
                Some(TypeDef::Complex(p)) => p.clone(),
                _ => Vec::new(),
            };
            parts.extend(own);
            out.types.insert(name, TypeDef::Complex(parts));
        }
        Ok(out)
    }

    /// Checks `el` against the global element of the same name. `strict_order`: the
    /// `xsd:sequence` order is enforced (otherwise only names and cardinality).
    pub fn validate(&self, el: &El, strict_order: bool) -> Result<(), String> {
        let ty = self
            .elements
            .get(&el.name)
            .ok_or_else(|| format!("No such operation '{}'", el.name))?;
        self.check(el, ty, strict_order, &el.name)
    }

    fn check(&self, el: &El, ty: &str, strict: bool, path: &str) -> Result<(), String> {
        if el.nil {
            return Ok(());
        }
        if let Some(ns) = &el.ns {
            if *ns != self.ns {
                return Err(format!(
                    "element {path} is in namespace {ns}, expected {}",
                    self.ns
                ));
            }
        } else {
            return Err(format!(
                "element {path} has no namespace, expected {}",
                self.ns
            ));
        }
        if let Some(b) = ty.strip_prefix("xsd:") {
            if !el.children.is_empty() {
                return Err(format!("{path}: simple element has child elements"));
            }
            return check_builtin(b, el.text.trim()).map_err(|e| format!("{path}: {e}"));
        }
        match self.types.get(ty) {
            None => Err(format!("{path}: unknown type {ty}")),
            Some(TypeDef::Enum(vals)) => {
                let t = el.text.trim();
                if vals.iter().any(|v| v == t) {
                    Ok(())
                } else {
                    Err(format!("{path}: '{t}' is not one of {vals:?}"))
                }
            }
            Some(TypeDef::Complex(parts)) => {
                let mut counts = vec![0u32; parts.len()];
                let mut idx = 0usize;
                for c in &el.children {
                    let cpath = format!("{path}/{}", c.name);
                    let pos = if strict {
                        let mut j = idx;
                        while j < parts.len() && parts[j].name != c.name {
                            j += 1;
                        }
                        if j == parts.len() {
                            let known = parts.iter().any(|p| p.name == c.name);
                            return Err(if known {
                                format!("Invalid element in {path} - {} (out of order)", c.name)
                            } else {
                                format!("Invalid element in {path} - {}", c.name)
                            });
                        }
                        for k in idx..j {
                            if counts[k] < parts[k].min {
                                return Err(format!(
                                    "{path}: required element {} missing before {}",
                                    parts[k].name, c.name
                                ));
                            }
                        }
                        idx = j;
                        j
                    } else {
                        parts
                            .iter()
                            .position(|p| p.name == c.name)
                            .ok_or_else(|| format!("Invalid element in {path} - {}", c.name))?
                    };
                    counts[pos] += 1;
                    if let Some(max) = parts[pos].max {
                        if counts[pos] > max {
                            return Err(format!("{path}: too many {} elements", c.name));
                        }
                    }
                    if c.nil && !parts[pos].nillable {
                        return Err(format!("{cpath}: not nillable"));
                    }
                    self.check(c, &parts[pos].ty, strict, &cpath)?;
                }
                for (k, p) in parts.iter().enumerate() {
                    if counts[k] < p.min {
                        return Err(format!("{path}: required element {} missing", p.name));
                    }
                }
                Ok(())
            }
        }
    }
}

fn check_builtin(b: &str, t: &str) -> Result<(), String> {
    let ok = match b {
        "boolean" => matches!(t, "true" | "false" | "1" | "0"),
        "integer" | "int" | "long" => t.parse::<i64>().is_ok(),
        "date" => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok(),
        "dateTime" => {
            chrono::DateTime::parse_from_rfc3339(t).is_ok()
                || chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        }
        _ => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("'{t}' is not a valid xsd:{b}"))
    }
}

fn collect_particles(node: &AEl, out: &mut Vec<Particle>) {
    for c in &node.children {
        if c.el.name == "sequence" {
            for e in c.children.iter().filter(|x| x.el.name == "element") {
                let max = match e.attr("maxOccurs") {
                    Some("unbounded") => None,
                    Some(v) => v.parse().ok(),
                    None => Some(1),
                };
                out.push(Particle {
                    name: e.attr("name").unwrap_or_default().to_owned(),
                    ty: local(e.attr("type").unwrap_or("xsd:string")),
                    min: e
                        .attr("minOccurs")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(1),
                    max,
                    nillable: e.attr("nillable") == Some("true"),
                });
            }
        }
    }
}

/// An element with its attributes (only needed for reading the schema).
pub struct AEl {
    pub el: El,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<AEl>,
}

impl AEl {
    fn attr(&self, k: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    }
}

fn parse_with_attrs(doc: &str) -> Result<AEl, String> {
    use quick_xml::events::{BytesStart, Event};
    fn mk(e: &BytesStart) -> AEl {
        let q = String::from_utf8_lossy(e.name().as_ref()).into_owned();
        let name = q.rsplit(':').next().unwrap_or("").to_owned();
        let attrs = e
            .attributes()
            .flatten()
            .map(|a| {
                (
                    String::from_utf8_lossy(a.key.as_ref()).into_owned(),
                    a.unescape_value()
                        .map(|v| v.into_owned())
                        .unwrap_or_default(),
                )
            })
            .collect();
        AEl {
            el: El {
                name,
                ..El::default()
            },
            attrs,
            children: Vec::new(),
        }
    }
    let mut r = quick_xml::Reader::from_str(doc);
    let mut stack: Vec<AEl> = vec![AEl {
        el: El::default(),
        attrs: vec![],
        children: vec![],
    }];
    loop {
        match r.read_event().map_err(|e| e.to_string())? {
            Event::Start(e) => stack.push(mk(&e)),
            Event::Empty(e) => {
                let n = mk(&e);
                if let Some(top) = stack.last_mut() {
                    top.children.push(n);
                }
            }
            Event::End(_) => {
                let n = stack.pop().ok_or("unbalanced")?;
                stack.last_mut().ok_or("unbalanced")?.children.push(n);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    let mut doc_root = stack.pop().ok_or("empty")?;
    doc_root.children.pop().ok_or_else(|| "empty WSDL".into())
}

/// Re-parse a rendered body and validate it (used by tests on responses).
pub fn validate_xml(schema: &Schema, body_xml: &str) -> Result<(), String> {
    let el = xml::parse(body_xml)?;
    schema.validate(&el, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uah() -> Schema {
        Schema::from_wsdl(crate::SERVICES[0].1).unwrap()
    }

    fn req(body: &str) -> El {
        xml::parse(&format!(
            "<r xmlns=\"urn:v3.webservices.operations.flexnet.com\">{body}</r>"
        ))
        .unwrap()
        .children
        .remove(0)
    }

    #[test]
    fn all_three_wsdls_load_with_their_namespaces() {
        let ns: Vec<String> = crate::SERVICES
            .iter()
            .map(|(_, w)| Schema::from_wsdl(w).unwrap().ns)
            .collect();
        assert_eq!(
            ns,
            vec![
                "urn:v3.webservices.operations.flexnet.com",
                "urn:v4.webservices.operations.flexnet.com",
                "urn:v2.webservices.operations.flexnet.com"
            ]
        );
    }

    #[test]
    fn checks_order_required_elements_enums_and_simple_types() {
        let s = uah();
        let ok = req("<createAcctRequest><account><id>A</id><name>N</name><accountType>CUSTOMER</accountType></account><opType>CREATE_OR_UPDATE</opType></createAcctRequest>");
        s.validate(&ok, true).unwrap();
        // the doc example's name-before-id order: refused strictly, accepted leniently
        let swapped = req(
            "<createAcctRequest><account><name>N</name><id>A</id></account></createAcctRequest>",
        );
        assert!(s.validate(&swapped, true).is_err());
        s.validate(&swapped, false).unwrap();
        let missing = req("<createAcctRequest><account><id>A</id></account></createAcctRequest>");
        assert!(s
            .validate(&missing, true)
            .unwrap_err()
            .contains("required element name missing"));
        let bad_enum = req("<createAcctRequest><account><id>A</id><name>N</name><accountType>END_USER</accountType></account></createAcctRequest>");
        assert!(s
            .validate(&bad_enum, true)
            .unwrap_err()
            .contains("END_USER"));
        let bad_bool = req("<createAcctRequest><account><id>A</id><name>N</name><visible>yes</visible></account></createAcctRequest>");
        assert!(s.validate(&bad_bool, true).unwrap_err().contains("boolean"));
        let unknown = req("<createAcctRequest><account><id>A</id><name>N</name><colour>red</colour></account></createAcctRequest>");
        assert!(s
            .validate(&unknown, false)
            .unwrap_err()
            .contains("Invalid element"));
        let no_op = req("<deleteEverythingRequest/>");
        assert!(s
            .validate(&no_op, true)
            .unwrap_err()
            .contains("No such operation"));
    }
}
