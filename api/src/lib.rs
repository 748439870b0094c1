//! The `lumbung` server: HTTP (axum), the GraphQL schema (async-graphql) and start-up.

pub mod connections;
pub mod console;
pub mod exports;
pub mod graphql;
pub mod http;
pub mod live_socket;
pub mod startup;
pub mod state;
pub mod telemetry;

#[cfg(test)]
mod boundaries {
    use std::path::Path;

    /// Every `.rs` file under `dir`, with its text.
    fn sources(dir: &Path, found: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).expect("read the api sources") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("read a source file");
                found.push((path.display().to_string(), text));
            }
        }
    }

    /// The API serves read models: it never sees how rows are stored (sea-orm entities, `_e4` fixed-point columns),
    /// so a storage change cannot leak into the schema and no secret column can reach a resolver.
    #[test]
    fn the_api_never_touches_storage_types() {
        let mut found = Vec::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut found);
        assert!(found.len() > 10, "the api sources were not found");
        let offending: Vec<&str> = found
            .iter()
            .filter(|(_, text)| {
                ["infra::entities", "entities::{", "fixed_point", "_e4"].iter().any(|n| text.contains(n))
            })
            .map(|(path, _)| path.as_str())
            .filter(|path| !path.ends_with("lib.rs"))
            .collect();
        assert!(offending.is_empty(), "storage types used in {offending:?}");
    }
}
