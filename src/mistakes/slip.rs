//! What a slip point renders: the shapes a slip takes, and the arguments a template passes.

use std::collections::HashMap;

use anyhow::{anyhow, bail, Result};

/// A line that starts a statement run outside the change's transaction (`CREATE INDEX
/// CONCURRENTLY` cannot run inside one). Such steps come last; each holds one statement
/// (README "How it works": steps outside the transaction).
pub const OUTSIDE_TRANSACTION: &str = "-- engineer-sim: outside transaction";

/// The shape of a slip: what the careful engineer writes and what the slip writes instead. Every
/// slip point needs an `object` argument besides the ones named here.
pub enum Slip {
    /// The careful engineer writes `sql`; the slip leaves it out.
    Omitted,
    /// The careful engineer does not write it; the slip adds `sql`.
    Added,
    /// The careful engineer writes `sql`; the slip writes `slipped` instead.
    Swapped,
    /// The careful engineer writes `sql`; the slip writes `slipped` as a step run outside the
    /// change's transaction (after an [`OUTSIDE_TRANSACTION`] line).
    OutsideTransaction,
    /// A type written two ways, both fixed by the kind.
    Typed {
        clean: &'static str,
        slipped: &'static str,
    },
    /// A clause made of the argument `arg` put in `clean` at `{}`; the slip leaves it out.
    Clause {
        arg: &'static str,
        clean: &'static str,
    },
    /// A shape of the kind's own.
    Custom(fn(&SlipArgs, bool) -> Result<String>),
    /// Not a slip point: the apply step observes the kind. The text says why.
    NotASlipPoint(&'static str),
}

impl Slip {
    pub fn render(&self, args: &SlipArgs, slipped: bool) -> Result<String> {
        if !matches!(self, Slip::NotASlipPoint(_)) {
            args.object()?;
        }
        let either = |clean: String, wrong: String| if slipped { wrong } else { clean };
        Ok(match self {
            Slip::NotASlipPoint(why) => bail!(
                "{} is observed by the apply step, not a slip point: {why}",
                args.kind
            ),
            Slip::Omitted => either(args.string("sql")?, String::new()),
            Slip::Added => either(String::new(), args.string("sql")?),
            Slip::Swapped => either(args.string("sql")?, args.string("slipped")?),
            Slip::OutsideTransaction => {
                let wrong = args.string("slipped")?;
                either(
                    args.string("sql")?,
                    format!("{OUTSIDE_TRANSACTION}\n{wrong}"),
                )
            }
            Slip::Typed { clean, slipped } => either(clean.to_string(), slipped.to_string()),
            Slip::Clause { arg, clean } => {
                either(clean.replace("{}", &args.string(arg)?), String::new())
            }
            Slip::Custom(render) => render(args, slipped)?,
        })
    }
}

/// Arguments of a slip point call, as the template wrote them.
pub struct SlipArgs<'a> {
    pub kind: &'static str,
    pub args: &'a HashMap<String, tera::Value>,
}

impl SlipArgs<'_> {
    pub fn object(&self) -> Result<String> {
        self.string("object")
    }

    pub fn string(&self, name: &str) -> Result<String> {
        match self.args.get(name) {
            Some(tera::Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.wrong_type(name, "a string", other)),
            None => Err(self.missing(name)),
        }
    }

    pub fn string_or(&self, name: &str, default: &str) -> Result<String> {
        match self.args.get(name) {
            None => Ok(default.to_string()),
            Some(_) => self.string(name),
        }
    }

    pub fn integer(&self, name: &str) -> Result<i64> {
        match self.args.get(name) {
            Some(tera::Value::Number(n)) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
            Some(other) => Err(self.wrong_type(name, "an integer", other)),
            None => Err(self.missing(name)),
        }
    }

    fn wrong_type(&self, name: &str, expected: &str, got: &tera::Value) -> anyhow::Error {
        anyhow!(
            "slip point `{}`: argument `{name}` must be {expected}, got {got}",
            self.kind
        )
    }

    fn missing(&self, name: &str) -> anyhow::Error {
        anyhow!("slip point `{}` needs the argument `{name}`", self.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::to_values;
    use crate::mistakes::{all, by_name};

    /// A slip point: its kind, its arguments besides `object`, what it renders clean and slipped.
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

    #[test]
    fn every_slip_point_renders_both_ways_and_names_a_missing_argument() {
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
            for (missing, _) in &full {
                let without: Vec<(&str, &str)> =
                    full.iter().copied().filter(|(n, _)| n != missing).collect();
                for slip in [false, true] {
                    let err = render(kind, &without, slip).unwrap_err().to_string();
                    assert!(
                        err.contains(&format!(
                            "slip point `{kind}` needs the argument `{missing}`"
                        )),
                        "{err}"
                    );
                }
            }
        }
        let mut covered: Vec<&str> = SLIP_POINTS.iter().map(|(kind, ..)| *kind).collect();
        covered.sort();
        let mut slip_points: Vec<&str> = all()
            .iter()
            .filter(|k| !matches!(k.slip, Slip::NotASlipPoint(_)))
            .map(|k| k.name)
            .collect();
        slip_points.sort();
        assert_eq!(covered, slip_points, "a row per slip point");
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
}
