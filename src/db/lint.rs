//! Static checks of the SQL in this module, for a distributed Postgres (Citus): no `ON CONFLICT
//! ... DO UPDATE` calls a volatile function (Citus refuses them on distributed tables; the
//! inserted row's values, `EXCLUDED.*`, serve instead); and every transaction of the service
//! begins with `db::begin`, which takes its settings to the workers.

mod update;

/// Functions whose value changes between calls or rows.
const VOLATILE: [&str; 8] = [
    "now(",
    "clock_timestamp(",
    "statement_timestamp(",
    "transaction_timestamp(",
    "current_timestamp",
    "timeofday(",
    "random(",
    "gen_random_uuid(",
];

/// The Rust sources under `dir` (relative to the crate), each with its text, but the lints' own,
/// whose examples break the rules on purpose.
#[cfg(test)]
fn sources(dir: &str) -> Vec<(std::path::PathBuf, String)> {
    let crate_root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let lints = crate_root.join("src/db/lint");
    let mut pending = vec![crate_root.join(dir)];
    let mut found = Vec::new();
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if path.extension().is_some_and(|e| e == "rs")
            && !path.ends_with("lint.rs")
            && !path.starts_with(&lints)
        {
            let text = std::fs::read_to_string(&path).unwrap();
            found.push((path, text));
        }
    }
    found
}

/// The volatile functions called in the `DO UPDATE` clauses of `source`'s SQL: from each `DO
/// UPDATE` to the end of its string literal (a quote closing it: followed by `#`, `,`, `)` or a
/// line end; quoted identifiers inside the SQL are followed by other characters). A `DO UPDATE`
/// named in a comment is not SQL, and what follows it is not checked from there.
fn volatile_in_do_update(source: &str) -> Vec<&'static str> {
    let lower = source.to_ascii_lowercase();
    let mut found = Vec::new();
    for (at, _) in lower.match_indices("do update") {
        let line_start = lower[..at].rfind('\n').map_or(0, |i| i + 1);
        if lower[line_start..at].trim_start().starts_with("//") {
            continue;
        }
        let rest = &lower[at..];
        let end = literal_end(rest);
        found.extend(VOLATILE.iter().filter(|f| rest[..end].contains(*f)));
    }
    found
}

/// Where the string literal `rest` is in ends: the first unescaped quote followed by `#`, `,`,
/// `)` or a line end that does not close a quoted alias (`AS "id!"`); or the end of `rest`.
fn literal_end(rest: &str) -> usize {
    let bytes = rest.as_bytes();
    let mut in_alias = false;
    for (at, _) in rest.match_indices('"') {
        if at > 0 && bytes[at - 1] == b'\\' {
            continue;
        }
        if in_alias {
            in_alias = false;
        } else if rest[..at].ends_with("as ") {
            in_alias = true;
        } else if matches!(bytes.get(at + 1), None | Some(b'#' | b',' | b')' | b'\n')) {
            return at;
        }
    }
    rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_check_finds_a_volatile_function_in_a_do_update_clause() {
        let bad = r#"sqlx::query!("INSERT INTO t (a) VALUES (now()) ON CONFLICT (a) DO UPDATE
            SET b = now(), \"c\" = 1 WHERE t.c <= clock_timestamp()", x)"#;
        assert_eq!(volatile_in_do_update(bad), ["now(", "clock_timestamp("]);
        let commented = "/// see `ON CONFLICT ... DO UPDATE`: no quote here\n\
            sqlx::query!(\"INSERT INTO t (a) VALUES (now())\", x)";
        assert!(volatile_in_do_update(commented).is_empty());
        let good = r#"sqlx::query!("INSERT INTO t (a, b) VALUES ($1, now()) ON CONFLICT (a) DO UPDATE
            SET b = EXCLUDED.b WHERE t.b <= EXCLUDED.b"); let later = "now()";"#;
        assert!(volatile_in_do_update(good).is_empty());
    }

    /// Every SQL statement of the service's persistence layer.
    #[test]
    fn no_do_update_clause_calls_a_volatile_function() {
        let sources = super::sources("src/db");
        for (path, source) in &sources {
            let found = volatile_in_do_update(source);
            assert!(found.is_empty(), "{}: {found:?}", path.display());
        }
        assert!(sources.len() > 10, "the db module's files were read");
    }

    /// A transaction begun otherwise would wait for a worker's row lock without the service's
    /// `lock_timeout`, and its `SET LOCAL`s would stay on the coordinator.
    #[test]
    fn every_transaction_begins_with_db_begin() {
        for (path, source) in super::sources("src") {
            for banned in [".begin()", ".try_begin()", "Connection::begin("] {
                assert!(!source.contains(banned), "{}: {banned}", path.display());
            }
        }
    }
}
