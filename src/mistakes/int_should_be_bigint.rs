//! `int_should_be_bigint` (P002; L003 in the postgres_ai checkup): INTEGER for an id or a size
//! that grows past 2^31.
//!
//! An `integer` stops at 2,147,483,647. A busy table's sequence gets there (ids are burnt by
//! rollbacks and upserts too, not only by rows kept), and a file size in bytes passes 2 GiB with
//! one large upload. The day it happens every insert fails, and the fix, `ALTER COLUMN TYPE
//! bigint`, rewrites the table and every foreign key pointing at it under an exclusive lock. A
//! `bigint` costs four bytes more per row, often nothing after alignment.
//!
//! Slip: `size_bytes {{ int_should_be_bigint(object="public.t.size_bytes") }} NOT NULL`; clean renders
//! `BIGINT`, the slip `INTEGER`.
//!
//! Detection: a live user column of a table, of type `smallint` or `integer` (not an array, not a
//! domain), that holds an id or a size:
//! - it is one of the columns of the table's primary key, whatever its name;
//! - or it is one of the referencing columns of a foreign key declared on the table (the column
//!   that points at another table's key; a column that is only referenced by a foreign key, as a
//!   UNIQUE target, is not an id by this branch);
//! - or its name is one of [`ID_NAMES`] or ends with one of [`ID_SUFFIXES`], key or not;
//! - or its name is one of [`SIZE_NAMES`] or ends with one of [`SIZE_SUFFIXES`].
//!
//! Counters (`*_count`), durations (`*_minutes`), positions and the like are not reported: most stay
//! small, and it is ids and byte sizes that overflow. A `smallint` key of a small lookup table is
//! reported all the same: the catalog cannot tell how many rows a table will hold. Partitions are
//! skipped (their columns are the partitioned table's, reported there once).

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::Slip;

pub const KIND: MistakeKind = MistakeKind {
    name: "int_should_be_bigint",
    roadmap_code: Some("P002"),
    checkup_code: Some("L003"),
    proof: Proof::Catalog(Query::Columns(DEFECTIVE)),
    slip: Slip::Typed {
        clean: "BIGINT",
        slipped: "INTEGER",
    },
    ..MistakeKind::USUAL
};

const DEFECTIVE: &str = r#"
a.atttypid IN ('int2'::regtype, 'int4'::regtype)
AND (
    EXISTS (
        SELECT 1 FROM pg_constraint con
        WHERE con.conrelid = a.attrelid
          AND con.contype IN ('p', 'f')
          AND a.attnum = ANY (con.conkey)
    )
    OR {named:id}
    OR {named:size}
)
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::detect;

    #[tokio::test]
    async fn finds_ids_and_sizes_but_not_counters() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE account (id int PRIMARY KEY, view_count int, duration_minutes int);
            CREATE TABLE region (code smallint, zone int, PRIMARY KEY (code, zone));
            CREATE TABLE target (num int UNIQUE, label text);
            CREATE TABLE upload (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                owner int REFERENCES account (id),
                target_num int REFERENCES target (num),
                project_id int,
                tiny_id smallint,
                size int,
                file_size int,
                payload_bytes int,
                thumb_size smallint,
                size_bytes bigint,
                position int,
                paid int,
                valid int,
                related_id int[],
                big_id bigint,
                remote_id uuid,
                ratio_size numeric
            );
            CREATE TABLE tag (id uuid PRIMARY KEY, legacy_id int2);
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.account.id",
                "public.region.code",
                "public.region.zone",
                "public.tag.legacy_id",
                "public.upload.file_size",
                "public.upload.owner",
                "public.upload.payload_bytes",
                "public.upload.project_id",
                "public.upload.size",
                "public.upload.target_num",
                "public.upload.thumb_size",
                "public.upload.tiny_id",
            ]
        );
    }
}
