//! A small XML element tree (local names only: prefixes are ignored, as a namespace-aware
//! server would resolve them) and a writer that renders qualified elements with one prefix.

use quick_xml::events::Event;
use quick_xml::Reader;

/// One element: local name, child elements, concatenated text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct El {
    pub name: String,
    /// Namespace URI of the element when it was declared on it or an ancestor.
    pub ns: Option<String>,
    /// `xsi:nil="true"` was set.
    pub nil: bool,
    pub children: Vec<El>,
    pub text: String,
}

impl El {
    pub fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a El> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
    /// Descend by local names.
    pub fn at(&self, path: &[&str]) -> Option<&El> {
        let mut cur = self;
        for p in path {
            cur = cur.child(p)?;
        }
        Some(cur)
    }
    /// Text of a descendant, `None` when absent or nil. A leaf's text is kept exactly
    /// (`xsd:string` preserves whitespace; R7 part numbers match with their spaces).
    pub fn text_at(&self, path: &[&str]) -> Option<String> {
        let e = self.at(path)?;
        if e.nil {
            return None;
        }
        if e.children.is_empty() {
            Some(e.text.clone())
        } else {
            Some(e.text.trim().to_owned())
        }
    }
    pub fn bool_at(&self, path: &[&str]) -> Option<bool> {
        self.text_at(path).map(|t| matches!(t.trim(), "true" | "1"))
    }
    pub fn int_at(&self, path: &[&str]) -> Option<i64> {
        self.text_at(path).and_then(|t| t.trim().parse().ok())
    }
}

/// Parses a document and returns its root element. Namespace declarations are tracked so the
/// envelope's namespace can be checked; element names keep only their local part.
pub fn parse(xml: &str) -> Result<El, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<(El, Vec<(String, String)>)> = Vec::new();
    let mut root: Option<El> = None;
    loop {
        match reader.read_event() {
            Ok(ev @ (Event::Start(_) | Event::Empty(_))) => {
                let is_empty = matches!(ev, Event::Empty(_));
                let (Event::Start(e) | Event::Empty(e)) = &ev else {
                    continue;
                };
                let qname = std::str::from_utf8(e.name().as_ref())
                    .map_err(|_| "element name is not UTF-8".to_owned())?
                    .to_owned();
                let (prefix, local) = match qname.split_once(':') {
                    Some((p, l)) => (p.to_owned(), l.to_owned()),
                    None => (String::new(), qname.clone()),
                };
                let mut decls = Vec::new();
                let mut nil = false;
                for a in e.attributes() {
                    let a = a.map_err(|err| format!("bad attribute: {err}"))?;
                    let key = std::str::from_utf8(a.key.as_ref()).unwrap_or("").to_owned();
                    let val = a
                        .unescape_value()
                        .map_err(|err| format!("bad attribute value: {err}"))?
                        .into_owned();
                    if key == "xmlns" {
                        decls.push((String::new(), val));
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        decls.push((p.to_owned(), val));
                    } else if key.ends_with(":nil") || key == "nil" {
                        nil = val == "true" || val == "1";
                    }
                }
                let ns = decls
                    .iter()
                    .rev()
                    .find(|(p, _)| *p == prefix)
                    .map(|(_, v)| v.clone())
                    .or_else(|| {
                        stack.iter().rev().find_map(|(_, d)| {
                            d.iter()
                                .rev()
                                .find(|(p, _)| *p == prefix)
                                .map(|(_, v)| v.clone())
                        })
                    });
                if ns.is_none() && !prefix.is_empty() {
                    return Err(format!("undeclared namespace prefix {prefix:?}"));
                }
                let el = El {
                    name: local,
                    ns,
                    nil,
                    ..El::default()
                };
                if is_empty {
                    attach(&mut stack, &mut root, el)?;
                } else {
                    stack.push((el, decls));
                }
            }
            Ok(Event::End(_)) => {
                let (el, _) = stack.pop().ok_or("unbalanced end tag")?;
                attach(&mut stack, &mut root, el)?;
            }
            Ok(Event::Text(t)) => {
                if let Some((top, _)) = stack.last_mut() {
                    let s = t.unescape().map_err(|e| format!("bad text: {e}"))?;
                    top.text.push_str(&s);
                }
            }
            Ok(Event::CData(t)) => {
                if let Some((top, _)) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => {
                return Err(format!(
                    "malformed XML at byte {}: {e}",
                    reader.buffer_position()
                ))
            }
        }
    }
    if !stack.is_empty() {
        return Err("unexpected end of document".into());
    }
    root.ok_or_else(|| "empty document".into())
}

fn attach(
    stack: &mut [(El, Vec<(String, String)>)],
    root: &mut Option<El>,
    el: El,
) -> Result<(), String> {
    match stack.last_mut() {
        Some((parent, _)) => {
            parent.children.push(el);
            Ok(())
        }
        None if root.is_none() => {
            *root = Some(el);
            Ok(())
        }
        None => Err("more than one root element".into()),
    }
}

pub fn escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}

/// Renders elements with the prefix `ns` (declared on the body element).
#[derive(Default)]
pub struct W {
    pub buf: String,
}

impl W {
    pub fn open(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("<ns:");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }
    pub fn close(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("</ns:");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        self.buf.push_str(&escape(text));
        self.close(name)
    }
    pub fn opt(&mut self, name: &str, text: Option<&str>) -> &mut Self {
        if let Some(t) = text {
            self.leaf(name, t);
        }
        self
    }
    pub fn nil(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("<ns:");
        self.buf.push_str(name);
        self.buf.push_str(
            " xsi:nil=\"true\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"/>",
        );
        self
    }
    /// Echo a request subtree (e.g. a failed item) under its own name.
    pub fn echo(&mut self, el: &El) -> &mut Self {
        self.echo_as(&el.name, el)
    }
    pub fn echo_as(&mut self, name: &str, el: &El) -> &mut Self {
        if el.nil {
            return self.nil(name);
        }
        self.open(name);
        if el.children.is_empty() {
            self.buf.push_str(&escape(el.text.trim()));
        } else {
            for c in &el.children {
                self.echo(c);
            }
        }
        self.close(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prefixed_and_default_namespaces_by_local_name() {
        let doc = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
            <createAcctRequest xmlns="urn:x"><account><id>A&amp;B</id><name/></account></createAcctRequest>
            </s:Body></s:Envelope>"#;
        let root = parse(doc).unwrap();
        assert_eq!(root.name, "Envelope");
        assert_eq!(
            root.ns.as_deref(),
            Some("http://schemas.xmlsoap.org/soap/envelope/")
        );
        let req = &root.child("Body").unwrap().children[0];
        assert_eq!(req.name, "createAcctRequest");
        assert_eq!(req.ns.as_deref(), Some("urn:x"));
        assert_eq!(req.text_at(&["account", "id"]).unwrap(), "A&B");
        assert_eq!(
            req.at(&["account", "id"]).unwrap().ns.as_deref(),
            Some("urn:x")
        );
    }

    #[test]
    fn rejects_malformed_and_undeclared_prefixes() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<x:a/>").is_err());
    }
}
