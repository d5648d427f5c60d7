//! Every broken variant of the reference server, by family: one file per catalogue file, named
//! after it (the fault a check names in its `fault` field is in the file of the check's first id
//! segment), plus `transport` (answers that never come, are cut, reset or oversized), registered
//! once in [`FAMILIES`]; `tests/check_faults_table.in` holds each fault's outcome.

pub mod brute_force;
pub mod create_browser;
pub mod create_native;
pub mod csrf;
pub mod default;
pub mod enumeration;
pub mod expiry;
pub mod fuzz;
pub mod get_flow;
pub mod native_context;
pub mod pinned;
pub mod preflight;
pub mod race;
pub mod recover;
pub mod transport;
pub mod update;

use crate::testing::model::Fault;

/// Every family, in catalogue order: its name and its faults. A new family is a module above
/// and one entry here (a test holds the two and the directory to each other).
pub const FAMILIES: &[(&str, &[Fault])] = &[
    ("preflight", preflight::FAULTS),
    ("create_native", create_native::FAULTS),
    ("get_flow", get_flow::FAULTS),
    ("create_browser", create_browser::FAULTS),
    ("update", update::FAULTS),
    ("csrf", csrf::FAULTS),
    ("native_context", native_context::FAULTS),
    ("brute_force", brute_force::FAULTS),
    ("recover", recover::FAULTS),
    ("enumeration", enumeration::FAULTS),
    ("race", race::FAULTS),
    ("expiry", expiry::FAULTS),
    ("pinned", pinned::FAULTS),
    ("default", default::FAULTS),
    ("fuzz", fuzz::FAULTS),
    ("transport", transport::FAULTS),
];

/// Every fault, family by family.
pub fn all() -> impl Iterator<Item = &'static Fault> {
    FAMILIES.iter().flat_map(|(_, faults)| faults.iter())
}

/// The fault named `name`.
pub fn fault(name: &str) -> Option<&'static Fault> {
    all().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_file_is_registered_once() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/testing/faults");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("the faults directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
            .filter(|n| n != "mod")
            .collect();
        files.sort();
        let mut registered: Vec<String> = FAMILIES.iter().map(|(n, _)| (*n).to_owned()).collect();
        registered.sort();
        assert_eq!(files, registered);
        let mut names: Vec<&str> = all().map(|f| f.name).collect();
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count, "a fault name is used twice");
    }
}
