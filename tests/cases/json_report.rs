//! `--json` is documented field by field: the fields of real `--json` runs
//! are exactly the README's ("The JSON report"), and so are the keys of every
//! check's `data`. A field added without its line in the README fails here,
//! and so does a line for a field no run has any more.
//!
//! The runs: `doctor --demo --json` (a working setup with a real login, then a
//! broken one), and a doctor with a real login, the Pocket ID API key,
//! RomM's users and RomM's log, so that every documented `data` shape appears.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::everything::Everything;
use crate::support::prelude::*;
use crate::support::standin;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README.md")
}

/// The table rows after the HTML comment starting `<!-- {marker}`: the cells
/// of each row, header and separator left out.
fn table(text: &str, marker: &str) -> Vec<Vec<String>> {
    let start = text
        .find(&format!("<!-- {marker}"))
        .unwrap_or_else(|| panic!("README.md has no <!-- {marker} … --> table"));
    text[start..]
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|row| {
            row.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The `code` spans of a cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// What the README documents: the field paths, and the `data` keys by check
/// (`None`: the keys are the provider's).
fn documented() -> (BTreeSet<String>, BTreeMap<String, Option<BTreeSet<String>>>) {
    let text = readme();
    let fields = table(&text, "json-fields")
        .iter()
        .map(|row| code_spans(&row[0]).remove(0))
        .collect();
    let data = table(&text, "json-data")
        .iter()
        .map(|row| {
            let id = code_spans(&row[0]).remove(0);
            let keys = (row[1] != "any").then(|| code_spans(&row[1]).into_iter().collect());
            (id, keys)
        })
        .collect();
    (fields, data)
}

/// Every field path of a report (`checks[].id`, `verdict.open[].how`, …),
/// `data`'s insides left out; `data` itself is gathered by check id.
fn fields(report: &Value, into: &mut BTreeSet<String>, data: &mut Vec<(String, Value)>) {
    fn walk(value: &Value, path: &str, into: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    into.insert(p.clone());
                    if p != "checks[].data" {
                        walk(v, &p, into);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    walk(item, &format!("{path}[]"), into);
                }
            }
            _ => {}
        }
    }
    walk(report, "", into);
    for check in report["checks"].as_array().expect("checks") {
        if let Some(d) = check.get("data") {
            data.push((check["id"].as_str().unwrap().to_string(), d.clone()));
        }
    }
}

fn run_json(sb: &Sandbox, sub: &[&str], args: &sandbox::Args, env: &[(&str, &str)]) -> Value {
    sandbox::report(sandbox::run(sb, sub, args, env)).0
}

#[test]
fn json_fields_and_data_keys_are_exactly_the_documented_ones() {
    let sb = Sandbox::new();
    let mut reports = Vec::new();
    let demo = run_json(
        &sb,
        &["doctor", "--demo", "--json"],
        &sandbox::Args::new(),
        &[("NO_PROXY", "127.0.0.1,localhost")],
    );
    let halves: BTreeSet<&String> = demo.as_object().expect("an object").keys().collect();
    assert_eq!(
        halves,
        BTreeSet::from([&"broken".to_string(), &"working".to_string()]),
        "doctor --demo --json is {{\"working\": …, \"broken\": …}}"
    );
    reports.push(demo["working"].clone());
    reports.push(demo["broken"].clone());
    let e = Everything::start();
    // RomM's log too, so that romm.log's data shows.
    let log = sb.file("romm.log", include_str!("../excerpts/romm.log"));
    reports.push(run_json(
        &sb,
        &["doctor", "--json", "--timeout", "5"],
        &e.doctor(sb.path()).set("--romm-log", log.to_str().unwrap()),
        &Everything::env(),
    ));

    let e = standin::emulator();
    let stand = standin::Stand::new(&standin::pairs(&standin::romm_env(&e)));
    reports.push(stand.doctor(&[]).0);

    let (want_fields, want_data) = documented();
    let mut seen = BTreeSet::new();
    let mut data = Vec::new();
    for report in &reports {
        assert_eq!(report["schema"], 1, "{report:#}");
        fields(report, &mut seen, &mut data);
    }
    let undocumented: Vec<_> = seen.difference(&want_fields).collect();
    let unseen: Vec<_> = want_fields.difference(&seen).collect();
    assert!(
        undocumented.is_empty() && unseen.is_empty(),
        "README.md's JSON fields and the report's differ:\n  in the report, not in the README: {undocumented:?}\n  in the README, in no run: {unseen:?}"
    );

    let mut data_ids = BTreeSet::new();
    for (id, value) in &data {
        let keys: BTreeSet<String> = value
            .as_object()
            .unwrap_or_else(|| panic!("{id}: data is not an object: {value}"))
            .keys()
            .cloned()
            .collect();
        match want_data.get(id) {
            None => panic!("{id} has data {keys:?}, but README.md's data table has no row for it"),
            Some(None) => {}
            Some(Some(want)) => assert_eq!(
                &keys, want,
                "{id}: data keys (left) differ from README.md's (right)"
            ),
        }
        data_ids.insert(id.clone());
    }
    let documented_ids: BTreeSet<String> = want_data.keys().cloned().collect();
    let unseen: Vec<_> = documented_ids.difference(&data_ids).collect();
    assert!(
        unseen.is_empty(),
        "README.md documents data for {unseen:?}, which no run had"
    );
}
