//! The schema stays distributable by customer (docs/distributed.md): every table that
//! holds a customer's data has `customer_id` in its primary key and in every unique constraint
//! or index, and every foreign key between such tables includes it, which is what Citus needs to
//! hash-distribute them on `customer_id` and co-locate them with `customers` (distributed on
//! `id`). The partner-scoped tables named here stay on the coordinator.

use std::collections::BTreeSet;

use sqlx::PgPool;

use crate::helpers::spawn_app;

/// Tables with a `customer_id` column that belong to a partner, not to one customer: a job's
/// items name customers without belonging to them, and the webhook outbox is written with the
/// partner's endpoints. Both stay on the coordinator (docs/distributed.md).
const PARTNER_SCOPED: [&str; 2] = ["upgrade_job_items", "webhook_events"];

/// Keys (primary, unique, unique indexes) and foreign keys of the public tables.
#[derive(Debug, sqlx::FromRow)]
struct Key {
    table: String,
    name: String,
    kind: String,
    columns: Vec<String>,
    referenced: Option<String>,
    referenced_columns: Vec<String>,
}

async fn keys(pool: &PgPool) -> Vec<Key> {
    sqlx::query_as(
        "SELECT c.conrelid::regclass::text AS table, c.conname::text AS name, c.contype::text AS kind,
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) k
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k) AS columns,
                CASE WHEN c.confrelid <> 0 THEN c.confrelid::regclass::text END AS referenced,
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) k
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k)
                    AS referenced_columns
           FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
          WHERE n.nspname = 'public' AND c.contype IN ('p', 'u', 'f')
         UNION ALL
         SELECT i.indrelid::regclass::text, i.indexrelid::regclass::text, 'i',
                ARRAY(SELECT a.attname::text FROM unnest(i.indkey) k
                        JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k),
                NULL, '{}'
           FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
           JOIN pg_namespace n ON n.oid = t.relnamespace
          WHERE n.nspname = 'public' AND i.indisunique AND NOT i.indisprimary
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
    )
    .fetch_all(pool)
    .await
    .expect("the catalog query runs")
}

async fn customer_tables(pool: &PgPool) -> BTreeSet<String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.columns
          WHERE table_schema = 'public' AND column_name = 'customer_id'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    tables
        .into_iter()
        .filter(|t| !PARTNER_SCOPED.contains(&t.as_str()))
        .collect()
}

#[tokio::test]
async fn every_customer_table_keys_and_references_by_customer() {
    let app = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    // A table keyed without the customer, to prove the check sees one.
    sqlx::query(
        "CREATE TABLE probe_not_by_customer (customer_id uuid NOT NULL, id uuid PRIMARY KEY)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let tables = customer_tables(&pool).await;
    let keys = keys(&pool).await;
    pool.close().await;
    assert!(tables.len() >= 10, "{tables:?}");

    let distributed = |table: &str| table == "customers" || tables.contains(table);
    let key_of = |table: &str| {
        if table == "customers" {
            "id"
        } else {
            "customer_id"
        }
    };
    let mut broken = Vec::new();
    for key in &keys {
        if !distributed(&key.table) {
            continue;
        }
        let column = key_of(&key.table).to_owned();
        match key.kind.as_str() {
            "p" | "u" | "i" if !key.columns.contains(&column) => {
                broken.push(format!(
                    "{} {}: {:?} lacks {column}",
                    key.table, key.name, key.columns
                ));
            }
            "f" => {
                let referenced = key.referenced.as_deref().unwrap_or_default();
                if !distributed(referenced) {
                    continue;
                }
                let at = key.columns.iter().position(|c| *c == column);
                let pairs = at.map(|at| key.referenced_columns[at].as_str());
                if pairs != Some(key_of(referenced)) {
                    broken.push(format!(
                        "{} {}: {:?} -> {referenced} {:?} does not pair {column} with {}",
                        key.table,
                        key.name,
                        key.columns,
                        key.referenced_columns,
                        key_of(referenced)
                    ));
                }
            }
            _ => {}
        }
    }
    for table in &tables {
        assert!(
            keys.iter().any(|k| k.table == *table && k.kind == "p"),
            "{table} has a primary key"
        );
    }
    let (probe, broken): (Vec<String>, Vec<String>) = broken
        .into_iter()
        .partition(|b| b.starts_with("probe_not_by_customer "));
    assert_eq!(
        probe.len(),
        1,
        "the probe's primary key is reported: {probe:?}"
    );
    assert!(
        broken.is_empty(),
        "not distributable by customer: {broken:#?}"
    );
}

/// The Citus recipe (`deploy/citus/distribute.sql`) distributes every customer table, and only
/// those, co-located with `customers` (and `customer_facts`): a new customer table the recipe
/// forgot would stay on the coordinator and refuse its foreign keys there.
#[tokio::test]
async fn the_citus_recipe_distributes_every_customer_table() {
    let app = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let mut tables = customer_tables(&pool).await;
    pool.close().await;
    tables.insert("customers".to_owned());
    let recipe = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/citus/distribute.sql"),
    )
    .expect("the recipe");
    let distributed: BTreeSet<String> = recipe
        .lines()
        .filter_map(|line| line.strip_prefix("SELECT create_distributed_table('"))
        .filter_map(|rest| rest.split_once('\''))
        .map(|(table, _)| table.to_owned())
        .collect();
    assert_eq!(distributed, tables);
    let not_colocated = recipe
        .lines()
        .filter(|line| line.starts_with("SELECT create_distributed_table("))
        .filter(|line| !line.contains("colocate_with => 'customers'"))
        .collect::<Vec<_>>();
    // customer_facts comes first (the triggers that copying rows fires write it), customers
    // joins its group, and every other table joins customers'.
    assert_eq!(
        not_colocated,
        [
            "SELECT create_distributed_table('customer_facts', 'customer_id');",
            "SELECT create_distributed_table('customers', 'id', colocate_with => 'customer_facts');",
        ]
    );
}

/// On a distributed Postgres an error names the shard's copy of a constraint, `<name>_<shard
/// id>`, and the service takes a trailing `_<digits>` off before mapping the name to an answer:
/// so no constraint or index of ours may end in one.
#[tokio::test]
async fn no_constraint_or_index_name_ends_in_digits() {
    let app = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.conname::text FROM pg_constraint c
           JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public'
         UNION
         SELECT indexname::text FROM pg_indexes WHERE schemaname = 'public'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert!(names.len() > 50, "{names:?}");
    let suffixed: Vec<&String> = names
        .iter()
        .filter(|name| {
            name.rsplit_once('_').is_some_and(|(_, tail)| {
                !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit())
            })
        })
        .collect();
    assert!(suffixed.is_empty(), "{suffixed:?}");
}

/// A customer's stored facts of several kilobytes stay in `customer_facts`'s own row, compressed,
/// and so does the partners array that every read checks, even when the compressed value still
/// makes a long row (migration `20261215090000`): a read is one heap tuple, no TOAST fetch.
#[tokio::test]
async fn large_stored_facts_stay_in_the_row_compressed() {
    let app = spawn_app().await;
    let pool = PgPool::connect(app.database_url()).await.unwrap();
    let (customer, partner) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    // 3,200 bytes that do not compress, then 6,000 that do: about 3.2 kB once compressed.
    let (random, zeros) = (3_200, 6_000);
    sqlx::query(
        "INSERT INTO customer_facts (customer_id, market_code, partners, facts)
         SELECT $1, 'US', ARRAY[$2::uuid],
                int4send(1) || string_agg(decode(md5(i::text), 'hex'), ''::bytea ORDER BY i)
                            || decode(repeat('00', $4), 'hex')
           FROM generate_series(1, $3 / 16) i",
    )
    .bind(customer)
    .bind(partner)
    .bind(random)
    .bind(zeros)
    .execute(&pool)
    .await
    .unwrap();
    let (compression, stored, octets, toasted): (Option<String>, i32, i32, i64) = sqlx::query_as(
        "SELECT pg_column_compression(f.facts), pg_column_size(f.facts), octet_length(f.facts),
                pg_relation_size(c.reltoastrelid)
           FROM customer_facts f, pg_class c
          WHERE f.customer_id = $1 AND c.oid = 'customer_facts'::regclass",
    )
    .bind(customer)
    .fetch_one(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(octets, 4 + random + zeros);
    assert_eq!(compression.as_deref(), Some("lz4"));
    assert!(stored < octets / 2, "{stored} bytes stored of {octets}");
    assert_eq!(toasted, 0, "a value went out of line");
}
