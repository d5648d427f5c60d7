//! Every broken variant of the reference server, by family: one file per catalogue file, named
//! after it (the fault a check names in its `fault` field is in the file of the check's first id
//! segment), plus `transport` (answers that never come, are cut, reset or oversized). A new family
//! is one more name in `families!` below; `tests/check_faults_table.in` holds each fault's
//! outcome.

use crate::testing::model::Fault;

/// Declares each family once: its module and its place in [`FAMILIES`].
macro_rules! families {
    ($($family:ident),+ $(,)?) => {
        $(pub mod $family;)+

        /// Every family, in catalogue order: its name and its faults.
        pub const FAMILIES: &[(&str, &[Fault])] = &[$((stringify!($family), $family::FAULTS)),+];
    };
}

families! {
    preflight,
    create_native,
    get_flow,
    create_browser,
    update,
    csrf,
    native_context,
    brute_force,
    recover,
    enumeration,
    race,
    expiry,
    pinned,
    default,
    fuzz,
    transport,
}

/// Every fault, family by family.
pub fn all() -> impl Iterator<Item = &'static Fault> {
    FAMILIES.iter().flat_map(|(_, faults)| faults.iter())
}

/// The fault named `name`.
pub fn fault(name: &str) -> Option<&'static Fault> {
    all().find(|f| f.name == name)
}
