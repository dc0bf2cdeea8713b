//! Citus refuses a volatile or stable function (`now()`) inside `CASE` or `COALESCE` in an
//! `UPDATE` of a distributed table, and anywhere in its `RETURNING` clause ("non-IMMUTABLE
//! functions are not allowed in CASE or COALESCE statements"): the time is read first and passed
//! as a parameter instead. The distributed tables are those `deploy/citus/distribute.sql`
//! distributes.

use super::{VOLATILE, literal_end};

/// The recipe, whose `create_distributed_table` lines name the distributed tables.
const RECIPE: &str = include_str!("../../../deploy/citus/distribute.sql");

/// The tables the recipe distributes, lower case.
fn distributed_tables() -> Vec<String> {
    let marker = "create_distributed_table('";
    let lower = RECIPE.to_ascii_lowercase();
    let names = lower.match_indices(marker).map(|(at, _)| {
        let name = &lower[at + marker.len()..];
        name[..name.find('\'').unwrap_or(0)].to_owned()
    });
    names.collect()
}

/// The end of the `CASE` (its `END`) or `COALESCE(...)` (its closing parenthesis) opening
/// `text`, or the end of `text`.
fn expression_end(text: &str) -> usize {
    if text.starts_with("case") {
        let mut depth = 0;
        for (at, word) in text
            .split_inclusive(|c: char| !c.is_alphanumeric() && c != '_')
            .scan(0, |offset, word| {
                let at = *offset;
                *offset += word.len();
                Some((
                    at,
                    word.trim_end_matches(|c: char| !c.is_alphanumeric() && c != '_'),
                ))
            })
        {
            match word {
                "case" => depth += 1,
                "end" if depth == 1 => return at + 3,
                "end" => depth -= 1,
                _ => {}
            }
        }
        return text.len();
    }
    let mut depth = 0;
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' if depth == 1 => return at + 1,
            ')' => depth -= 1,
            _ => {}
        }
    }
    text.len()
}

/// The volatile functions `source` calls inside `CASE`/`COALESCE` or in `RETURNING` of an
/// `UPDATE` of one of `tables`.
fn refused_in_updates(source: &str, tables: &[String]) -> Vec<&'static str> {
    let lower = source.to_ascii_lowercase();
    let mut found = Vec::new();
    for (at, _) in lower.match_indices("update ") {
        let rest = &lower[at + "update ".len()..];
        let table: String = (rest.chars())
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !tables.contains(&table) {
            continue;
        }
        let statement = &rest[..literal_end(rest)];
        let mut spans = Vec::new();
        for opening in ["case ", "case\n", "coalesce("] {
            for (start, _) in statement.match_indices(opening) {
                let inner = &statement[start..];
                spans.push(&inner[..expression_end(inner)]);
            }
        }
        if let Some(start) = statement.find("returning") {
            spans.push(&statement[start..]);
        }
        found.extend(
            VOLATILE
                .iter()
                .filter(|f| spans.iter().any(|s| s.contains(*f))),
        );
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recipe_names_the_customer_tables_as_distributed() {
        let tables = distributed_tables();
        for table in [
            "customers",
            "subscriptions",
            "subscription_add_ons",
            "upgrades",
        ] {
            assert!(tables.iter().any(|t| t == table), "{table}: {tables:?}");
        }
        assert!(
            !tables.iter().any(|t| t == "webhook_deliveries"),
            "{tables:?}"
        );
    }

    #[test]
    fn the_check_finds_now_inside_case_or_coalesce_or_returning_of_a_distributed_update() {
        let tables = vec!["t".to_owned()];
        let bad = r#"query!("UPDATE t SET a = CASE WHEN $1 = 'x' THEN coalesce(a, now()) END
            WHERE id = $2", x); query!("UPDATE t SET b = coalesce(b, clock_timestamp())");
            query!("UPDATE t SET b = $1 RETURNING b < now() AS late")"#;
        assert_eq!(
            refused_in_updates(bad, &tables),
            ["now(", "clock_timestamp(", "now("]
        );
        let aliased = r##"query!(r#"UPDATE t SET b = $1 RETURNING b AS "b: B", now() AS at"#)"##;
        assert_eq!(refused_in_updates(aliased, &tables), ["now("]);
        let good = r#"query!("UPDATE t SET a = CASE WHEN $1 = 'x' THEN coalesce(a, $3) END,
            b = now(), c = CASE WHEN d THEN 1 END WHERE id = $2 AND e < now() RETURNING a");
            query!("UPDATE local SET a = coalesce(a, now()) RETURNING now()")"#;
        assert!(refused_in_updates(good, &tables).is_empty());
    }

    /// Every SQL statement of the service's persistence layer.
    #[test]
    fn no_update_of_a_distributed_table_calls_a_volatile_function_where_citus_refuses_it() {
        let tables = distributed_tables();
        let sources = super::super::sources("src/db");
        for (path, source) in &sources {
            let found = refused_in_updates(source, &tables);
            assert!(found.is_empty(), "{}: {found:?}", path.display());
        }
        assert!(sources.len() > 10, "the db module's files were read");
    }
}
