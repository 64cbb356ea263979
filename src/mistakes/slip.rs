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
