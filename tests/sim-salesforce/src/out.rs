//! Ordered JSON for responses: Salesforce puts `attributes` first and fields in SELECT order,
//! and serde_json's `Map` (without `preserve_order`) would sort them.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub enum J {
    V(Value),
    O(Vec<(String, J)>),
    A(Vec<J>),
}

impl J {
    pub fn null() -> J {
        J::V(Value::Null)
    }
    pub fn str(s: impl Into<String>) -> J {
        J::V(Value::String(s.into()))
    }
    pub fn get_mut(&mut self, key: &str) -> Option<&mut J> {
        match self {
            J::O(v) => v.iter_mut().find(|(k, _)| k == key).map(|(_, j)| j),
            _ => None,
        }
    }
    pub fn render(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }
    fn write(&self, s: &mut String) {
        match self {
            J::V(v) => s.push_str(&v.to_string()),
            J::A(items) => {
                s.push('[');
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    it.write(s);
                }
                s.push(']');
            }
            J::O(fields) => {
                s.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    s.push_str(&Value::String(k.clone()).to_string());
                    s.push(':');
                    v.write(s);
                }
                s.push('}');
            }
        }
    }
    /// As a `serde_json::Value` (key order lost).
    pub fn to_value(&self) -> Value {
        match self {
            J::V(v) => v.clone(),
            J::A(a) => Value::Array(a.iter().map(J::to_value).collect()),
            J::O(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn keeps_order_and_escapes() {
        let j = J::O(vec![
            ("z".into(), J::str("a\"b")),
            ("a".into(), J::A(vec![J::null(), J::V(1.into())])),
        ]);
        assert_eq!(j.render(), r#"{"z":"a\"b","a":[null,1]}"#);
    }
}
