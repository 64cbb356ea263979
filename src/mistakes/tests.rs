//! Tests of the catalog as a whole: every kind registered, every query filled, every slip
//! point rendered, and the shared scans.

use anyhow::Result;

use super::*;
use crate::mistakes::testing::{detect, to_values};
use crate::words::Words;

/// A kind file not listed in `all`, or a `KIND` named otherwise than its file, is a kind
/// the templates cannot call by the name its documentation gives.
#[test]
fn every_kind_file_is_listed_under_its_own_name() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mistakes");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .filter(|stem| {
            ![
                "mod", "kind", "query", "slip", "snapshot", "testing", "tests",
            ]
            .contains(&stem.as_str())
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = all().iter().map(|k| k.name.to_string()).collect();
    names.sort();
    assert_eq!(names, files);
}

/// Every catalog query keeps to the user's schemas, and to the relations of a scoped audit (README
/// "Performance"): a query of its own that forgot `{scope:...}` would see the whole database
/// in a scoped audit and its findings elsewhere would be counted twice.
#[test]
fn catalog_queries_fill_every_placeholder_and_keep_to_user_schemas_and_scope() {
    let words = Words::builtin();
    for kind in all() {
        let Proof::Catalog(query) = &kind.proof else {
            continue;
        };
        if let Query::Sql(sql) = query {
            assert!(sql.contains("{user_schemas}"), "{}", kind.name);
            assert!(sql.contains("{scope:"), "{}", kind.name);
        }
        let filled = kind.detection_query(&words).unwrap();
        assert!(!filled.contains('{'), "{}: {filled}", kind.name);
        let scoped = kind.detection_query_in(&words, true).unwrap();
        assert!(scoped.contains("= ANY ($1)"), "{}: {scoped}", kind.name);
    }
}

/// What `Query::Columns`, `Indexes` and `ForeignKeys` look at before a kind's condition: the
/// columns, indexes and keys of tables, a partitioned table's once, no materialized view's.
#[tokio::test]
async fn family_queries_see_each_table_once() {
    let fixture = "
        CREATE TABLE p (id int PRIMARY KEY);
        CREATE TABLE event (d date, v int REFERENCES p, PRIMARY KEY (v, d)) PARTITION BY RANGE (d);
        CREATE TABLE event_2024 PARTITION OF event
            FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
        CREATE INDEX event_v_idx ON event (v);
        CREATE INDEX event_2024_d_idx ON event_2024 (d);
        CREATE TABLE t (a int);
        ALTER TABLE t DROP COLUMN a;
        CREATE MATERIALIZED VIEW m AS SELECT 1 AS x;
        CREATE INDEX m_x_idx ON m (x);
        CREATE TABLE booking (ev int, ed date, FOREIGN KEY (ev, ed) REFERENCES event (v, d));";
    let every = |query| MistakeKind {
        name: "every",
        proof: Proof::Catalog(query),
        ..MistakeKind::USUAL
    };
    let columns = detect(&every(Query::Columns("true")), fixture).await;
    assert_eq!(
        columns,
        [
            "public.booking.ed",
            "public.booking.ev",
            "public.event.d",
            "public.event.v",
            "public.p.id"
        ]
    );
    let indexes = detect(&every(Query::Indexes("true")), fixture).await;
    assert_eq!(
        indexes,
        [
            "public.event_2024_d_idx",
            "public.event_pkey",
            "public.event_v_idx",
            "public.p_pkey"
        ]
    );
    let keys = detect(&every(Query::ForeignKeys("true")), fixture).await;
    assert_eq!(keys, ["public.booking(ev,ed)", "public.event(v)"]);
}

/// Slip points as the kinds' documentation shows them: the kind, its arguments besides `object`,
/// what it renders clean and slipped.
type Case = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
);

const SLIP_POINTS: &[Case] = &[
    (
        "missing_fk_index",
        &[("sql", "CREATE INDEX i ON t (p);")],
        "CREATE INDEX i ON t (p);",
        "",
    ),
    ("missing_unique", &[("sql", " UNIQUE")], " UNIQUE", ""),
    (
        "missing_updated_at_trigger",
        &[("sql", "CREATE TRIGGER g ...;")],
        "CREATE TRIGGER g ...;",
        "",
    ),
    (
        "missing_query_index",
        &[("sql", "CREATE INDEX i ON t (c);")],
        "CREATE INDEX i ON t (c);",
        "",
    ),
    (
        "duplicate_index",
        &[("sql", "CREATE INDEX i2 ON t (a);")],
        "",
        "CREATE INDEX i2 ON t (a);",
    ),
    (
        "redundant_index",
        &[("sql", "CREATE INDEX i ON t (a);")],
        "",
        "CREATE INDEX i ON t (a);",
    ),
    (
        "low_cardinality_index",
        &[("sql", "CREATE INDEX i ON t (f);")],
        "",
        "CREATE INDEX i ON t (f);",
    ),
    (
        "unused_index",
        &[("sql", "CREATE INDEX i ON t (c);")],
        "",
        "CREATE INDEX i ON t (c);",
    ),
    (
        "dropped_used_index",
        &[("sql", "DROP INDEX i;")],
        "",
        "DROP INDEX i;",
    ),
    (
        "table_bloat",
        &[("sql", "ALTER TABLE t SET (autovacuum_enabled = false);")],
        "",
        "ALTER TABLE t SET (autovacuum_enabled = false);",
    ),
    (
        "btree_on_jsonb",
        &[("sql", "USING gin (doc)"), ("slipped", "(doc)")],
        "USING gin (doc)",
        "(doc)",
    ),
    (
        "wrong_column_order",
        &[("sql", "(p, f)"), ("slipped", "(f, p)")],
        "(p, f)",
        "(f, p)",
    ),
    (
        "jsonb_overuse",
        &[("sql", "tz VARCHAR(50)"), ("slipped", "settings JSONB")],
        "tz VARCHAR(50)",
        "settings JSONB",
    ),
    (
        "polymorphic_reference",
        &[("sql", "issue_id UUID"), ("slipped", "entity_type TEXT")],
        "issue_id UUID",
        "entity_type TEXT",
    ),
    (
        "not_null_full_scan",
        &[("sql", "CHECK first"), ("slipped", "SET NOT NULL")],
        "CHECK first",
        "SET NOT NULL",
    ),
    (
        "table_rewrite",
        &[("sql", "ADD COLUMN"), ("slipped", "TYPE text")],
        "ADD COLUMN",
        "TYPE text",
    ),
    (
        "invalid_index",
        &[
            ("sql", "CREATE UNIQUE INDEX u ON t (a);"),
            ("slipped", "CREATE UNIQUE INDEX CONCURRENTLY u ON t (a);"),
        ],
        "CREATE UNIQUE INDEX u ON t (a);",
        "-- engineer-sim: outside transaction\nCREATE UNIQUE INDEX CONCURRENTLY u ON t (a);",
    ),
    ("nullable_fk", &[], " NOT NULL", ""),
    (
        "timestamp_without_tz",
        &[],
        "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP",
    ),
    ("int_should_be_bigint", &[], "BIGINT", "INTEGER"),
    ("json_as_text", &[], "JSONB", "TEXT"),
    (
        "serial_not_identity",
        &[],
        "BIGINT GENERATED ALWAYS AS IDENTITY",
        "BIGSERIAL",
    ),
    (
        "missing_check",
        &[("expr", "minutes > 0")],
        " CHECK (minutes > 0)",
        "",
    ),
    (
        "missing_on_delete",
        &[("action", "SET NULL")],
        " ON DELETE SET NULL",
        "",
    ),
    (
        "oversized_varchar",
        &[("length", "3")],
        "VARCHAR(3)",
        "VARCHAR(255)",
    ),
];

fn render(kind: &str, args: &[(&str, &str)], slipped: bool) -> Result<String> {
    let kind = by_name(kind).expect("a kind");
    let values = to_values(args);
    kind.render(
        &SlipArgs {
            kind: kind.name,
            args: &values,
        },
        slipped,
    )
}

/// The arguments a slip point of this shape needs besides `object`; `None` for a shape of the
/// kind's own, which needs its row in [`SLIP_POINTS`].
fn needed_arguments(slip: &Slip) -> Option<Vec<&'static str>> {
    match slip {
        Slip::Omitted | Slip::Added => Some(vec!["sql"]),
        Slip::Swapped | Slip::OutsideTransaction => Some(vec!["sql", "slipped"]),
        Slip::Typed { .. } => Some(vec![]),
        Slip::Clause { arg, .. } => Some(vec![arg]),
        Slip::Custom(_) | Slip::NotASlipPoint(_) => None,
    }
}

/// Every slip point, a new kind's too, renders a careful and a different slipped text, and
/// names each argument it is called without.
#[test]
fn every_slip_point_renders_two_ways_and_names_each_missing_argument() {
    for kind in all() {
        if matches!(kind.slip, Slip::NotASlipPoint(_)) {
            continue;
        }
        let args: Vec<(&str, &str)> = match SLIP_POINTS.iter().find(|row| row.0 == kind.name) {
            Some((_, args, ..)) => args.to_vec(),
            None => needed_arguments(&kind.slip)
                .unwrap_or_else(|| panic!("{}: give its own slip shape a row", kind.name))
                .into_iter()
                .map(|name| (name, "x"))
                .collect(),
        };
        let full: Vec<(&str, &str)> = [("object", "public.t.c")].into_iter().chain(args).collect();
        let clean = render(kind.name, &full, false).unwrap();
        assert_ne!(
            clean,
            render(kind.name, &full, true).unwrap(),
            "{}",
            kind.name
        );
        for (missing, _) in &full {
            let without: Vec<(&str, &str)> =
                full.iter().copied().filter(|(n, _)| n != missing).collect();
            for slip in [false, true] {
                let err = render(kind.name, &without, slip).unwrap_err().to_string();
                let named = format!("slip point `{}` needs the argument `{missing}`", kind.name);
                assert!(err.contains(&named), "{err}");
            }
        }
    }
}

#[test]
fn slip_points_render_as_documented() {
    for (kind, args, clean, slipped) in SLIP_POINTS {
        let full: Vec<(&str, &str)> = [("object", "public.t.c")]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        assert_eq!(render(kind, &full, false).unwrap(), *clean, "{kind} clean");
        assert_eq!(
            render(kind, &full, true).unwrap(),
            *slipped,
            "{kind} slipped"
        );
    }
}

#[test]
fn arguments_of_the_wrong_type_are_named() {
    let err = render(
        "missing_check",
        &[("object", "public.t.c"), ("expr", "5")],
        false,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("argument `expr` must be a string, got 5"),
        "{err}"
    );
}

#[test]
fn an_observed_kind_is_no_slip_point() {
    let err = render("blocking_index_build", &[("object", "public.i")], true).unwrap_err();
    assert!(
        err.to_string()
            .contains("observed by the apply step, not a slip point"),
        "{err}"
    );
}
