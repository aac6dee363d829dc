//! Values chosen by name on the command line (backends, steps): one parser for all of them.

/// The value of `all` whose `name` is `text`, or an error listing the choices.
pub fn parse<T: Copy>(
    text: &str,
    all: &[T],
    name: fn(T) -> &'static str,
    noun: &str,
) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|value| name(*value) == text)
        .ok_or_else(|| {
            let choices: Vec<&str> = all.iter().map(|value| name(*value)).collect();
            format!(
                "unknown {noun} `{text}`; choose one of: {}",
                choices.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_wrong_name_lists_the_choices() {
        let all = [1u8, 2];
        let name = |value: u8| if value == 1 { "one" } else { "two" };
        assert_eq!(super::parse("two", &all, name, "number"), Ok(2));
        assert_eq!(
            super::parse("three", &all, name, "number"),
            Err("unknown number `three`; choose one of: one, two".to_string())
        );
    }
}
