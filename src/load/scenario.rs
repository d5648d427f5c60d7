//! Declarative load scenarios: the TOML files of `scenarios/` (embedded in the binary) or a file a
//! user copied and edited (`--scenario PATH`). This module owns their format, their parsing and
//! every check that can be made before a request is sent; `scenarios/README.md` documents it.

pub use super::error::ScenarioError;
use crate::schema::Component;
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;

/// The scenarios shipped in `scenarios/`, embedded so that the binary works from any directory.
pub const EMBEDDED: &[(&str, &str)] = &[
    (
        "create-native-flow",
        include_str!("../../scenarios/create-native-flow.toml"),
    ),
    (
        "create-and-fetch",
        include_str!("../../scenarios/create-and-fetch.toml"),
    ),
    (
        "full-recovery",
        include_str!("../../scenarios/full-recovery.toml"),
    ),
    (
        "signed-in-rejection",
        include_str!("../../scenarios/signed-in-rejection.toml"),
    ),
];

/// The default `--scenario`.
pub const DEFAULT_SCENARIO: &str = "create-native-flow";

fn embedded_names() -> String {
    EMBEDDED
        .iter()
        .map(|(name, _)| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A scenario file as written (the serde model; checked by [`Scenario::from_file`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScenarioFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    defaults: DefaultsFile,
    #[serde(default)]
    vars: BTreeMap<String, String>,
    steps: Vec<StepFile>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsFile {
    users: Option<usize>,
    ramp: Option<String>,
    hatch_rate: Option<f64>,
    duration: Option<String>,
    #[serde(default)]
    thresholds: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepFile {
    name: String,
    action: Action,
    #[serde(default = "one")]
    weight: usize,
    #[serde(default)]
    credentials: Credentials,
    #[serde(default)]
    expect: Vec<ExpectFile>,
}

fn one() -> usize {
    1
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectFile {
    status: u16,
    schema: Option<String>,
    state: Option<String>,
    error_id: Option<String>,
}

/// What a step does; each action knows its request and its default expectations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// `GET /self-service/recovery/api` (createNativeRecoveryFlow); remembers the flow.
    CreateFlow,
    /// `GET /self-service/recovery/flows?id=` (getRecoveryFlow) of the remembered flow.
    FetchFlow,
    /// `POST /self-service/recovery?flow=` with `{"method":"code","email":...}`.
    SubmitEmail,
    /// `GET {admin}/admin/courier/messages?recipient=`: reads the newest 6-digit code.
    ReadCode,
    /// `POST /self-service/recovery?flow=` with `{"method":"code","code":...}`.
    SubmitCode,
}

impl Action {
    /// The action's name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Action::CreateFlow => "create-flow",
            Action::FetchFlow => "fetch-flow",
            Action::SubmitEmail => "submit-email",
            Action::ReadCode => "read-code",
            Action::SubmitCode => "submit-code",
        }
    }

    /// The HTTP method, as Goose names requests (`GET create flow`).
    pub fn method(self) -> &'static str {
        match self {
            Action::CreateFlow | Action::FetchFlow | Action::ReadCode => "GET",
            Action::SubmitEmail | Action::SubmitCode => "POST",
        }
    }

    /// What the target must answer when the step does not say otherwise (Kratos's defaults,
    /// see docs/kratos-behaviour.md §2, §4, §5.4).
    fn default_expect(self) -> Vec<Expect> {
        let flow = |state: Option<&str>| Expect {
            status: 200,
            schema: Some(Component::RecoveryFlow),
            state: state.map(str::to_owned),
            error_id: None,
        };
        match self {
            Action::CreateFlow => vec![flow(Some("choose_method"))],
            Action::FetchFlow => vec![flow(None)],
            Action::SubmitEmail => vec![flow(Some("sent_email"))],
            // The courier listing is not part of the recovery spec: only its status is checked
            // here; the step itself fails when no code can be read from it.
            Action::ReadCode => vec![Expect {
                status: 200,
                schema: None,
                state: None,
                error_id: None,
            }],
            Action::SubmitCode => vec![
                Expect {
                    status: 422,
                    schema: Some(Component::ErrorBrowserLocationChangeRequired),
                    state: None,
                    error_id: Some("browser_location_change_required".to_owned()),
                },
                flow(Some("passed_challenge")),
            ],
        }
    }

    /// What this action needs from an earlier step of the same iteration.
    fn needs(self) -> Option<(Need, &'static str)> {
        match self {
            Action::CreateFlow => None,
            Action::FetchFlow | Action::SubmitEmail => Some((Need::Flow, "a create-flow step")),
            Action::ReadCode => Some((Need::Email, "a submit-email step")),
            Action::SubmitCode => Some((Need::Code, "a read-code step")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Need {
    Flow,
    Email,
    Code,
}

/// Which credentials a step sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Credentials {
    /// None: a signed-out native client.
    #[default]
    None,
    /// `X-Session-Token` with `--session-token` (or the embedded server's token).
    SessionToken,
}

/// One acceptable answer of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expect {
    /// The HTTP status.
    pub status: u16,
    /// The component the body must validate against; `None`: the body is not validated.
    pub schema: Option<Component>,
    /// The flow's `state` the body must carry.
    pub state: Option<String>,
    /// The `error.id` the body must carry.
    pub error_id: Option<String>,
}

/// One step of a scenario, checked.
#[derive(Debug, Clone)]
pub struct Step {
    /// The request name in Goose's metrics and reports.
    pub name: String,
    /// What the step does.
    pub action: Action,
    /// How many times the step runs, in a row, per iteration.
    pub weight: usize,
    /// The credentials it sends.
    pub credentials: Credentials,
    /// The acceptable answers, the first one being the usual one.
    pub expect: Vec<Expect>,
}

impl Step {
    /// The request's name as Goose keys it in its metrics and as `--threshold ... for` names it.
    pub fn request_key(&self) -> String {
        format!("{} {}", self.action.method(), self.name)
    }
}

/// The defaults a scenario gives the run.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    /// Concurrent users.
    pub users: Option<usize>,
    /// Time to start all users.
    pub ramp: Option<Duration>,
    /// Users started per second (instead of `ramp`).
    pub hatch_rate: Option<f64>,
    /// Run time after all users started.
    pub duration: Option<Duration>,
    /// Goose threshold rules.
    pub thresholds: Vec<String>,
}

/// A checked scenario, ready to become Goose transactions.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Its name.
    pub name: String,
    /// What it measures.
    pub description: String,
    /// `embedded` or the path it was read from.
    pub origin: String,
    /// The run's defaults.
    pub defaults: Defaults,
    /// Template variables (`email`).
    pub vars: BTreeMap<String, String>,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Resolves `--scenario NAME|PATH`: an embedded name first, then a file.
    pub fn resolve(spec: &str) -> Result<Scenario, ScenarioError> {
        if let Some((name, text)) = EMBEDDED.iter().find(|(name, _)| *name == spec) {
            let mut scenario = Scenario::parse(text, &format!("`{name}` (embedded)"))?;
            scenario.origin = "embedded".to_owned();
            return Ok(scenario);
        }
        let path = Path::new(spec);
        let looks_like_path = spec.contains('/') || spec.contains('\\') || spec.ends_with(".toml");
        if !looks_like_path && !path.exists() {
            return Err(ScenarioError::Unknown {
                name: spec.to_owned(),
                known: embedded_names(),
            });
        }
        Scenario::from_file(path)
    }

    /// Reads and checks a scenario file.
    pub fn from_file(path: &Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Scenario::parse(&text, &path.display().to_string())
    }

    /// Parses and checks scenario text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario, ScenarioError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| ScenarioError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        let invalid = |message: String| ScenarioError::Invalid {
            origin: origin.to_owned(),
            message,
        };
        if file.name.trim().is_empty() {
            return Err(invalid(
                "`name` is empty; give the scenario a name".to_owned(),
            ));
        }
        if file.steps.is_empty() {
            return Err(invalid(
                "it has no steps; add at least one [[steps]] table with a `name` and an `action`"
                    .to_owned(),
            ));
        }
        for key in file.vars.keys() {
            if key != "email" {
                return Err(invalid(format!(
                    "unknown variable `{key}` in [vars]; the only variable is `email`"
                )));
            }
        }

        let mut names = HashSet::new();
        let mut have: HashSet<Need> = HashSet::new();
        let mut steps = Vec::with_capacity(file.steps.len());
        for (index, step) in file.steps.into_iter().enumerate() {
            let at = format!("step {} (`{}`)", index + 1, step.name);
            if step.name.trim().is_empty() {
                return Err(invalid(format!("step {} has an empty `name`", index + 1)));
            }
            if !names.insert(step.name.clone()) {
                return Err(invalid(format!(
                    "{at}: two steps are named `{}`; step names key the metrics, make them unique",
                    step.name
                )));
            }
            if step.weight == 0 || step.weight > 1000 {
                return Err(invalid(format!(
                    "{at}: `weight` must be 1 to 1000 (the times the step runs per iteration), not {}",
                    step.weight
                )));
            }
            if let Some((need, provider)) = step.action.needs() {
                if !have.contains(&need) {
                    return Err(invalid(format!(
                        "{at}: `{}` needs {provider} before it",
                        step.action.name()
                    )));
                }
            }
            match step.action {
                Action::CreateFlow => {
                    have.insert(Need::Flow);
                }
                Action::SubmitEmail => {
                    have.insert(Need::Email);
                }
                Action::ReadCode => {
                    have.insert(Need::Code);
                }
                Action::FetchFlow | Action::SubmitCode => {}
            }
            let expect = if step.expect.is_empty() {
                step.action.default_expect()
            } else {
                step.expect
                    .into_iter()
                    .map(|e| check_expect(e).map_err(|m| invalid(format!("{at}: {m}"))))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let mut statuses = HashSet::new();
            for e in &expect {
                if !statuses.insert(e.status) {
                    return Err(invalid(format!(
                        "{at}: status {} is expected twice; give each status once",
                        e.status
                    )));
                }
            }
            steps.push(Step {
                name: step.name,
                action: step.action,
                weight: step.weight,
                credentials: step.credentials,
                expect,
            });
        }

        let d = file.defaults;
        if d.ramp.is_some() && d.hatch_rate.is_some() {
            return Err(invalid(
                "[defaults] gives both `ramp` and `hatch_rate`; give one".to_owned(),
            ));
        }
        let duration = |key: &str, value: &Option<String>| {
            value
                .as_deref()
                .map(|v| {
                    crate::input::parse_duration(v)
                        .map_err(|e| invalid(format!("[defaults] {key}: {e}")))
                })
                .transpose()
        };
        let defaults = Defaults {
            users: d.users,
            ramp: duration("ramp", &d.ramp)?,
            hatch_rate: d.hatch_rate,
            duration: duration("duration", &d.duration)?,
            thresholds: d.thresholds,
        };
        let scenario = Scenario {
            name: file.name,
            description: file.description,
            origin: origin.to_owned(),
            defaults,
            vars: file.vars,
            steps,
        };
        for rule in &scenario.defaults.thresholds {
            scenario
                .check_threshold(rule)
                .map_err(|m| invalid(format!("[defaults] thresholds: {m}")))?;
        }
        Ok(scenario)
    }

    /// Checks a Goose threshold rule: its syntax (Goose's own parser) and, for a rule that names
    /// a request (`p95<50ms for GET create flow`), that one of the steps makes that request.
    pub fn check_threshold(&self, rule: &str) -> Result<(), String> {
        let parsed: Result<goose::threshold::Threshold, _> = rule.parse();
        if let Err(e) = parsed {
            return Err(match e {
                goose::GooseError::InvalidOption { detail, .. } => detail,
                other => other.to_string(),
            });
        }
        if let Some((_, request)) = rule.split_once(" for ") {
            let request = request.trim();
            if !self.steps.iter().any(|s| s.request_key() == request) {
                let known = self
                    .steps
                    .iter()
                    .map(|s| format!("`{}`", s.request_key()))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Err(format!(
                    "threshold {rule:?} names the request `{request}`, which this scenario does not make; its requests are {known}"
                ));
            }
        }
        Ok(())
    }

    /// Whether any step needs a session token.
    pub fn needs_session_token(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.credentials == Credentials::SessionToken)
    }

    /// Whether any step reads the courier.
    pub fn reads_courier(&self) -> bool {
        self.steps.iter().any(|s| s.action == Action::ReadCode)
    }

    /// The email template (`{user}` is replaced by the Goose user number).
    pub fn email_template(&self) -> &str {
        self.vars
            .get("email")
            .map(String::as_str)
            .unwrap_or("recovery-load-{user}@example.org")
    }
}

fn check_expect(e: ExpectFile) -> Result<Expect, String> {
    if !(100..=599).contains(&e.status) {
        return Err(format!("expect.status {} is not an HTTP status", e.status));
    }
    let schema = e.schema.as_deref().map(component_by_name).transpose()?;
    Ok(Expect {
        status: e.status,
        schema,
        state: e.state,
        error_id: e.error_id,
    })
}

const COMPONENTS: [Component; 4] = [
    Component::RecoveryFlow,
    Component::ErrorGeneric,
    Component::ErrorBrowserLocationChangeRequired,
    Component::SelfServiceFlowExpiredError,
];

fn component_by_name(name: &str) -> Result<Component, String> {
    COMPONENTS
        .iter()
        .copied()
        .find(|c| c.name() == name)
        .ok_or_else(|| {
            let known = COMPONENTS
                .iter()
                .map(|c| format!("`{}`", c.name()))
                .collect::<Vec<_>>()
                .join(", ");
            format!("expect.schema `{name}` is not a response component; use one of {known}")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_scenario_parses() {
        for (name, text) in EMBEDDED {
            let s = Scenario::parse(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&s.name, name, "file name and `name` agree");
            assert!(!s.description.is_empty());
            assert!(!s.steps.is_empty());
            assert!(s.defaults.duration.is_some());
        }
    }

    #[test]
    fn resolve_finds_embedded_names_and_refuses_unknown_ones() {
        assert_eq!(
            Scenario::resolve("full-recovery")
                .map(|s| s.steps.len())
                .ok(),
            Some(4)
        );
        let err = Scenario::resolve("nope")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown scenario `nope`"), "{err}");
        assert!(err.contains("create-native-flow"), "{err}");
    }

    fn err(text: &str) -> String {
        Scenario::parse(text, "t.toml")
            .map(|_| ())
            .expect_err("must be refused")
            .to_string()
    }

    #[test]
    fn malformed_files_get_clear_errors() {
        assert!(err("name = ").contains("malformed"));
        assert!(err("name = \"x\"\n").contains("steps"));
        assert!(err("name = \"x\"\nsteps = []\n").contains("no steps"));
        let e = err("name = \"x\"\n[[steps]]\nname = \"a\"\naction = \"teleport\"\n");
        assert!(e.contains("teleport"), "{e}");
        let e = err("name = \"x\"\nbogus = 1\n[[steps]]\nname = \"a\"\naction = \"create-flow\"\n");
        assert!(e.contains("bogus"), "{e}");
        let e = err("name = \"x\"\n[[steps]]\nname = \"a\"\naction = \"fetch-flow\"\n");
        assert!(e.contains("needs a create-flow step"), "{e}");
        let e =
            err("name = \"x\"\n[[steps]]\nname = \"a\"\naction = \"create-flow\"\nweight = 0\n");
        assert!(e.contains("weight"), "{e}");
        let e = err("name = \"x\"\n[defaults]\nthresholds = [\"p95<<3\"]\n[[steps]]\nname = \"a\"\naction = \"create-flow\"\n");
        assert!(e.contains("thresholds"), "{e}");
        let e = err("name = \"x\"\n[defaults]\nthresholds = [\"p95<3ms for GET nope\"]\n[[steps]]\nname = \"a\"\naction = \"create-flow\"\n");
        assert!(e.contains("GET a"), "{e}");
        let e = err("name = \"x\"\n[defaults]\nduration = \"soon\"\n[[steps]]\nname = \"a\"\naction = \"create-flow\"\n");
        assert!(e.contains("duration"), "{e}");
        let e = err("name = \"x\"\n[[steps]]\nname = \"a\"\naction = \"create-flow\"\n[[steps.expect]]\nstatus = 200\nschema = \"flow\"\n");
        assert!(e.contains("recoveryFlow"), "{e}");
        let e = err("name = \"x\"\n[[steps]]\nname = \"a\"\naction = \"create-flow\"\n[[steps]]\nname = \"a\"\naction = \"create-flow\"\n");
        assert!(e.contains("unique"), "{e}");
    }

    #[test]
    fn request_keys_match_goose_names() {
        let s = Scenario::resolve("create-and-fetch").expect("embedded");
        assert_eq!(s.steps[0].request_key(), "GET create flow");
        assert!(s.check_threshold("p95<50ms for GET fetch flow").is_ok());
        assert!(s.check_threshold("p95<50ms").is_ok());
        assert!(s.check_threshold("p95<0").is_err());
    }
}
