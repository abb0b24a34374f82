//! The transaction log as CSV (`GET /logs?format=csv`, issue 14): RFC 4180 quoting, one row
//! per entry, no payloads. A cell that a spreadsheet would run as a formula (starting with
//! `=`, `+`, `-`, `@`, tab or carriage return) is prefixed with `'`: log texts quote Salesforce
//! data, which anyone with edit rights in the org can write.

use engine::ports::{LogEntry, LogStatus};

/// The columns, in order.
pub const COLUMNS: [&str; 10] = [
    "log_number",
    "created",
    "task_id",
    "created_by",
    "name",
    "status",
    "record_id",
    "account_id",
    "message",
    "reason",
];

/// A header row and one row per entry, CRLF line ends.
pub fn log_csv(entries: &[LogEntry]) -> String {
    let mut out = String::new();
    push_row(&mut out, COLUMNS.iter().map(|c| (*c).to_owned()));
    for e in entries {
        let status = match e.status {
            LogStatus::Completed => "Completed",
            LogStatus::Failed => "Failed",
            LogStatus::Error => "Error",
        };
        push_row(
            &mut out,
            [
                e.log_number.clone(),
                e.created
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                e.task_id.clone(),
                e.created_by.clone().unwrap_or_default(),
                e.name.clone(),
                status.to_owned(),
                e.record_id.clone().unwrap_or_default(),
                e.account_id.clone().unwrap_or_default(),
                e.message.clone(),
                e.reason.clone().unwrap_or_default(),
            ],
        );
    }
    out
}

fn push_row(out: &mut String, cells: impl IntoIterator<Item = String>) {
    for (i, c) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&cell(&c));
    }
    out.push_str("\r\n");
}

/// One cell: formula-neutralised, quoted when it holds a comma, quote or line break.
pub fn cell(raw: &str) -> String {
    let text = if raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_and_formulas_neutralised() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("-1"), "'-1");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn one_header_and_one_row_per_entry() {
        let e = LogEntry {
            task_id: "acct-1".into(),
            log_number: "TL-00007".into(),
            created: "2026-11-20T09:00:00Z".parse().unwrap(),
            name: "Account Creation/Update".into(),
            status: LogStatus::Failed,
            record_id: Some("001Dm0000000003IAA".into()),
            account_id: Some("001Dm0000000003IAA".into()),
            message: "Account, with a comma".into(),
            reason: None,
            component: None,
            request: Some(serde_json::json!({"secret": "x"})),
            response: None,
            created_by: Some("arn:aws:iam::123456789012:user/admin".into()),
        };
        let csv = log_csv(&[e.clone(), e]);
        let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], COLUMNS.join(","));
        assert!(lines[1].starts_with("TL-00007,2026-11-20T09:00:00.000Z,acct-1,arn:aws:iam::123456789012:user/admin,Account Creation/Update,Failed,"), "{}", lines[1]);
        assert!(lines[1].contains("\"Account, with a comma\""));
        assert!(!csv.contains("secret"), "no payloads");
    }
}
