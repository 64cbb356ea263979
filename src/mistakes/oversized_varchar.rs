//! `oversized_varchar` (L003): a short, bounded value stored as VARCHAR(255) or unbounded text.
//!
//! VARCHAR(255) is the length people type when they have not thought about the length; TEXT for a
//! status or a currency code says there is no bound at all. Either way the schema stops saying how
//! long the value may be, and a bug that writes a paragraph into it goes through.
//!
//! Slip: the template writes `code {{ oversized_varchar(object="public.t.code", length=3) }}`;
//! clean renders `VARCHAR(<length>)`, the slip renders `VARCHAR(255)`, or `TEXT` with `as="text"`
//! (`as="varchar255"` is the default).
//!
//! Detection: a live user column of a table that is either
//! - `varchar(255)` exactly, whatever its name: the lazy default. Other explicit lengths were
//!   chosen by someone and are not second-guessed;
//! - `text` or unbounded `varchar` whose name says it holds a short value from a bounded set (see
//!   [`SHORT_VALUE_NAMES`], [`SHORT_VALUE_SUFFIXES`] and [`OPEN_SET_NAMES`]). Other text columns
//!   (descriptions, bodies, URLs) may legitimately be long.
//!
//! Domains are not looked through, and partitions are skipped (their columns are the partitioned
//! table's, reported there once).

use anyhow::{bail, Result};

use super::kind::{MistakeKind, Proof};
use super::query::Query;
use super::slip::{Slip, SlipArgs};

pub const KIND: MistakeKind = MistakeKind {
    name: "oversized_varchar",
    roadmap_code: Some("L003"),
    proof: Proof::Catalog(Query::Columns(DEFECTIVE)),
    slip: Slip::Custom(render),
    ..MistakeKind::USUAL
};

// `varchar(n)` stores `n + 4` in `atttypmod`: 259 is `varchar(255)`.
const DEFECTIVE: &str = r#"
(a.atttypid = 'varchar'::regtype AND a.atttypmod = 259)
OR (
    (a.atttypid = 'text'::regtype OR (a.atttypid = 'varchar'::regtype AND a.atttypmod = -1))
    AND {named:short_value}
    AND a.attname::text <> ALL ({open_set_names})
)
"#;

/// Clean `VARCHAR(<length>)`; the slip `VARCHAR(255)`, or `TEXT` with `as="text"`.
fn render(args: &SlipArgs, slipped: bool) -> Result<String> {
    let length = args.integer("length")?;
    if length <= 0 {
        bail!(
            "slip point `{}`: argument `length` must be positive, got {length}",
            args.kind
        );
    }
    let slipped_type = match args.string_or("as", "varchar255")?.as_str() {
        "varchar255" => "VARCHAR(255)",
        "text" => "TEXT",
        other => bail!(
            "slip point `{}`: argument `as` must be \"varchar255\" or \"text\", got \"{other}\"",
            args.kind
        ),
    };
    Ok(if slipped {
        slipped_type.to_string()
    } else {
        format!("VARCHAR({length})")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mistakes::testing::{detect, render_both, to_values};

    #[test]
    fn slip_can_use_text() {
        let (clean, slipped) = render_both(
            &KIND,
            &[
                ("object", "public.t.status"),
                ("length", "20"),
                ("as", "text"),
            ],
        );
        assert_eq!(clean, "VARCHAR(20)");
        assert_eq!(slipped, "TEXT");
    }

    #[test]
    fn render_rejects_bad_arguments() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (
                &[("object", "public.t.code")],
                "needs the argument `length`",
            ),
            (
                &[("object", "public.t.code"), ("length", "three")],
                "must be an integer",
            ),
            (
                &[("object", "public.t.code"), ("length", "0")],
                "must be positive",
            ),
            (
                &[("object", "public.t.code"), ("length", "3"), ("as", "blob")],
                "argument `as`",
            ),
        ];
        for (args, expected) in cases {
            let values = to_values(args);
            let slip_args = SlipArgs {
                kind: "oversized_varchar",
                args: &values,
            };
            let err = KIND.render(&slip_args, false).unwrap_err().to_string();
            assert!(err.contains(expected), "{args:?}: {err}");
        }
    }

    #[tokio::test]
    async fn finds_lazy_lengths_and_unbounded_short_values() {
        let found = detect(
            &KIND,
            r#"
            CREATE TABLE account (
                email varchar(255),
                title varchar(100),
                bio varchar(500),
                description text,
                notification_type text,
                name text,
                content_type text,
                mime_type varchar,
                status varchar,
                display_name varchar(80),
                statusline text,
                tags varchar(255)[]
            );
            "#,
        )
        .await;
        assert_eq!(
            found,
            [
                "public.account.email",
                "public.account.name",
                "public.account.notification_type",
                "public.account.status",
            ]
        );
    }
}
