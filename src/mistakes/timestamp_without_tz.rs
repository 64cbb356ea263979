//! `timestamp_without_tz` (L004): a point in time stored as TIMESTAMP instead of TIMESTAMPTZ.
//!
//! A `timestamp without time zone` keeps wall-clock digits and forgets which zone they were in, so
//! the same instant written by two sessions with different `TimeZone` settings is stored as two
//! different values, and DST changes make some values ambiguous.
//!
//! Slip: the template writes `created_at {{ timestamp_without_tz(object="public.t.created_at") }} NOT NULL`;
//! clean renders `TIMESTAMP WITH TIME ZONE`, the slip renders `TIMESTAMP`.
//!
//! Detection: a live user column (`attnum > 0`, not dropped) of a table whose type is
//! `timestamp without time zone`, at any precision, or an array of it. A domain over `timestamp`
//! is not reported: the domain's author chose the type once, and the finding belongs to the domain,
//! not to each column using it. Partitions are skipped, since their columns are the partitioned
//! table's and are reported there once.

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "timestamp_without_tz",
    roadmap_code: Some("L004"),
    proof: Proof::Catalog(Query::Columns(
        "a.atttypid IN ('timestamp'::regtype, 'timestamp[]'::regtype)",
    )),
    slip: Slip::Typed {
        clean: "TIMESTAMP WITH TIME ZONE",
        slipped: "TIMESTAMP",
    },
    ..MistakeKind::USUAL
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_timestamp_columns_of_tables_only() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE event (
                id int,
                created_at timestamp,
                precise_at timestamp(3) without time zone,
                history timestamp[],
                seen_at timestamptz,
                day date,
                starts time,
                gone_at timestamp
            );
            ALTER TABLE event DROP COLUMN gone_at;
            CREATE VIEW recent AS SELECT created_at AS at FROM event;
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.event.created_at",
                "public.event.history",
                "public.event.precise_at",
            ]
        );
    }
}
