//! The names a schema's definitions may print besides their relations' own catalog rows
//! (NAMES), and which of them changed between two reads: a patched schema
//! ([`super::Tracked::patched`]) is what a whole read gives as long as no definition it keeps
//! prints a name that changed.

use std::collections::BTreeSet;

use anyhow::Result;
use sqlx::PgConnection;

use crate::pg::USER_SCHEMAS;

/// What the definitions' text depends on besides the relations' own catalog rows, a line each:
/// the search_path, and the schemas, types, functions, sequences, collations, operators and
/// operator classes a definition may name (`nextval('s'::regclass)`, a domain's type, a check's
/// function), as `kind oid [namespace] name`, the name last so that one holding a space stays
/// whole. While it stays the same, a relation's objects change only with the relation's own
/// catalog rows. Arrays are named after their element type, and a table's row type after the
/// table, so of those only the ones a column uses are watched (a column's type is in pg_depend
/// unless built in); of the sequences, those a default names.
const NAMES: &str = "
SELECT concat_ws(E'\\n', 'search_path ' || current_setting('search_path'),
    (SELECT string_agg('schema ' || oid || ' ' || nspname, E'\\n' ORDER BY oid) FROM pg_namespace),
    (SELECT string_agg('type ' || t.oid || ' ' || t.typnamespace || ' ' || t.typname, E'\\n' ORDER BY t.oid)
     FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE {user_schemas}
       AND ((t.typcategory <> 'A'
             AND (t.typrelid = 0 OR t.typrelid IN (SELECT oid FROM pg_class WHERE relkind = 'c')))
            OR t.oid IN (SELECT refobjid FROM pg_depend WHERE refclassid = 'pg_type'::regclass
                         AND classid = 'pg_class'::regclass AND objsubid > 0))),
    (SELECT string_agg('function ' || p.oid || ' ' || p.pronamespace || ' ' || p.proname, E'\\n' ORDER BY p.oid)
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE {user_schemas}),
    (SELECT string_agg('sequence ' || c.oid || ' ' || c.relnamespace || ' ' || c.relname, E'\\n' ORDER BY c.oid)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE {user_schemas} AND c.relkind = 'S'
       AND c.oid IN (SELECT refobjid FROM pg_depend WHERE classid = 'pg_attrdef'::regclass
                     AND refclassid = 'pg_class'::regclass)),
    (SELECT string_agg('collation ' || c.oid || ' ' || c.collnamespace || ' ' || c.collname, E'\\n' ORDER BY c.oid)
     FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace WHERE {user_schemas}),
    (SELECT string_agg('operator ' || o.oid || ' ' || o.oprnamespace || ' ' || o.oprname, E'\\n' ORDER BY o.oid)
     FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace WHERE {user_schemas}),
    (SELECT string_agg('opclass ' || o.oid || ' ' || o.opcnamespace || ' ' || o.opcname, E'\\n' ORDER BY o.oid)
     FROM pg_opclass o JOIN pg_namespace n ON n.oid = o.opcnamespace WHERE {user_schemas}))";

/// The names the definitions' text depends on (NAMES), a line each.
pub async fn names(conn: &mut PgConnection) -> Result<String> {
    Ok(
        sqlx::query_scalar(&NAMES.replace("{user_schemas}", USER_SCHEMAS))
            .fetch_one(conn)
            .await?,
    )
}

/// The names of the types, functions, sequences and collations added, dropped or renamed from
/// `before` to `now` (a renamed one under both names): a definition prints differently only if
/// it printed one of them, to call it or to qualify it now that another of the same name comes
/// first in the search_path. None when any other line changed, which can change text that
/// printed none of them: the search_path or a schema (every qualified name), an operator (its
/// name is in nearly every check) or an operator class (an index prints its class only when it
/// is not the default, and a new default can take over a type the index never named).
pub(super) fn changed<'a>(before: &'a str, now: &'a str) -> Option<BTreeSet<&'a str>> {
    let before: BTreeSet<&str> = before.lines().collect();
    let now: BTreeSet<&str> = now.lines().collect();
    before
        .symmetric_difference(&now)
        .map(|line| match line.splitn(4, ' ').collect::<Vec<_>>()[..] {
            ["type" | "function" | "sequence" | "collation", _oid, _namespace, name] => Some(name),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "search_path \"$user\", public\nschema 2200 public\n\
                          function 16400 2200 set_updated_at\nsequence 16410 2200 t_id_seq";

    #[test]
    fn a_new_function_and_a_renamed_sequence_are_named_under_each_name() {
        let now = format!("{BEFORE}\nfunction 16500 2200 time spent").replace("t_id_seq", "t_ids");
        let names = changed(BEFORE, &now).expect("names");
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["t_id_seq", "t_ids", "time spent"]
        );
        assert_eq!(changed(BEFORE, BEFORE), Some(BTreeSet::new()));
    }

    #[test]
    fn a_changed_search_path_schema_operator_or_class_names_none() {
        for now in [
            BEFORE.replace("public\nschema", "public, x\nschema"),
            format!("{BEFORE}\nschema 16600 audit"),
            format!("{BEFORE}\noperator 16601 2200 ==="),
            format!("{BEFORE}\nopclass 16602 2200 gin_trgm_ops"),
            format!("{BEFORE}\na line of a name holding a newline"),
        ] {
            assert_eq!(changed(BEFORE, &now), None, "{now}");
        }
    }
}
