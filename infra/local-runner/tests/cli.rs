//! The `flexbridge` binary as users call it: flags, output files, exit codes.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

fn flexbridge(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flexbridge"))
        .args(args)
        .output()
        .expect("flexbridge runs")
}

/// `flexbridge run --fixture <fixture> --mode <mode> --out <tmp>/out <extra…>`.
fn run(fixture: &Path, mode: &str, extra: &[&str]) -> (Output, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut args = vec![
        "run",
        "--fixture",
        fixture.to_str().unwrap(),
        "--mode",
        mode,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    (flexbridge(&args), dir)
}

fn walkthrough() -> PathBuf {
    fixtures().join("walkthrough.json")
}

fn read(dir: &Path, name: &str) -> Value {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn run_writes_the_four_files_and_exits_0() {
    let (o, dir) = run(&walkthrough(), "scheduled", &[]);
    let out = dir.path().join("out");
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("SF-DemoAccount"), "{stdout}");
    let summary = read(&out, "summary.json");
    assert_eq!(summary["entries"]["Failed"], 0, "{summary:#}");
    assert!(summary["entries"]["Completed"].as_u64().unwrap() >= 4);
    assert!(summary["apiCalls"]["salesforce"].as_u64().unwrap() > 0);
    assert!(summary["apiCalls"]["flexnet"].as_u64().unwrap() > 0);
    let logs = read(&out, "logs.json");
    assert_eq!(logs[0]["log_number"], "TL-00001");
    let fno = read(&out, "flexnet.json");
    let fno = fno.get("flexnet").unwrap_or(&fno);
    assert_eq!(
        fno["entitlements"][0]["entitlementId"],
        "006Wk0000000001IAA"
    );
    let sf = read(&out, "salesforce.json");
    assert_eq!(
        sf["salesforce"]["Opportunity"][0]["FNO_Entitlement_ID__c"],
        "006Wk0000000001IAA"
    );
    // The FNO password never reaches the output files.
    for f in ["logs.json", "flexnet.json", "summary.json"] {
        let text = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!text.contains("Fn0-s3cret-pass"), "password in {f}");
    }
}

#[test]
fn account_mode_without_an_account_is_a_usage_error() {
    let (o, _dir) = run(&walkthrough(), "account", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--account"));
}

#[test]
fn immediate_mode_without_a_window_names_r22() {
    let (o, _dir) = run(&walkthrough(), "immediate", &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("R22"));
}

#[test]
fn a_fixture_that_is_not_json_exits_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{ not json").unwrap();
    let (o, _out) = run(&bad, "scheduled", &[]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.json") && err.contains("not valid JSON"),
        "{err}"
    );
}

#[test]
fn an_invalid_config_exits_1_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.json");
    std::fs::write(&cfg, r#"{"filters": {"sync_stages": []}}"#).unwrap();
    let (o, _out) = run(
        &walkthrough(),
        "scheduled",
        &["--config", cfg.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("config.json") && err.contains("R2"), "{err}");
}

#[test]
fn immediate_window_from_to_runs() {
    let (o, dir) = run(
        &walkthrough(),
        "immediate",
        &["--from", "2026-11-19", "--to", "2026-11-20T08:00:00Z"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = read(&dir.path().join("out"), "summary.json");
    assert_eq!(summary["run"]["kind"], "immediate");
    assert_eq!(summary["accounts"]["synced"], 1);
}

#[test]
fn licenses_ingests_the_fixture_org_and_keeps_state_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = dir.path().join("out");
    let before = fixtures().join("licenses/before.json");
    let after = fixtures().join("licenses/after.json");
    let run = |fx: &Path| {
        flexbridge(&[
            "licenses",
            "--fixture",
            fx.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ])
    };
    let o = run(&before);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("annual spend") && stdout.contains("discovered"),
        "{stdout}"
    );
    let first = read(&out, "licenses.json");
    let n = first["licenses"].as_array().unwrap().len();
    assert!(n > 3, "{first:#}");
    let logs = read(&out, "logs.json");
    assert!(
        !logs.as_array().unwrap().is_empty(),
        "each ingest writes log entries (R24)"
    );
    // A second ingest against the same store: the records are matched, not created again.
    let o = run(&after);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let second = read(&out, "licenses.json");
    assert!(
        second["licenses"].as_array().unwrap().len() >= n,
        "no license is deleted"
    );
}

/// `flexbridge licenses --fixture activity.json --state S --out O --manual manual.json <extra…>`.
fn licenses_with_manual(dir: &Path, fixture: &str, extra: &[&str]) -> Output {
    let (fx, manual) = (
        fixtures().join("licenses").join(fixture),
        fixtures().join("licenses/manual.json"),
    );
    let (state, out) = (dir.join("state"), dir.join("out"));
    let mut args = vec![
        "licenses",
        "--fixture",
        fx.to_str().unwrap(),
        "--state",
        state.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--manual",
        manual.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    flexbridge(&args)
}

#[test]
fn licenses_manual_file_users_history_and_the_unused_finder() {
    let dir = tempfile::tempdir().unwrap();
    let o = licenses_with_manual(
        dir.path(),
        "activity.json",
        &["--users", "--history", "--unused-days", "90"],
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // the manual license with key acme was matched by the ingest (R31); the other is shown as manual
    assert!(
        stdout.contains("manual: manual license manual:acme-cpq entered"),
        "{stdout}"
    );
    assert!(stdout.contains("Tableau Viewer (manual)"), "{stdout}");
    assert!(
        stdout.contains("SKU Sales-Cloud = SFDC, CRMUserPsl"),
        "{stdout}"
    );
    // Users view (R30) and the finder table, sorted by unused annual cost
    let gus = stdout
        .lines()
        .find(|l| l.starts_with("Gus Idle"))
        .expect(&stdout);
    assert!(
        gus.contains("2026-06-01") && gus.contains("Acme-CPQ, Sales-Cloud"),
        "{gus}"
    );
    let finder: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("Unused licenses"))
        .collect();
    assert!(
        finder[3].starts_with("Salesforce ") && finder[3].ends_with("9000.00 USD"),
        "{finder:#?}"
    );
    assert!(
        stdout.contains("Salesforce: Hana Never — never logged in"),
        "{stdout}"
    );
    assert!(
        stdout.contains("unused seats cost a year: 10640.00 USD"),
        "{stdout}"
    );
    let out = dir.path().join("out");
    let unused = read(&out, "unused.json");
    assert_eq!(unused["licenses"][0]["unused"], 5, "{unused:#}");
    assert_eq!(
        read(&out, "users.json")["users"].as_array().unwrap().len(),
        12
    );
    assert_eq!(
        read(&out, "history.json")["org"].as_array().unwrap().len(),
        1
    );
    // licenses.json keeps its fields and lists the manual license
    let lic = read(&out, "licenses.json");
    assert!(lic["licenses"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == "manual:tableau-viewer"));
    // later on the same state: the manual file updates what it created, a second history point
    let o = licenses_with_manual(dir.path(), "after.json", &["--history"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("manual license manual:acme-cpq updated (shown as 050000000000001AAA)"),
        "{stdout}"
    );
    assert_eq!(
        read(&out, "history.json")["org"].as_array().unwrap().len(),
        2
    );
}

#[test]
fn licenses_a_manual_file_naming_an_unknown_license_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let manual = dir.path().join("manual.json");
    std::fs::write(&manual, r#"{"skus": {"Bad": ["SFDC", "NoSuchKey"]}}"#).unwrap();
    let fx = fixtures().join("licenses/before.json");
    let o = flexbridge(&[
        "licenses",
        "--fixture",
        fx.to_str().unwrap(),
        "--manual",
        manual.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("manual file") && stderr.contains("\"NoSuchKey\""),
        "{stderr}"
    );
    std::fs::write(&manual, r#"{"sku": {}}"#).unwrap();
    let o = flexbridge(&[
        "licenses",
        "--fixture",
        fx.to_str().unwrap(),
        "--manual",
        manual.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("unknown field `sku`"), "{stderr}");
}

#[test]
fn account_mode_pushes_one_account_and_writes_nothing_back() {
    let (o, dir) = run(
        &walkthrough(),
        "account",
        &["--account", "001Wk0000000001IAA"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out");
    let fno = read(&out, "flexnet.json");
    let fno = fno.get("flexnet").unwrap_or(&fno);
    assert_eq!(
        fno["entitlements"][0]["entitlementId"],
        "006Wk0000000001IAA"
    );
    let sf = read(&out, "salesforce.json");
    assert!(
        sf["salesforce"]["Opportunity"][0]["FNO_Entitlement_ID__c"].is_null(),
        "R23"
    );
}

#[test]
fn account_mode_refuses_an_id_that_is_not_a_salesforce_id() {
    let (o, _dir) = run(&walkthrough(), "account", &["--account", "001' OR Id != '"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("R23"));
}

#[test]
fn account_mode_accepts_the_15_character_form_of_the_id() {
    // R23: 15 and 18 characters name the same account; the 15-character form used to make
    // the account's own orders fail ("its Account … could not be created").
    let (o, dir) = run(&walkthrough(), "account", &["--account", "001Wk0000000001"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("out");
    let summary = read(&out, "summary.json");
    assert_eq!(summary["entries"]["Failed"], 0, "{summary:#}");
    assert_eq!(summary["ordersPushed"], 1, "{summary:#}");
    assert_eq!(summary["perAccount"][0]["accountId"], "001Wk0000000001IAA");
    let fno = read(&out, "flexnet.json");
    let fno = fno.get("flexnet").unwrap_or(&fno);
    assert_eq!(
        fno["entitlements"][0]["entitlementId"],
        "006Wk0000000001IAA"
    );
}

/// Exit code and stderr of a run; the message must never be a panic.
fn failure(o: &Output) -> (Option<i32>, String) {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (o.status.code(), err)
}

#[test]
fn a_bad_window_names_the_flag_at_fault() {
    // R22: --hours 0 and negative hours, --from after --to, a --from that is not a date.
    for (extra, flag) in [
        (&["--hours", "0"][..], "--hours"),
        (&["--hours", "-3"][..], "--hours"),
        (&["--from", "2026-11-20", "--to", "2026-11-01"][..], "--to"),
        (&["--from", "yesterday", "--to", "2026-11-01"][..], "--from"),
    ] {
        let (o, _dir) = run(&walkthrough(), "immediate", extra);
        let (code, err) = failure(&o);
        assert_eq!(code, Some(2), "{extra:?}: {err}");
        assert!(
            err.starts_with(&format!("flexbridge: {flag}: ")) && err.contains("(R22)"),
            "{extra:?}: {err}"
        );
    }
    let (o, _dir) = run(&walkthrough(), "immediate", &[]);
    let (code, err) = failure(&o);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--hours N, or --from DT --to DT") && !err.contains("body"),
        "{err}"
    );
}

#[test]
fn an_unknown_mode_and_out_of_range_numbers_are_usage_errors() {
    for (mode, extra, names) in [
        ("nightly", &[][..], "--mode"),
        ("scheduled", &["--concurrency", "0"][..], "--concurrency"),
        (
            "scheduled",
            &["--lookback-minutes", "-5"][..],
            "--lookback-minutes",
        ),
    ] {
        let (o, _dir) = run(&walkthrough(), mode, extra);
        let (code, err) = failure(&o);
        assert_eq!(code, Some(2), "{mode} {extra:?}: {err}");
        assert!(err.contains(names), "{mode} {extra:?}: {err}");
    }
}

#[test]
fn a_missing_fixture_or_config_file_is_named_with_its_role() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-fixture.json");
    let (o, _out) = run(&missing, "scheduled", &[]);
    let (code, err) = failure(&o);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot read the fixture") && err.contains("no-such-fixture.json"),
        "{err}"
    );
    let cfg = dir.path().join("no-such-config.json");
    let (o, _out) = run(
        &walkthrough(),
        "scheduled",
        &["--config", cfg.to_str().unwrap()],
    );
    let (code, err) = failure(&o);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("cannot read the mapping configuration")
            && err.contains("no-such-config.json"),
        "{err}"
    );
}

#[test]
fn a_fixture_of_the_wrong_shape_says_which_section() {
    let dir = tempfile::tempdir().unwrap();
    for (text, names) in [
        (
            r#"{"salesforce": [], "flexnet": {}}"#,
            "'salesforce' must be an object",
        ),
        (r#"[]"#, "must hold a JSON object"),
        (
            r#"{"salesforce": {}, "flexnet": {}}"#,
            "flexnet.credentials.username",
        ),
    ] {
        let f = dir.path().join("fixture.json");
        std::fs::write(&f, text).unwrap();
        let (o, _out) = run(&f, "scheduled", &[]);
        let (code, err) = failure(&o);
        assert_eq!(code, Some(1), "{text}: {err}");
        assert!(err.contains(names), "{text}: {err}");
    }
}

#[test]
fn the_readme_configuration_examples_are_accepted_by_config() {
    // The JSON blocks of README.md's "Configuration" section must be valid `--config` files.
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .unwrap();
    let start = readme
        .find("## Configuration: mappings and filters")
        .expect("README has a Configuration section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |e| e + 3)];
    let blocks: Vec<&str> = section
        .split("```json\n")
        .skip(1)
        .map(|b| &b[..b.find("```").unwrap()])
        .collect();
    assert!(blocks.len() >= 2, "{section}");
    let dir = tempfile::tempdir().unwrap();
    for (i, block) in blocks.iter().enumerate() {
        let cfg = dir.path().join(format!("config-{i}.json"));
        std::fs::write(&cfg, block).unwrap();
        let (o, _out) = run(
            &walkthrough(),
            "scheduled",
            &["--config", cfg.to_str().unwrap()],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            o.status.success(),
            "README config block {i}: {err}\n{block}"
        );
    }
}

#[test]
fn engine_logs_on_a_redirected_stderr_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = Command::new(env!("CARGO_BIN_EXE_flexbridge"))
        .env("FLEXBRIDGE_LOG", "debug")
        .args([
            "run",
            "--fixture",
            walkthrough().to_str().unwrap(),
            "--mode",
            "scheduled",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .expect("flexbridge runs");
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("DEBUG"),
        "FLEXBRIDGE_LOG=debug shows the engine's logs: {err}"
    );
    assert!(!err.contains('\u{1b}'), "{err}");
}

#[test]
fn an_out_or_state_path_that_is_a_file_is_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let file = file.to_str().unwrap();
    let wt = walkthrough();
    let before = fixtures().join("licenses/before.json");
    for (args, names) in [
        (
            vec![
                "run",
                "--fixture",
                wt.to_str().unwrap(),
                "--mode",
                "scheduled",
                "--out",
                file,
            ],
            "--out directory",
        ),
        (
            vec![
                "run",
                "--fixture",
                wt.to_str().unwrap(),
                "--mode",
                "scheduled",
                "--state",
                file,
                "--out",
                dir.path().join("out").to_str().unwrap(),
            ],
            "--state directory",
        ),
        (
            vec![
                "licenses",
                "--fixture",
                before.to_str().unwrap(),
                "--out",
                file,
            ],
            "--out directory",
        ),
    ] {
        let o = flexbridge(&args);
        let (code, err) = failure(&o);
        assert_eq!(code, Some(1), "{args:?}: {err}");
        assert!(
            err.contains(&format!("cannot write the {names} {file}")),
            "{args:?}: {err}"
        );
        assert!(
            o.stdout.is_empty(),
            "nothing done before the check: {args:?}"
        );
    }
}

/// On a terminal the run shows `syncing accounts: done/total` (through util-linux `script`,
/// which gives the binary a pseudo-terminal); piped, it does not.
#[test]
fn progress_line_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let cmd = format!(
        "{} run --fixture {} --mode scheduled --out {}",
        env!("CARGO_BIN_EXE_flexbridge"),
        walkthrough().display(),
        out.display()
    );
    let tty = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output();
    let Ok(tty) = tty else {
        panic!("util-linux `script` is needed for this test");
    };
    let shown = String::from_utf8_lossy(&tty.stdout);
    assert!(tty.status.success(), "{shown}");
    assert!(shown.contains("syncing accounts: 1/1"), "{shown}");
    let (piped, _dir) = run(&walkthrough(), "scheduled", &[]);
    assert!(!String::from_utf8_lossy(&piped.stdout).contains("syncing accounts"));
}

/// (entitlements, line items) in a run's flexnet.json.
fn fno_totals(out: &Path) -> (usize, usize) {
    let fno = read(out, "flexnet.json");
    let ents = fno["entitlements"].as_array().cloned().unwrap_or_default();
    let lines = ents
        .iter()
        .map(|e| e["lineItems"].as_array().map_or(0, Vec::len))
        .sum();
    (ents.len(), lines)
}

#[test]
fn run_rides_out_simulator_faults_to_the_same_end_state() {
    let (clean, clean_dir) = run(&walkthrough(), "scheduled", &["--concurrency", "1"]);
    assert!(clean.status.success(), "{}", failure(&clean).1);
    let faults = [
        "--concurrency",
        "1",
        "--fault-seed",
        "7",
        "--sf-http-500-rate",
        "0.3",
        "--sf-lock-row-rate",
        "0.3",
        "--fno-soap-fault-rate",
        "0.3",
    ];
    let (o, dir) = run(&walkthrough(), "scheduled", &faults);
    assert!(o.status.success(), "{}", failure(&o).1);
    let (clean_out, out) = (clean_dir.path().join("out"), dir.path().join("out"));
    let (before, after) = (read(&clean_out, "summary.json"), read(&out, "summary.json"));
    assert_eq!(after["entries"]["Failed"], 0, "{after:#}");
    for system in ["salesforce", "flexnet"] {
        let calls = |s: &Value| s["apiCalls"][system].as_u64().unwrap();
        assert!(
            calls(&after) > calls(&before),
            "{system}: faults were injected and retried ({} vs {})",
            calls(&after),
            calls(&before)
        );
    }
    assert_eq!(
        fno_totals(&out),
        fno_totals(&clean_out),
        "nothing lost, nothing twice"
    );
}

#[test]
fn fault_rates_outside_0_to_1_are_usage_errors() {
    for flag in [
        "--sf-http-500-rate",
        "--fno-lost-reply-rate",
        "--fno-timeout-rate",
    ] {
        for bad in ["1.5", "-0.1", "often"] {
            let (o, _dir) = run(&walkthrough(), "scheduled", &[flag, bad]);
            let (code, err) = failure(&o);
            assert_eq!(code, Some(2), "{flag} {bad}: {err}");
            assert!(
                err.contains(flag) && err.contains("from 0 to 1"),
                "{flag} {bad}: {err}"
            );
        }
    }
}

/// Records whose flexbridge write-back field (`field`) was empty in the fixture and is set in
/// the org after the run.
fn written_back(fixture: &Value, after: &Value, sobject: &str, field: &str) -> usize {
    let empty_before: std::collections::BTreeSet<&str> = fixture["salesforce"][sobject]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[field].is_null())
        .filter_map(|r| r["Id"].as_str())
        .collect();
    after["salesforce"][sobject]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r[field].is_null())
        .filter(|r| empty_before.contains(r["Id"].as_str().unwrap_or_default()))
        .count()
}

#[test]
fn the_summary_shows_the_salesforce_floor_of_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = flexbridge::generate::org(3);
    let path = dir.path().join("generated.json");
    std::fs::write(&path, serde_json::to_string(&fixture).unwrap()).unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();

    // a first scheduled sync reads every row and writes back what FNO assigned
    let (o, out_dir) = run(&path, "scheduled", &["--state", state]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let out = out_dir.path().join("out");
    let summary = read(&out, "summary.json");
    let after = read(&out, "salesforce.json");
    let written: usize = [
        ("Account", "FNO_Account_ID__c"),
        ("Opportunity", "FNO_Entitlement_ID__c"),
        ("OpportunityLineItem", "FNO_Activation_ID__c"),
    ]
    .iter()
    .map(|(o, f)| written_back(&fixture, &after, o, f))
    .sum();
    assert_eq!(
        written,
        3 + 6 + 18,
        "every order reached FNO and came back: {summary:#}"
    );
    let mut expected = 1 + written.div_ceil(200) as u64;
    for sobject in [
        "Account",
        "Contact",
        "Opportunity",
        "OpportunityLineItem",
        "Product2",
    ] {
        let rows = fixture["salesforce"][sobject].as_array().unwrap().len() as u64;
        assert_eq!(
            summary["salesforceFloor"]["rowsRead"][sobject], rows,
            "{sobject}"
        );
        expected += rows.div_ceil(2000);
    }
    assert_eq!(
        summary["apiCalls"]["salesforceFloor"], expected,
        "{summary:#}"
    );
    assert_eq!(summary["salesforceFloor"]["calls"], expected);
    assert!(
        summary["salesforceFloor"]["recordsWritten"]
            .as_u64()
            .unwrap()
            >= written as u64,
        "{summary:#}"
    );
    // the contract keys are still there, next to the added ones
    // one composite call plans, one relationship query reads three objects: a small org can
    // cost less than the floor's one query per object
    let calls = summary["apiCalls"]["salesforce"].as_u64().unwrap();
    assert!(
        calls > 0 && calls as f64 <= 1.5 * expected as f64,
        "{summary:#}"
    );
    assert!(summary["apiCalls"]["flexnet"].as_u64().unwrap() > 0);
    assert!(
        stdout.contains(&format!("(floor {expected}, ")),
        "the floor is printed next to the calls: {stdout}"
    );

    // the next scheduled run over the same state: nothing changed since, 1 token + 1 query
    let (o, out_dir) = run(&path, "scheduled", &["--state", state]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = read(&out_dir.path().join("out"), "summary.json");
    assert_eq!(summary["apiCalls"]["salesforceFloor"], 2, "{summary:#}");
    assert!(String::from_utf8_lossy(&o.stdout).contains("(floor 2, "));

    // one account (R23): its own rows and every product, nothing written back
    let (o, out_dir) = run(&path, "account", &["--account", "001Bn0000000001IAA"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary = read(&out_dir.path().join("out"), "summary.json");
    assert_eq!(
        summary["salesforceFloor"]["rowsRead"],
        serde_json::json!({"Account": 1, "Contact": 3, "Opportunity": 2,
                           "OpportunityLineItem": 6, "Product2": 20}),
        "{summary:#}"
    );
    assert_eq!(summary["apiCalls"]["salesforceFloor"], 1 + 5);
}

/// The store's files (database and write-ahead log; readers rewrite the shared-memory index).
fn state_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-shm"))
        .map(|n| (n.clone(), std::fs::read(dir.join(&n)).unwrap()))
        .collect();
    v.sort();
    v
}

#[test]
fn run_dry_run_writes_only_its_report_and_leaves_the_state_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let st = state.to_str().unwrap();
    let (o, out) = run(&walkthrough(), "scheduled", &["--dry-run", "--state", st]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("DRY RUN"), "{stdout}");
    let out = out.path().join("out");
    let files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files, ["dry-run.json"], "only the report");
    let report = read(&out, "dry-run.json");
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["log_entries"][0]["log_number"], "DRY-00001");
    assert_eq!(report["log_entries"][0]["created_by"], "local-runner");
    assert_eq!(
        report["fno_requests"]["entitlements"][0]["entitlement_id"],
        "006Wk0000000001IAA"
    );
    let text = std::fs::read_to_string(out.join("dry-run.json")).unwrap();
    assert!(!text.contains("Fn0-s3cret-pass"), "password in the report");

    // the real run over the same store finds everything still to do, as foretold
    let (o, real) = run(&walkthrough(), "scheduled", &["--state", st]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let real = real.path().join("out");
    assert_eq!(read(&real, "logs.json")[0]["log_number"], "TL-00001");
    let summary = read(&real, "summary.json");
    assert_eq!(
        summary["entries"]["Completed"],
        report["counts"]["completed"]
    );
    assert_eq!(
        summary["recordsWrittenBack"],
        report["counts"]["records_written_back"]
    );

    // a dry run with another configuration: applied to the dry run, stored nowhere
    let cfg = dir.path().join("deployed.json");
    std::fs::write(
        &cfg,
        r#"{"filters": {"sync_stages": ["Closed Won"], "post_condition_state": "Deployed"}}"#,
    )
    .unwrap();
    let before = state_files(&state);
    let (o, _out) = run(
        &walkthrough(),
        "account",
        &[
            "--account",
            "001Wk0000000001IAA",
            "--dry-run",
            "--state",
            st,
            "--config",
            cfg.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(state_files(&state) == before, "the --state store changed");
}
