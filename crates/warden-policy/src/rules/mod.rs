//! Command and network rules: what they are, how they combine (the strictest match wins)
//! and how they are found for one invocation.

mod cache;
mod pattern;
mod write;

use crate::ValueError;
use std::collections::HashMap;

use warden_protocol::{PolicySource, Reason, Verdict};

use crate::network::HostPattern;
use crate::shell::Invocation;
pub use cache::RulesCache;
pub use pattern::basename;
pub(crate) use pattern::{Pattern, Shape};
pub use write::{
    allow_rules, append_allow_rules, append_network_allow, network_allow_rule, write_network_allow,
};

/// Turns one rules file's text into rules: `warden_rules::load_rules`, the Starlark
/// evaluator, which lives in its own crate and is passed in (`PolicyInputs::rules`,
/// the writers below) by the binaries that load rules files. Starlark registers a few
/// hundred start-up constructors that whole-program optimisation keeps whenever the
/// crate is linked, so `warden`, which does not link it, starts faster, and hands over
/// to `warden-sessions` when a rules file is not among the kept rules (`RulesCache`;
/// docs/decisions.md).
pub type RulesLoader = fn(&str, &str, PolicySource) -> Result<RuleSet, crate::PolicyError>;

/// `prefix_rule(pattern=[...], decision=..., justification=...)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrefixRule {
    pub(crate) pattern: Pattern,
    /// The pattern as written, for messages (`git push [--force|-f]`).
    pub text: String,
    pub decision: Verdict,
    pub justification: Option<String>,
    /// Where the rule came from, with its line.
    pub source: PolicySource,
}

impl PrefixRule {
    /// A rule built in code (requirements files, "always allow" answers).
    pub fn new(
        tokens: Vec<Vec<String>>,
        decision: Verdict,
        justification: Option<String>,
        source: PolicySource,
    ) -> Option<Self> {
        let text = tokens
            .iter()
            .map(|alternatives| match alternatives.as_slice() {
                [one] => one.clone(),
                many => format!("[{}]", many.join("|")),
            })
            .collect::<Vec<_>>()
            .join(" ");
        Some(Self {
            pattern: Pattern::new(tokens)?,
            text,
            decision,
            justification,
            source,
        })
    }

    /// This rule as a reason for a decision.
    pub fn reason(&self) -> Reason {
        Reason {
            rule: format!("prefix_rule({})", self.text),
            source: self.source.clone(),
            justification: self.justification.clone().unwrap_or_else(|| {
                format!(
                    "`{}` is {} by a rule",
                    self.text,
                    verdict_word(self.decision)
                )
            }),
        }
    }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Allow => "allowed",
        Verdict::Prompt => "set to ask",
        Verdict::Forbidden => "forbidden",
    }
}

/// What a network rule says about a host.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum HostDecision {
    Allow,
    Ask,
    Deny,
}

impl HostDecision {
    pub fn parse(word: &str) -> Result<Self, ValueError> {
        match word {
            "allow" => Ok(Self::Allow),
            "ask" | "prompt" => Ok(Self::Ask),
            "deny" | "forbidden" => Ok(Self::Deny),
            other => Err(ValueError(format!(
                "decision must be \"allow\", \"ask\" or \"deny\", not {other:?}"
            ))),
        }
    }
}

/// `network_rule(host=..., protocol=..., decision=..., justification=...)`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkRule {
    pub host: HostPattern,
    pub protocol: Option<String>,
    pub decision: HostDecision,
    pub justification: Option<String>,
    pub source: PolicySource,
}

/// Every loaded rule, indexed by program name.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    prefix: Vec<PrefixRule>,
    by_program: HashMap<String, Vec<usize>>,
    pub network: Vec<NetworkRule>,
    /// `host_executable(name, paths)`: where a program may live for allow rules to apply.
    pub host_executables: HashMap<String, Vec<String>>,
}

impl RuleSet {
    pub fn prefix_rules(&self) -> &[PrefixRule] {
        &self.prefix
    }

    pub fn push_prefix(&mut self, rule: PrefixRule) {
        let index = self.prefix.len();
        let mut names: Vec<String> = rule.pattern.names().map(str::to_string).collect();
        names.dedup();
        for name in names {
            self.by_program.entry(name).or_default().push(index);
        }
        self.prefix.push(rule);
    }

    /// Add another set's rules (a later file, another layer).
    pub fn extend(&mut self, other: RuleSet) {
        for rule in other.prefix {
            self.push_prefix(rule);
        }
        self.network.extend(other.network);
        for (name, paths) in other.host_executables {
            self.host_executables.entry(name).or_default().extend(paths);
        }
    }

    /// Whether `rule` matches the invocation, with this set's `host_executable`s.
    pub fn rule_matches(&self, rule: &PrefixRule, invocation: &Invocation) -> bool {
        let shape = Shape::of(invocation);
        self.matches_with(rule, invocation, &shape)
    }

    fn matches_with(&self, rule: &PrefixRule, invocation: &Invocation, shape: &Shape) -> bool {
        let declared = self
            .host_executables
            .get(&invocation.name)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        pattern::matches(&rule.pattern, rule.decision, invocation, shape, declared)
    }

    /// Every rule that matches the invocation.
    pub fn matching(&self, invocation: &Invocation) -> Vec<&PrefixRule> {
        let Some(indices) = self.by_program.get(&invocation.name) else {
            return Vec::new();
        };
        let shape = Shape::of(invocation);
        indices
            .iter()
            .map(|&i| &self.prefix[i])
            .filter(|rule| self.matches_with(rule, invocation, &shape))
            .collect()
    }
}
