//! Which checks `monitor` runs: those safe for production (they send no mail and change no
//! identity), minus those whose input the configuration lacks, so that no check of the suite is
//! skipped run after run. The selection is closed under prerequisites: a safe check never pulls
//! an unsafe one into a run.

use super::error::MonitorError;
use crate::check::catalogue;
use crate::check::{Check, Needs, RunConfig};

/// The checks of the catalogue that are safe to run against production, in catalogue order.
///
/// The catalogue does not declare its checks' effects yet; until it does, this is the list by
/// id prefix: creation, fetching, error forms, signed-in refusal, CSRF, the native context, the
/// undeclared method and path, and the creation and lookup probes of property-based testing.
/// Left out: every submission of an address that could be delivered (`update.email`,
/// `update.wrong_code`), codes (`recover`, `brute_force`), `enumeration` (a known identity's
/// mail) and `expiry` (it waits for flows to expire).
pub fn production_safe() -> Vec<&'static Check> {
    const SAFE: &[&str] = &[
        "preflight",
        "create_native",
        "get_flow",
        "create_browser",
        "update.missing_email",
        "csrf",
        "native_context",
        "pinned",
        "default",
        "fuzz.create_native",
        "fuzz.get_flow",
    ];
    catalogue::all()
        .filter(|c| SAFE.iter().any(|p| catalogue::matches(p, c.id)))
        .collect()
}

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
        for check in production_safe() {
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

    /// The ids, as the runner's `only` takes them.
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
        cfg.credentials.session_token = token.then(|| "tok-123456789".to_owned());
        cfg.credentials.session_cookie = cookie.then(|| crate::check::SessionCookie {
            name: "ory_kratos_session".to_owned(),
            value: "abc".to_owned(),
        });
        cfg
    }

    #[test]
    fn nothing_that_sends_mail_or_waits_is_safe() {
        let safe = production_safe();
        for c in &safe {
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
                    !catalogue::matches(unsafe_prefix, c.id),
                    "{} is in the safe suite",
                    c.id
                );
            }
        }
        assert!(safe.iter().any(|c| c.id == "preflight.recovery_enabled"));
        assert!(safe.iter().any(|c| c.id == "default.undeclared_path"));
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
        assert_eq!(bare.left_out.len(), 3, "{:?}", bare.left_out);
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
