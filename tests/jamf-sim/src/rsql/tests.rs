//! Unit tests of the RSQL parser and evaluator.

use super::*;

struct R {
    id: u64,
    name: &'static str,
}

impl Record for R {
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        match name {
            "id" => Some(FieldValue::Int(self.id)),
            "displayName" => Some(FieldValue::Str(self.name)),
            _ => None,
        }
    }
}

const FIELDS: &[(&str, FieldKind)] = &[("id", FieldKind::Int), ("displayName", FieldKind::Str)];

fn eval(filter: &str, r: &R) -> bool {
    let e = parse(filter).unwrap().unwrap();
    e.check_fields(FIELDS).unwrap();
    e.matches(r)
}

fn role() -> R {
    R {
        id: 12,
        name: "Warden Managed Role",
    }
}

#[test]
fn empty_filter_is_none() {
    assert_eq!(parse("").unwrap(), None);
    assert_eq!(parse("   ").unwrap(), None);
}

#[test]
fn equality_is_case_insensitive() {
    let r = role();
    assert!(eval(r#"displayName=="warden managed role""#, &r));
    assert!(eval("displayName=='WARDEN MANAGED ROLE'", &r));
    assert!(!eval(r#"displayName=="Warden""#, &r));
    assert!(eval(r#"displayName!="Warden""#, &r));
    assert!(eval("id==12", &r));
    assert!(!eval("id==13", &r));
    assert!(eval("id!=13", &r));
}

#[test]
fn globs() {
    let r = role();
    assert!(eval(r#"displayName=="*managed*""#, &r));
    assert!(eval(r#"displayName=="Warden*""#, &r));
    assert!(eval(r#"displayName=="*Role""#, &r));
    assert!(eval("displayName==Warden*", &r));
    assert!(!eval(r#"displayName=="*Other*""#, &r));
    assert!(eval(r#"displayName=="W*n*R*e""#, &r));
    assert!(!eval(r#"displayName=="W*x*e""#, &r));
    assert!(eval("id==1*", &r));
    // prefix and suffix must not overlap
    let short = R { id: 1, name: "ab" };
    assert!(!eval(r#"displayName=="ab*b""#, &short));
}

#[test]
fn escapes_and_literal_star() {
    let r = R {
        id: 1,
        name: r#"Say "hi" *now*"#,
    };
    assert!(eval(r#"displayName=="Say \"hi\" \*now\*""#, &r));
    assert!(!eval(r#"displayName=="Say \"hi\" \*now""#, &r));
    let plain = R {
        id: 1,
        name: "Say hi now",
    };
    assert!(!eval(r#"displayName=="Say hi \*now\*""#, &plain));
    let quote = R {
        id: 1,
        name: "it's",
    };
    assert!(eval(r"displayName=='it\'s'", &quote));
}

#[test]
fn in_and_out_with_both_separators() {
    let r = role();
    assert!(eval("id=in=(1,12,14)", &r));
    assert!(eval("id=in=(1|12|14)", &r));
    assert!(eval(r#"displayName=in=("a"|"Warden Managed Role")"#, &r));
    assert!(eval(r#"displayName=in=("a", 'warden managed role')"#, &r));
    assert!(!eval("id=out=(1,12)", &r));
    assert!(eval("id=out=(1|2)", &r));
}

#[test]
fn ordering_operators() {
    let r = role();
    assert!(eval("id=gt=11", &r));
    assert!(eval("id>11", &r));
    assert!(eval("id=ge=12", &r));
    assert!(eval("id>=12", &r));
    assert!(!eval("id=lt=12", &r));
    assert!(eval("id<13", &r));
    assert!(eval("id=le=12", &r));
    assert!(eval("id<=12", &r));
    assert!(eval("displayName=gt=a", &r));
}

#[test]
fn and_or_and_grouping() {
    let r = role();
    assert!(eval("id==12;displayName==Warden*", &r));
    assert!(!eval("id==12;displayName==Other*", &r));
    assert!(eval("id==1,id==12", &r));
    assert!(eval("id==1 or id==12", &r));
    assert!(eval("id==12 and displayName==*Role", &r));
    // AND binds tighter than OR
    assert!(eval("id==12,id==1;id==2", &r));
    assert!(!eval("(id==12,id==1);id==2", &r));
}

#[test]
fn malformed_filters_are_errors() {
    for bad in [
        "displayName",
        "displayName==",
        r#"displayName=="unterminated"#,
        "displayName=foo=bar",
        "id==1;",
        "(id==1",
        "id=in=(1,2",
        "==1",
        "id==1)",
        r#"displayName=="a\"#,
    ] {
        assert!(parse(bad).is_err(), "{bad} should not parse");
    }
}

#[test]
fn unknown_fields_and_bad_values_are_rejected() {
    let e = parse("name==x").unwrap().unwrap();
    assert!(e.check_fields(FIELDS).is_err());
    let e = parse("id=lt=abc").unwrap().unwrap();
    assert!(e.check_fields(FIELDS).is_err());
    let e = parse("id==(1,2)").unwrap().unwrap();
    assert!(e.check_fields(FIELDS).is_err());
}
