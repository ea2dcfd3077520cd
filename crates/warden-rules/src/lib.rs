//! Reading `.rules` files (Starlark, the format Codex uses) with a real Starlark
//! interpreter: `prefix_rule`, `network_rule`, `host_executable`. Examples in `match` and
//! `not_match` are checked when the file loads; a failing one is a load error.
//!
//! A crate of its own so that what does not load rules files does not link Starlark
//! (see `warden_policy::rules::RulesLoader`): binaries pass [`load_rules`] in. What it
//! yields is kept between runs (`warden_policy::rules::RulesCache`): a change to what a
//! file loads as must bump that cache's `FORMAT`, or kept rules would outlive it.

use std::cell::RefCell;

use starlark::any::ProvidesStaticType;
use starlark::environment::{GlobalsBuilder, Module};
use starlark::eval::Evaluator;
use starlark::starlark_module;
use starlark::syntax::{AstModule, Dialect};
use starlark::values::Value;
use starlark::values::list::ListRef;
use starlark::values::none::NoneType;
use warden_protocol::{PolicySource, Verdict};

use warden_policy::PolicyError;
use warden_policy::network::HostPattern;
use warden_policy::rules::{HostDecision, NetworkRule, PrefixRule, RuleSet, basename};
use warden_policy::shell::{analyze_argv, analyze_script, command_line};

#[cfg(test)]
mod spelling_props;
#[cfg(test)]
mod tests;

/// One word of a pattern: the alternatives it accepts.
type Alternatives = Vec<String>;

/// What the builtins collect while a file runs.
#[derive(Debug, Default, ProvidesStaticType)]
struct Collected {
    prefix: RefCell<Vec<(PrefixRule, Vec<Example>)>>,
    network: RefCell<Vec<NetworkRule>>,
    hosts: RefCell<Vec<(String, Vec<String>)>>,
    source: RefCell<Option<PolicySource>>,
}

#[derive(Debug, Clone)]
struct Example {
    argv_or_script: Result<Vec<String>, String>,
    should_match: bool,
}

impl Example {
    fn display(&self) -> String {
        match &self.argv_or_script {
            Ok(argv) => command_line(argv),
            Err(script) => script.clone(),
        }
    }
}

fn line_of(eval: &Evaluator<'_, '_, '_>) -> u32 {
    eval.call_stack_top_location()
        .map_or(0, |span| span.resolve_span().begin.line as u32 + 1)
}

fn collected<'a>(eval: &'a Evaluator<'_, '_, '_>) -> anyhow::Result<&'a Collected> {
    eval.extra
        .and_then(|e| e.downcast_ref::<Collected>())
        .ok_or_else(|| anyhow::anyhow!("rules builtins called outside a rules file"))
}

fn source_at(collected: &Collected, line: u32) -> PolicySource {
    let base = collected
        .source
        .borrow()
        .clone()
        .unwrap_or(PolicySource::BuiltIn);
    base.at_line(line)
}

fn strings(value: Value<'_>, what: &str) -> anyhow::Result<Vec<String>> {
    let list = ListRef::from_value(value)
        .ok_or_else(|| anyhow::anyhow!("{what} must be a list of strings"))?;
    list.iter()
        .map(|v| {
            v.unpack_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("{what} must be a list of strings, found {v}"))
        })
        .collect()
}

fn pattern_tokens(value: Value<'_>) -> anyhow::Result<Vec<Alternatives>> {
    let list = ListRef::from_value(value).ok_or_else(|| {
        anyhow::anyhow!("pattern must be a list of words (or lists of alternative words)")
    })?;
    let mut tokens = Vec::new();
    for item in list.iter() {
        let alternatives = match item.unpack_str() {
            Some(word) => vec![word.to_string()],
            None => strings(item, "a pattern alternative")?,
        };
        if alternatives.is_empty() || alternatives.iter().any(String::is_empty) {
            anyhow::bail!("pattern words must not be empty");
        }
        tokens.push(alternatives);
    }
    if tokens.is_empty() {
        anyhow::bail!("pattern must not be empty");
    }
    Ok(tokens)
}

fn examples(value: Option<Value<'_>>, should_match: bool) -> anyhow::Result<Vec<Example>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let what = if should_match { "match" } else { "not_match" };
    let list = ListRef::from_value(value)
        .ok_or_else(|| anyhow::anyhow!("{what} must be a list of commands"))?;
    list.iter()
        .map(|item| {
            let argv_or_script = match item.unpack_str() {
                Some(script) => Err(script.to_string()),
                None => Ok(strings(item, what)?),
            };
            Ok(Example {
                argv_or_script,
                should_match,
            })
        })
        .collect()
}

fn verdict(decision: &str) -> anyhow::Result<Verdict> {
    match decision {
        "allow" => Ok(Verdict::Allow),
        "prompt" => Ok(Verdict::Prompt),
        "forbidden" => Ok(Verdict::Forbidden),
        other => {
            anyhow::bail!("decision must be \"allow\", \"prompt\" or \"forbidden\", not {other:?}")
        }
    }
}

#[starlark_module]
fn rules_builtins(builder: &mut GlobalsBuilder) {
    fn prefix_rule<'v>(
        #[starlark(require = named)] pattern: Value<'v>,
        #[starlark(require = named, default = "allow")] decision: &str,
        #[starlark(require = named)] justification: Option<&str>,
        #[starlark(require = named)] r#match: Option<Value<'v>>,
        #[starlark(require = named)] not_match: Option<Value<'v>>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        let tokens = pattern_tokens(pattern)?;
        let decision = verdict(decision)?;
        let mut all = examples(r#match, true)?;
        all.extend(examples(not_match, false)?);
        let line = line_of(eval);
        let store = collected(eval)?;
        let rule = PrefixRule::new(
            tokens,
            decision,
            justification.map(str::to_string),
            source_at(store, line),
        )
        .ok_or_else(|| anyhow::anyhow!("empty pattern"))?;
        store.prefix.borrow_mut().push((rule, all));
        Ok(NoneType)
    }

    fn network_rule<'v>(
        #[starlark(require = named)] host: &str,
        #[starlark(require = named)] protocol: Option<&str>,
        #[starlark(require = named)] decision: &str,
        #[starlark(require = named)] justification: Option<&str>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        let pattern = HostPattern::parse(host).map_err(anyhow::Error::msg)?;
        let decision = HostDecision::parse(decision).map_err(anyhow::Error::msg)?;
        if let Some(p) = protocol
            && !matches!(p, "http" | "https" | "socks5" | "tcp")
        {
            anyhow::bail!("protocol must be \"http\", \"https\", \"socks5\" or \"tcp\", not {p:?}");
        }
        let line = line_of(eval);
        let store = collected(eval)?;
        store.network.borrow_mut().push(NetworkRule {
            host: pattern,
            protocol: protocol.map(str::to_string),
            decision,
            justification: justification.map(str::to_string),
            source: source_at(store, line),
        });
        Ok(NoneType)
    }

    fn host_executable<'v>(
        #[starlark(require = named)] name: &str,
        #[starlark(require = named)] paths: Value<'v>,
        eval: &mut Evaluator<'v, '_, '_>,
    ) -> anyhow::Result<NoneType> {
        if name.contains('/') || name.is_empty() {
            anyhow::bail!("host_executable name must be a bare program name, not {name:?}");
        }
        let paths = strings(paths, "paths")?;
        if let Some(bad) = paths.iter().find(|p| !p.starts_with('/')) {
            anyhow::bail!("host_executable paths must be absolute, not {bad:?}");
        }
        if let Some(bad) = paths.iter().find(|p| basename(p) != name) {
            anyhow::bail!("host_executable path {bad:?} does not end in {name:?}");
        }
        let store = collected(eval)?;
        store.hosts.borrow_mut().push((name.to_string(), paths));
        Ok(NoneType)
    }
}

/// Load one rules file's text. `name` is used in error messages (usually the path).
pub fn load_rules(name: &str, text: &str, source: PolicySource) -> Result<RuleSet, PolicyError> {
    let error = |message: String| PolicyError::Rules {
        file: name.to_string(),
        message,
    };
    let ast = AstModule::parse(name, text.to_string(), &Dialect::Standard)
        .map_err(|e| error(e.to_string()))?;
    let globals = GlobalsBuilder::standard().with(rules_builtins).build();
    let store = Collected::default();
    *store.source.borrow_mut() = Some(source);
    Module::with_temp_heap(|module| {
        let mut eval = Evaluator::new(&module);
        eval.extra = Some(&store);
        eval.eval_module(ast, &globals).map(|_| ())
    })
    .map_err(|e| error(e.to_string()))?;

    let mut set = RuleSet::default();
    for (name, paths) in store.hosts.take() {
        set.host_executables.entry(name).or_default().extend(paths);
    }
    let prefix = store.prefix.take();
    for (rule, _) in &prefix {
        set.push_prefix(rule.clone());
    }
    set.network = store.network.take();
    for (rule, examples) in &prefix {
        for example in examples {
            let analysis = match &example.argv_or_script {
                Ok(argv) => analyze_argv(argv),
                Err(script) => analyze_script(script),
            };
            let matched = analysis
                .invocations
                .iter()
                .any(|inv| set.rule_matches(rule, inv));
            if matched != example.should_match {
                let location = rule.source.location();
                return Err(error(format!(
                    "{location}: prefix_rule({}) {} `{}`, but it {}",
                    rule.text,
                    if example.should_match {
                        "lists as a match"
                    } else {
                        "lists as not_match"
                    },
                    example.display(),
                    if matched {
                        "matches (Warden matches flags in any order and skips a word that may be a flag's value for prompt/forbidden rules; see docs/policy.md)"
                    } else {
                        "does not match"
                    }
                )));
            }
        }
    }
    Ok(set)
}
