//! The session settings every change runs under: the apply step sets them in the change's
//! transaction, a step outside the transaction sets them on its own, and each migration file
//! shows them above its SQL (README "What lands in `state/`"), so a linter reading the file sees
//! what the database saw.

/// How long a change's statement waits for a lock: a change must never hang a production-like
/// database.
pub const LOCK_TIMEOUT: &str = "5s";
/// How long one of a change's statements may run.
pub const STATEMENT_TIMEOUT: &str = "5min";

/// The settings, in the order they are set. TimeZone is fixed because whether
/// `timestamp -> timestamptz` rewrites a table depends on it: the journal must not depend on the
/// machine it ran on.
const SETTINGS: [(&str, &str); 3] = [
    ("lock_timeout", LOCK_TIMEOUT),
    ("statement_timeout", STATEMENT_TIMEOUT),
    ("TimeZone", "UTC"),
];

/// One statement per setting, `separator` between them.
fn each(separator: &str, statement: impl Fn(&str, &str) -> String) -> String {
    SETTINGS
        .iter()
        .map(|(name, value)| statement(name, value))
        .collect::<Vec<_>>()
        .join(separator)
}

fn set_local(name: &str, value: &str) -> String {
    format!("SET LOCAL {name} = '{value}'")
}

/// The statements the apply step runs first in a change's transaction.
pub fn in_transaction() -> String {
    each("; ", set_local)
}

/// The lines a migration file shows between its header and its SQL.
pub fn migration_lines() -> String {
    format!("{};\n", each(";\n", set_local))
}

/// The same settings for a step run on its own, outside a transaction; [`reset`] undoes them.
pub fn for_session() -> String {
    each("; ", |name, value| format!("SET {name} = '{value}'"))
}

/// Back to the connection's own settings after a step outside the transaction.
pub fn reset() -> String {
    each("; ", |name, _| format!("RESET {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_place_sets_the_same_three_settings() {
        assert_eq!(
            in_transaction(),
            "SET LOCAL lock_timeout = '5s'; SET LOCAL statement_timeout = '5min'; SET LOCAL TimeZone = 'UTC'"
        );
        assert_eq!(
            migration_lines(),
            "SET LOCAL lock_timeout = '5s';\nSET LOCAL statement_timeout = '5min';\nSET LOCAL TimeZone = 'UTC';\n"
        );
        assert_eq!(
            for_session(),
            "SET lock_timeout = '5s'; SET statement_timeout = '5min'; SET TimeZone = 'UTC'"
        );
        assert_eq!(
            reset(),
            "RESET lock_timeout; RESET statement_timeout; RESET TimeZone"
        );
    }
}
