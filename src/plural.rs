//! Counted nouns in messages: "1 finding opened", never "1 findings opened".

/// `n` and the noun, plural unless `n` is 1 (every noun engineer-sim counts takes an -s).
pub fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::count;

    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(count(0, "finding"), "0 findings");
        assert_eq!(count(1, "finding"), "1 finding");
        assert_eq!(count(2, "problem"), "2 problems");
    }
}
