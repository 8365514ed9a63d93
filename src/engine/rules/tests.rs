//! Rules file tests: the contract rule, every kind, errors naming rule and field, fingerprints.

use super::*;

/// The comparison of a threshold rule.
fn line(rs: &RuleSet, id: &str) -> Compare {
    match rs.get(id).map(|r| &r.kind) {
        Some(Kind::Threshold { compare, .. }) => *compare,
        other => panic!("{id} is not a threshold rule: {other:?}"),
    }
}

const MINIMAL: &str = r#"
[[rules]]
id = "flood-bd3"
metric = "water_level"
op = ">="
value = 5.2
severity = "critical"
for = "30s"
devices = ["wl-01"]
"#;

#[test]
fn the_contract_rule_parses() {
    let rs = RuleSet::parse(MINIMAL).expect("valid");
    let r = rs.get("flood-bd3").expect("present");
    let c = line(&rs, "flood-bd3");
    assert_eq!(
        (c.op, c.value, r.severity, r.for_ms, r.kind.name()),
        (Op::Ge, 5.2, Severity::Critical, 30_000, "threshold")
    );
    assert!(r.applies_to("wl-01") && !r.applies_to("wl-02"));
    assert_eq!(rs.applicable("water_level", "wl-01").count(), 1);
    assert_eq!(rs.applicable("water_level", "wl-02").count(), 0);
    assert_eq!(rs.applicable("rain_1h", "wl-01").count(), 0);
}

#[test]
fn hysteresis() {
    let rs = RuleSet::parse(&MINIMAL.replace("for = \"30s\"", "clear = 4.8")).expect("valid");
    let r = line(&rs, "flood-bd3");
    assert!(r.breached(5.2) && !r.breached(5.1));
    assert!(!r.cleared(5.0) && !r.cleared(4.8) && r.cleared(4.79));
    let below = RuleSet::parse(
        "[[rules]]\nid='cold'\nmetric='temperature'\nop='<'\nvalue=5\nclear=7\nseverity='info'",
    )
    .expect("valid");
    let r = line(&below, "cold");
    assert!(r.breached(4.9) && !r.cleared(6.9) && r.cleared(7.1));
    // without clear, the alert clears as soon as the condition stops holding
    let plain = RuleSet::parse(MINIMAL).expect("valid");
    let r = line(&plain, "flood-bd3");
    assert!(r.cleared(5.19) && !r.cleared(5.2));
}

fn err(text: &str) -> (String, String) {
    match RuleSet::parse(text) {
        Err(RuleError::Invalid { rule, field, .. }) => (rule, field),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

#[test]
fn errors_name_the_rule_and_the_field() {
    let e = |from: &str, to: &str| err(&MINIMAL.replace(from, to));
    let id = || "flood-bd3".to_owned();
    assert_eq!(e("op = \">=\"", "op = \"=>\""), (id(), "op".into()));
    assert_eq!(e("value = 5.2", "value = \"high\""), (id(), "value".into()));
    assert_eq!(e("value = 5.2", "value = nan"), (id(), "value".into()));
    assert_eq!(
        e("severity = \"critical\"", "severity = \"urgent\""),
        (id(), "severity".into())
    );
    assert_eq!(e("for = \"30s\"", "for = \"soon\""), (id(), "for".into()));
    assert_eq!(e("[\"wl-01\"]", "[\"wl 01\"]"), (id(), "devices".into()));
    assert_eq!(e("metric = \"water_level\"\n", ""), (id(), "metric".into()));
    assert_eq!(e("for = \"30s\"", "clear = 6.0"), (id(), "clear".into()));
    assert_eq!(
        e("for = \"30s\"", "colour = \"red\""),
        (id(), "colour".into())
    );
    assert_eq!(e("id = \"flood-bd3\"\n", ""), ("#1".into(), "id".into()));
    assert_eq!(err(&format!("{MINIMAL}{MINIMAL}")), (id(), "id".into()));
    assert!(matches!(
        RuleSet::parse("[[rules]"),
        Err(RuleError::Toml(_))
    ));
}

#[test]
fn fingerprints_change_only_with_the_definition() {
    let a = RuleSet::parse(MINIMAL).expect("valid");
    let b = RuleSet::parse(&format!("# comment\n{MINIMAL}")).expect("valid");
    let c = RuleSet::parse(&MINIMAL.replace("5.2", "5.3")).expect("valid");
    // a description, the order of fields and of devices change nothing the rule does
    let d = RuleSet::parse(&MINIMAL.replace(
        "devices = [\"wl-01\"]",
        "devices = [\"wl-01\", \"wl-01\"]\ndescription = \"Bằng Giang\"",
    ))
    .expect("valid");
    let fp = |rs: &RuleSet| rs.rules[0].fingerprint;
    assert_eq!(fp(&a), fp(&b));
    assert_eq!(fp(&a), fp(&d));
    assert_ne!(fp(&a), fp(&c));
}

/// One rule of every kind, as DESIGN §3b writes them.
pub const EVERY_KIND: &str = r#"
[[rules]]
id = "level"
metric = "water_level"
op = ">="
value = 5.0
clear = 4.8
severity = "critical"
category = "flood"

[[rules]]
id = "silent"
kind = "no_data"
for = "10m"
severity = "warning"
category = "equipment"

[[rules]]
id = "silent-rain"
kind = "no_data"
metric = "rain_1h"
for = "1h"
severity = "info"

[[rules]]
id = "rise"
kind = "rate"
metric = "water_level"
change = 0.5
over = "1h"
severity = "warning"
category = "flood"

[[rules]]
id = "rain-72h"
kind = "window"
metric = "rain_1h"
agg = "sum"
window = "72h"
op = ">="
value = 200
clear = 150
severity = "critical"
category = "landslide"

[[rules]]
id = "odd-temperature"
kind = "anomaly"
metric = "temperature"
half_life = "6h"
k = 4
warmup = 50
severity = "info"
category = "equipment"

[[rules]]
id = "fire-weather"
kind = "all"
conditions = [
  { metric = "temperature", op = ">=", value = 35 },
  { metric = "humidity", op = "<=", value = 30 },
  { metric = "wind_speed", op = ">=", value = 5 },
]
within = "30m"
for = "10m"
severity = "warning"
category = "forest_fire"
"#;

#[test]
fn every_kind_parses_and_is_indexed_by_what_it_watches() {
    let rs = RuleSet::parse(EVERY_KIND).expect("valid");
    let kinds: Vec<_> = rs.rules.iter().map(|r| r.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "threshold",
            "no_data",
            "no_data",
            "rate",
            "window",
            "anomaly",
            "all"
        ]
    );
    let ids = |metric: &str| -> Vec<String> {
        let mut v: Vec<_> = rs
            .applicable(metric, "any-device")
            .map(|r| r.id.to_string())
            .collect();
        v.sort();
        v
    };
    // a no_data rule without a metric looks at every reading
    assert_eq!(ids("water_level"), ["level", "rise", "silent"]);
    assert_eq!(ids("rain_1h"), ["rain-72h", "silent", "silent-rain"]);
    assert_eq!(ids("humidity"), ["fire-weather", "silent"]);
    assert_eq!(
        ids("temperature"),
        ["fire-weather", "odd-temperature", "silent"]
    );
    match &rs.get("rise").expect("rise").kind {
        Kind::Rate {
            over_ms, compare, ..
        } => assert_eq!(
            (*over_ms, compare.op, compare.value),
            (3_600_000, Op::Ge, 0.5)
        ),
        k => panic!("{k:?}"),
    }
    match &rs.get("fire-weather").expect("all").kind {
        Kind::All {
            conditions,
            within_ms,
        } => {
            assert_eq!(*within_ms, 1_800_000);
            assert_eq!(conditions[1].0, "humidity");
            assert_eq!(conditions[1].1.op, Op::Le);
        }
        k => panic!("{k:?}"),
    }
    assert_eq!(rs.get("fire-weather").map(|r| r.for_ms), Some(600_000));
    // the definition serializes back with the names of the file
    let json = serde_json::to_value(&rs.get("rain-72h").expect("window").spec).expect("json");
    assert_eq!(json["kind"], "window");
    assert_eq!(json["agg"], "sum");
    assert_eq!(json["window"], "3days");
    assert_eq!(json["category"], "landslide");
}

#[test]
fn every_kind_names_the_field_at_fault() {
    // (rule id, text to replace, replacement, the field the error must name)
    let cases = [
        (
            "silent",
            "for = \"10m\"\nseverity = \"warning\"",
            "severity = \"warning\"",
            "for",
        ),
        ("silent", "for = \"10m\"", "for = \"0s\"", "for"),
        (
            "silent-rain",
            "metric = \"rain_1h\"",
            "metric = \"rain 1h\"",
            "metric",
        ),
        ("rise", "change = 0.5", "change = 0", "change"),
        ("rise", "over = \"1h\"", "over = 3600", "over"),
        (
            "rise",
            "change = 0.5",
            "change = 0.5\nclear = -0.1",
            "clear",
        ),
        ("rain-72h", "agg = \"sum\"", "agg = \"median\"", "agg"),
        ("rain-72h", "clear = 150", "clear = 250", "clear"),
        ("rain-72h", "window = \"72h\"", "", "window"),
        ("odd-temperature", "k = 4", "k = -1", "k"),
        ("odd-temperature", "warmup = 50", "warmup = 1", "warmup"),
        (
            "odd-temperature",
            "warmup = 50",
            "warmup = 50\nop = \">\"",
            "op",
        ),
        (
            "fire-weather",
            "{ metric = \"humidity\", op = \"<=\"",
            "{ metric = \"humidity\", op = \"=<\"",
            "conditions[1].op",
        ),
        (
            "fire-weather",
            "{ metric = \"wind_speed\", op = \">=\", value = 5 }",
            "{ metric = \"wind_speed\", op = \">=\", value = 5, unit = \"m/s\" }",
            "conditions[2].unit",
        ),
        (
            "fire-weather",
            "within = \"30m\"",
            "within = \"half an hour\"",
            "within",
        ),
        (
            "level",
            "category = \"flood\"",
            "category = \"floods\"",
            "category",
        ),
        (
            "level",
            "metric = \"water_level\"\nop",
            "kind = \"sliding\"\nmetric = \"water_level\"\nop",
            "kind",
        ),
        // a field of another kind is unknown to this one
        (
            "level",
            "clear = 4.8",
            "clear = 4.8\nwindow = \"1h\"",
            "window",
        ),
    ];
    for (rule, from, to, field) in cases {
        assert!(EVERY_KIND.contains(from), "{from:?} is not in the file");
        let text = EVERY_KIND.replacen(from, to, 1);
        assert_eq!(
            err(&text),
            (rule.to_owned(), field.to_owned()),
            "{from:?} -> {to:?}"
        );
    }
    let one_condition = EVERY_KIND.replace(
        "  { metric = \"humidity\", op = \"<=\", value = 30 },\n  { metric = \"wind_speed\", op = \">=\", value = 5 },\n",
        "",
    );
    assert_eq!(
        err(&one_condition),
        ("fire-weather".into(), "conditions".into())
    );
    // an unknown field's message lists what the kind takes
    match RuleSet::parse(&EVERY_KIND.replace("k = 4", "k = 4\nsigma = 3")) {
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.contains("rule odd-temperature: field `sigma`"),
                "{text}"
            );
            assert!(
                text.contains("half_life") && text.contains("severity"),
                "{text}"
            );
        }
        Ok(_) => panic!("sigma accepted"),
    }
}

#[test]
fn empty_file_is_an_empty_rule_set() {
    assert!(RuleSet::parse("").expect("valid").is_empty());
}

#[test]
fn scope_by_tags_area_and_bbox_is_checked() {
    let with = |scope: &str| MINIMAL.replace("devices = [\"wl-01\"]", scope);
    let rs = RuleSet::parse(&with(
        "tags = [\"river\", \"river\"]\narea = \"xa-a\"\nbbox = [105, 22, 106, 23]",
    ))
    .expect("valid");
    let place = rs.rules[0].place.clone().expect("a place");
    assert_eq!(place.tags, ["river"]);
    assert_eq!(place.area.as_deref(), Some("xa-a"));
    assert_eq!(place.bbox, Some([105.0, 22.0, 106.0, 23.0]));
    let id = || "flood-bd3".to_owned();
    assert_eq!(err(&with("tags = []")), (id(), "tags".into()));
    assert_eq!(err(&with("tags = [\"River\"]")), (id(), "tags".into()));
    assert_eq!(
        err(&with("bbox = [106, 22, 105, 23]")),
        (id(), "bbox".into())
    );
    assert_eq!(err(&with("bbox = [105, 22, 106]")), (id(), "bbox".into()));
    assert_eq!(err(&with("area = \" \"")), (id(), "area".into()));
    // an area must be configured
    let areas = crate::areas::Areas::default();
    match rs.check_areas(&areas) {
        Err(RuleError::Invalid { rule, field, .. }) => {
            assert_eq!((rule, field), (id(), "area".into()))
        }
        other => panic!("{other:?}"),
    }
}
