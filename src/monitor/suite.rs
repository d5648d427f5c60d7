//! Which checks `monitor` runs: the catalogue's production-safe ones
//! ([`catalogue::production_safe`]: they create flows at most, no mail sent, no code used, no
//! identity changed; with `--fuzz-cases`, the safe fuzz checks too), minus those whose input the
//! configuration lacks, so that no check of the suite is skipped run after run. The selection is
//! closed under prerequisites: a safe check never pulls an unsafe one into a run.

use super::error::MonitorError;
use crate::check::catalogue;
use crate::check::{Check, Needs, RunConfig};

/// The suite of a monitor: the safe checks that `config` can run, and one note per group left
/// out for want of an input (said once at start, not as a skip in every run).
#[derive(Debug, Clone)]
pub struct Suite {
    /// The checks, in catalogue order.
    pub checks: Vec<&'static Check>,
    /// Why some safe checks are not run (`--session-token` missing, fuzzing off).
    pub left_out: Vec<String>,
}

impl Suite {
    /// The safe checks `config` has every input for. Fails when the selection would need a check
    /// outside it (a prerequisite that is not safe), so a catalogue change cannot make `monitor`
    /// run a check that sends mail.
    pub fn for_config(config: &RunConfig) -> Result<Suite, MonitorError> {
        let mut checks = Vec::new();
        let mut missing = Vec::new();
        let safe = if config.fuzz_cases > 0 {
            catalogue::production_safe_with_fuzz()
        } else {
            catalogue::production_safe()
        };
        for check in safe {
            let unmet = match check.needs {
                Needs::SessionToken if config.credentials.session_token.is_none() => {
                    Some("--session-token")
                }
                Needs::SessionCookie if config.credentials.session_cookie.is_none() => {
                    Some("--session-cookie")
                }
                Needs::FuzzCases if config.fuzz_cases == 0 => Some("--fuzz-cases"),
                _ => None,
            };
            match unmet {
                Some(flag) => missing.push((flag, check.id)),
                None => checks.push(check),
            }
        }
        let mut left_out = Vec::new();
        for flag in ["--session-token", "--session-cookie", "--fuzz-cases"] {
            let ids: Vec<&str> = missing
                .iter()
                .filter(|(f, _)| *f == flag)
                .map(|(_, id)| *id)
                .collect();
            if !ids.is_empty() {
                left_out.push(format!("not run without {flag}: {}", ids.join(", ")));
            }
        }
        let ids: Vec<String> = checks.iter().map(|c| c.id.to_owned()).collect();
        let selected = catalogue::select(&ids, &[])?;
        if let Some(extra) = selected.iter().find(|c| !ids.iter().any(|id| id == c.id)) {
            return Err(MonitorError::UnsafePrerequisite { check: extra.id });
        }
        Ok(Suite { checks, left_out })
    }

    /// The ids.
    pub fn ids(&self) -> Vec<String> {
        self.checks.iter().map(|c| c.id.to_owned()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::check::CheckArgs;

    fn config(token: bool, cookie: bool, fuzz: u32) -> RunConfig {
        let mut cfg = CheckArgs {
            target: Some("http://127.0.0.1:1".to_owned()),
            fuzz_cases: fuzz,
            ..CheckArgs::default()
        }
        .config()
        .expect("valid");
        cfg.credentials.session_token = token.then(|| "tok-123456789".into());
        cfg.credentials.session_cookie = cookie.then(|| crate::check::SessionCookie {
            name: "ory_kratos_session".to_owned(),
            value: "abc".into(),
        });
        cfg
    }

    #[test]
    fn every_check_of_any_suite_creates_flows_at_most() {
        let suite = Suite::for_config(&config(true, true, 8)).expect("a suite");
        for c in &suite.checks {
            assert!(c.production_safe(), "{} is in the suite", c.id);
            assert!(
                c.effects
                    .iter()
                    .all(|e| *e == crate::report::Effect::CreatesFlows),
                "{}",
                c.id
            );
        }
        let ids = suite.ids();
        for unsafe_prefix in [
            "update.email",
            "update.wrong_code",
            "recover",
            "brute_force",
            "enumeration",
            "expiry",
            "fuzz.update",
        ] {
            assert!(
                !ids.iter().any(|id| catalogue::matches(unsafe_prefix, id)),
                "{unsafe_prefix}: {ids:?}"
            );
        }
        assert!(ids.iter().any(|id| id == "preflight.recovery_enabled"));
        assert!(ids.iter().any(|id| id == "default.undeclared_path"));
    }

    #[test]
    fn the_suite_is_closed_under_prerequisites_whatever_the_inputs() {
        for (token, cookie, fuzz) in [
            (false, false, 0),
            (true, false, 0),
            (false, true, 0),
            (true, true, 8),
        ] {
            let suite = Suite::for_config(&config(token, cookie, fuzz)).expect("a suite");
            let selected = catalogue::select(&suite.ids(), &[]).expect("selects");
            assert_eq!(selected.len(), suite.checks.len());
        }
    }

    #[test]
    fn checks_without_their_input_are_left_out_and_said_once() {
        let bare = Suite::for_config(&config(false, false, 0)).expect("a suite");
        assert!(
            bare.checks.iter().all(|c| c.needs == Needs::Nothing),
            "{:?}",
            bare.ids()
        );
        // Without --fuzz-cases the fuzz checks are not candidates: nothing to say about them.
        assert_eq!(bare.left_out.len(), 2, "{:?}", bare.left_out);
        assert!(bare.left_out[0].contains("create_native.signed_in.token.400"));
        let full = Suite::for_config(&config(true, true, 4)).expect("a suite");
        assert!(full.left_out.is_empty(), "{:?}", full.left_out);
        assert!(full.ids().iter().any(|id| id == "fuzz.get_flow"));
        assert!(full
            .ids()
            .iter()
            .any(|id| id == "create_native.signed_in.cookie.400"));
    }
}
