//! The check catalogue: the list of every [`Check`], in report order, and the choice from it
//! (`--only`, `--skip`, prerequisites, [`production_safe`]). The first segment of a check's id
//! names the file that defines it (`create_native.signed_in.token.400` is in `create_native.rs`).
//!
//! Adding a check is one declaration plus its proving fault:
//! 1. a [`Check`] struct literal in that file's `CHECKS` (every field named, none defaulted: the
//!    level, the effects and the proving fault cannot be left out) and its judging function,
//!    built from [`crate::check::judge`] (the helpers, and the declarative rules of
//!    [`judge!`](crate::check::judge::judge)) over the shared exchanges of
//!    [`crate::check::probes`] (a new one is one entry of its `probes!`) and the scenarios of
//!    [`crate::check::security_probes`];
//! 2. the broken variant of the reference server that its `fault` names, in `src/testing/`
//!    (keyed on what requests are, never on the probe header), and that variant's row in
//!    `tests/check_faults_table.in`: the run's whole outcome against it
//!    (when it differs, `RECOVERY_HARNESS_WRITE_FAULT_TABLE=FILE cargo test --test check_faults`
//!    writes the whole table as the runs gave it, to review and copy).
//!
//! A new catalogue file is its module and one entry of [`FILES`] (the one list of files).
//!
//! A check's [`effects`](Check::effects) count every exchange it reads, as sent to a deployment
//! that keeps the rule: a submitted address that is processed sends mail, a right code is used
//! up and changes the identity. `tests/check_effects.rs` runs each check alone against the
//! reference server and holds it to them (no effect undeclared, none declared in vain), and runs
//! [`production_safe`] to prove that its courier got nothing and no code was submitted.
//!
//! ```
//! use recovery_harness::check::judge::exchange;
//! use recovery_harness::check::model::{Check, Judged, Needs, Operation, Phase, Verdict};
//! use recovery_harness::check::probes::{Ctx, Probe};
//! use recovery_harness::report::{Effect, Level, RuleSource};
//!
//! const EXAMPLE: Check = Check {
//!     id: "create_native.example",
//!     title: "An example",
//!     operation: Operation::CreateNative,
//!     rule: "GET /self-service/recovery/api answers",
//!     source: RuleSource::ObservedKratos,
//!     level: Level::Recommended,
//!     effects: &[Effect::CreatesFlows],
//!     requires: &["preflight.recovery_enabled"],
//!     needs: Needs::Nothing,
//!     phase: Phase::Main,
//!     judge: example,
//!     fault: "create_native_500",
//! };
//!
//! fn example(ctx: &Ctx) -> Judged<'_> {
//!     Box::pin(async move {
//!         let ex = exchange(ctx, Probe::CreateNative).await?;
//!         Ok(Verdict::pass(format!("answered {}", ex.describe())))
//!     })
//! }
//! # assert!(EXAMPLE.production_safe());
//! ```

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
pub mod update;

use super::error::CheckError;
use super::model::{Check, Needs};

/// Every catalogue file, in report order: its name (the first segment of its checks' ids)
/// and its checks. A new file is a module above and one entry here (a test holds the two and
/// the directory to each other).
pub const FILES: &[(&str, &[Check])] = &[
    ("preflight", preflight::CHECKS),
    ("create_native", create_native::CHECKS),
    ("get_flow", get_flow::CHECKS),
    ("create_browser", create_browser::CHECKS),
    ("update", update::CHECKS),
    ("csrf", csrf::CHECKS),
    ("native_context", native_context::CHECKS),
    ("brute_force", brute_force::CHECKS),
    ("recover", recover::CHECKS),
    ("enumeration", enumeration::CHECKS),
    ("race", race::CHECKS),
    ("expiry", expiry::CHECKS),
    ("pinned", pinned::CHECKS),
    ("default", default::CHECKS),
    ("fuzz", fuzz::CHECKS),
];

/// Every check, in catalogue (and report) order.
pub fn all() -> impl Iterator<Item = &'static Check> {
    FILES.iter().flat_map(|(_, checks)| checks.iter())
}

/// The checks `monitor` may run, in catalogue order: those that create flows at most (no mail
/// sent, no code used, no identity changed, no wait for expiry), fuzzing left out. They are
/// creation, fetching, the error forms, the signed-in refusals (skipped without a session), the
/// CSRF protection of browser and native flows, and the undeclared method and path. Every
/// prerequisite of one of them is one of them, so running this selection pulls in nothing else.
///
/// The CSRF and native-context checks submit `--email` to a flow and expect the submission to be
/// refused: keep it an address without identity (the default), so that a deployment that breaks
/// those rules still sends no mail.
pub fn production_safe() -> Vec<&'static Check> {
    all()
        .filter(|c| c.production_safe() && c.needs != Needs::FuzzCases)
        .collect()
}

/// [`production_safe`] with the fuzz checks whose generated requests are safe too (creation and
/// lookup; generated submissions may carry a known address, so `fuzz.update` stays out). They
/// run only with `--fuzz-cases` above 0.
pub fn production_safe_with_fuzz() -> Vec<&'static Check> {
    all().filter(|c| c.production_safe()).collect()
}

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    all().find(|c| c.id == id)
}

/// Whether `id` matches an `--only` pattern: a glob with `*`, or a prefix at a dot boundary.
pub fn matches(pattern: &str, id: &str) -> bool {
    if pattern.contains('*') {
        glob(pattern.as_bytes(), id.as_bytes())
    } else {
        id == pattern
            || id
                .strip_prefix(pattern)
                .is_some_and(|rest| rest.starts_with('.'))
    }
}

fn glob(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => glob(&p[1..], s) || (!s.is_empty() && glob(p, &s[1..])),
        (Some(a), Some(b)) if a == b => glob(&p[1..], &s[1..]),
        _ => false,
    }
}

/// The checks selected by `--only` (all when empty) plus their prerequisites, minus those
/// matched by `--skip`, in catalogue order. A `--skip` pattern that matches no id is an error
/// (a typo would otherwise silently run everything).
pub fn select(only: &[String], skip: &[String]) -> Result<Vec<&'static Check>, CheckError> {
    for pattern in skip {
        if !all().any(|c| matches(pattern, c.id)) {
            return Err(CheckError::NothingSkipped {
                pattern: pattern.clone(),
            });
        }
    }
    let kept = |c: &&'static Check| !skip.iter().any(|p| matches(p, c.id));
    let chosen = select_only(only)?;
    let left: Vec<&'static Check> = chosen.into_iter().filter(kept).collect();
    if left.is_empty() {
        return Err(CheckError::NothingSelected {
            pattern: format!(
                "{} minus --skip {}",
                if only.is_empty() {
                    "every check".to_owned()
                } else {
                    only.join(",")
                },
                skip.join(",")
            ),
        });
    }
    Ok(left)
}

fn select_only(only: &[String]) -> Result<Vec<&'static Check>, CheckError> {
    if only.is_empty() {
        return Ok(all().collect());
    }
    let mut wanted: Vec<&'static str> = all()
        .filter(|c| only.iter().any(|p| matches(p, c.id)))
        .map(|c| c.id)
        .collect();
    if wanted.is_empty() {
        return Err(CheckError::NothingSelected {
            pattern: only.join(","),
        });
    }
    let mut i = 0;
    while i < wanted.len() {
        if let Some(check) = by_id(wanted[i]) {
            for dep in check.requires {
                if !wanted.contains(dep) {
                    wanted.push(dep);
                }
            }
        }
        i += 1;
    }
    Ok(all().filter(|c| wanted.contains(&c.id)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Effect;

    #[test]
    fn only_patterns_match_prefixes_and_globs() {
        assert!(matches("create_native", "create_native.200"));
        assert!(matches(
            "create_native.signed_in",
            "create_native.signed_in.token.400"
        ));
        assert!(!matches(
            "create_native.sign",
            "create_native.signed_in.token.400"
        ));
        assert!(matches("*.400", "create_native.signed_in.token.400"));
        assert!(matches("update.*.schema", "update.email.schema"));
        assert!(!matches("update.*.schema", "update.email.200"));
    }

    #[test]
    fn selection_adds_prerequisites() {
        let picked = select(&["update.wrong_code.message".to_owned()], &[]).expect("selects");
        let ids: Vec<&str> = picked.iter().map(|c| c.id).collect();
        assert!(ids.contains(&"update.wrong_code.message"));
        assert!(ids.contains(&"update.email.state"), "{ids:?}");
        assert!(ids.contains(&"preflight.recovery_enabled"), "{ids:?}");
        assert!(select(&["nope".to_owned()], &[]).is_err());
    }

    #[test]
    fn skip_mirrors_only() {
        let all_count = all().count();
        let picked = select(&[], &["fuzz".to_owned(), "*.400".to_owned()]).expect("selects");
        assert!(picked
            .iter()
            .all(|c| !c.id.starts_with("fuzz.") && !c.id.ends_with(".400")));
        assert!(picked.len() < all_count);
        // A prerequisite left out is left out, even when a selected check needs it.
        let picked =
            select(&["update.email".to_owned()], &["preflight".to_owned()]).expect("selects");
        assert!(picked.iter().all(|c| c.id != "preflight.recovery_enabled"));
        assert!(select(&[], &["nope".to_owned()]).is_err());
        assert!(select(
            &["fuzz".to_owned()],
            &["fuzz".to_owned(), "preflight".to_owned()]
        )
        .is_err());
    }

    #[test]
    fn production_safe_pulls_in_nothing_unsafe() {
        for (safe, fuzz) in [
            (production_safe(), false),
            (production_safe_with_fuzz(), true),
        ] {
            let ids: Vec<String> = safe.iter().map(|c| c.id.to_owned()).collect();
            // Prerequisites are pulled in by selection: none may be outside the safe set.
            let picked: Vec<&str> = select(&ids, &[])
                .expect("selects")
                .iter()
                .map(|c| c.id)
                .collect();
            assert_eq!(picked, ids, "the selection added prerequisites");
            for c in &safe {
                assert!(
                    c.effects.iter().all(|e| *e == Effect::CreatesFlows),
                    "{} has effects {:?}",
                    c.id,
                    c.effects
                );
                assert!(fuzz || c.needs != Needs::FuzzCases, "{} fuzzes", c.id);
            }
            // What #19 says monitor runs is there; what sends mail or uses a code is not.
            for wanted in [
                "preflight.recovery_enabled",
                "create_native.200",
                "create_native.signed_in.token.400",
                "get_flow.200",
                "get_flow.unknown_id.404",
                "update.missing_email.400",
                "pinned.update.unknown_flow.404",
                "csrf.submit.mismatch.refused",
                "default.undeclared_method",
                "default.undeclared_path",
            ] {
                assert!(ids.iter().any(|i| i == wanted), "{wanted} is missing");
            }
            for unsafe_prefix in [
                "update.email",
                "update.wrong_code",
                "recover",
                "enumeration",
                "brute_force",
                "expiry",
                "fuzz.update",
            ] {
                assert!(
                    !ids.iter().any(|i| matches(unsafe_prefix, i)),
                    "{unsafe_prefix} is not production-safe"
                );
            }
            assert_eq!(
                ids.iter().any(|i| i.starts_with("fuzz.")),
                fuzz,
                "fuzzing only when asked"
            );
        }
    }

    #[test]
    fn every_catalogue_file_is_registered_once() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/check/catalogue");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .expect("the catalogue directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".rs").map(str::to_owned))
            .filter(|n| n != "mod")
            .collect();
        files.sort();
        let mut registered: Vec<String> = FILES.iter().map(|(n, _)| (*n).to_owned()).collect();
        registered.sort();
        assert_eq!(files, registered);
    }

    #[test]
    fn catalogue_is_well_formed() {
        let checks: Vec<&Check> = all().collect();
        for (i, c) in checks.iter().enumerate() {
            assert!(
                checks.iter().filter(|o| o.id == c.id).count() == 1,
                "duplicate id {}",
                c.id
            );
            assert!(
                c.id.split('.').all(|seg| !seg.is_empty()
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')),
                "id {} is not a lowercase dotted id",
                c.id
            );
            // Prerequisites come earlier, so the graph has no cycle.
            for dep in c.requires {
                let pos = checks.iter().position(|o| o.id == *dep);
                assert!(
                    pos.is_some_and(|p| p < i),
                    "{} requires {dep}, which is not earlier",
                    c.id
                );
            }
            assert!(
                !c.title.is_empty() && !c.rule.is_empty(),
                "{} lacks title or rule",
                c.id
            );
        }
        for &(file, list) in FILES {
            for c in list {
                assert_eq!(
                    c.id.split('.').next(),
                    Some(file),
                    "{} is defined in {file}.rs",
                    c.id
                );
            }
        }
    }
}
