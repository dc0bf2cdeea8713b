//! Rebuilds the crate when a migration is added, changed or removed: `sqlx::migrate!()` embeds
//! the `migrations/` folder when the crate compiles, and without this cargo does not look at that
//! folder, so a build after a new migration alone kept the old set and applied none of it.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
