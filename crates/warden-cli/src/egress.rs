//! The egress proxy for the CLI (`warden exec --network proxy`, `warden proxy`): a
//! small runtime serving it, decisions printed on stderr one line each, and questions
//! asked on the terminal (`/dev/tty`) when there is one.

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use warden_policy::config::WardenPaths;
use warden_policy::layers::{EffectivePolicy, user_rules_dir};
use warden_policy::router::{Question, QuestionKind, ReviewMode, Route, RulesTier, route};
use warden_policy::rules::RulesLoader;
use warden_protocol::Actor;
use warden_proxy::{AskAnswer, AskFuture, AskReply, Asker, NetworkAsk, Proxy, ProxySettings};

/// A proxy serving on its own runtime threads.
pub struct Egress {
    pub proxy: Proxy,
    pub addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    /// Every decision so far, with when it was made (ms), for the audit record.
    decisions: Arc<Mutex<Vec<(i64, warden_proxy::NetworkEvent)>>>,
}

impl Drop for Egress {
    fn drop(&mut self) {
        // A question still waiting on the terminal must not keep the process alive.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Egress {
    /// Serve `listener` with the effective policy's network settings.
    pub fn start(
        listener: std::net::TcpListener,
        policy: &EffectivePolicy,
        paths: &WardenPaths,
        rules: Option<RulesLoader>,
    ) -> anyhow::Result<Self> {
        let addr = listener
            .local_addr()
            .context("the proxy listener has no address")?;
        let mut egress = Self::new(addr, policy, paths, rules)?;
        egress.serve(listener)?;
        Ok(egress)
    }

    /// The proxy for a listener on `addr` that is not there yet (it comes from the
    /// sandboxed command's child: see `warden_sandbox::CommandProxy`): credentials can be
    /// issued now, [`Self::serve`] once the listener has arrived. The runtime starts in
    /// `serve`, so for `warden exec` its threads start while the command's child builds
    /// its namespaces on the other core (and are not there to slow the fork). `rules`
    /// checks the rules file an "always" answer writes to (without it,
    /// `warden-sessions` does).
    pub fn new(
        addr: SocketAddr,
        policy: &EffectivePolicy,
        paths: &WardenPaths,
        rules: Option<RulesLoader>,
    ) -> anyhow::Result<Self> {
        let settings = ProxySettings::from_effective(policy).map_err(anyhow::Error::msg)?;
        let asker: Arc<dyn Asker> = Arc::new(TerminalAsker::open(policy, paths, rules));
        let decisions: Arc<Mutex<Vec<(i64, warden_proxy::NetworkEvent)>>> = Arc::default();
        let kept = decisions.clone();
        let sink: warden_proxy::EventSink = Arc::new(move |event: warden_proxy::NetworkEvent| {
            eprintln!("warden: {}", crate::transcript::network_line(&event.access));
            kept.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((crate::exec_record::now_ms(), event));
        });
        Ok(Self {
            proxy: Proxy::new(settings, Some(asker), sink),
            addr,
            runtime: None,
            decisions,
        })
    }

    /// Accept connections on `listener`, on the proxy's own runtime threads.
    pub fn serve(&mut self, listener: std::net::TcpListener) -> anyhow::Result<()> {
        listener
            .set_nonblocking(true)
            .context("cannot make the proxy listener non-blocking")?;
        let runtime = match &mut self.runtime {
            Some(runtime) => runtime,
            none => none.insert(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("warden-proxy")
                    .enable_all()
                    .build()
                    .context("cannot start the proxy's runtime")?,
            ),
        };
        let _inside = runtime.enter();
        let listener =
            tokio::net::TcpListener::from_std(listener).context("cannot serve the proxy")?;
        self.proxy.serve(listener);
        Ok(())
    }

    /// The decisions made so far (and forgets them).
    pub fn take_decisions(&self) -> Vec<(i64, warden_proxy::NetworkEvent)> {
        std::mem::take(
            &mut *self
                .decisions
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }

    /// See [`warden_proxy::Credential::settle`].
    pub fn settle(&self, credential: &warden_proxy::Credential) {
        if let Some(runtime) = &self.runtime {
            runtime.block_on(credential.settle());
        }
    }
}

/// Asks on the controlling terminal, one question at a time.
struct TerminalAsker {
    /// Where "always" writes its rule; None where requirements forbid user rules.
    rules_file: Option<PathBuf>,
    one_at_a_time: Arc<Mutex<()>>,
    /// Refuse every ask with this reason instead of asking.
    refuse: Option<String>,
    /// Checks `rules_file` after an "always" answer wrote to it.
    rules: Option<RulesLoader>,
}

impl TerminalAsker {
    /// The asker the router says this run has (`warden_policy::router`): the terminal
    /// when there is one; otherwise, and where network questions are not asked
    /// (`approvals.network = "deny"`, approval policy `never`), one that refuses every
    /// ask with the router's reason. `warden exec` has no reviewer: auto-review does not
    /// answer here.
    fn open(policy: &EffectivePolicy, paths: &WardenPaths, rules: Option<RulesLoader>) -> Self {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty");
        let question = Question {
            kind: QuestionKind::Network,
            policy: policy.config.approval,
            category: policy.config.approvals.network,
            person_available: tty.is_ok(),
            mode: ReviewMode::Off,
            escalations: false,
            rules_tier: RulesTier::Unsettled,
            review: None,
        };
        let refuse = match route(&question) {
            Route::Refuse { why, .. } => Some(why),
            Route::Approve { .. } | Route::AskPerson | Route::Review => None,
        };
        let rules_file = policy
            .requirements
            .user_rules_forbidden
            .is_none()
            .then(|| user_rules_dir(paths).join("default.rules"));
        Self {
            rules_file: rules_file.filter(|_| refuse.is_none()),
            one_at_a_time: Arc::new(Mutex::new(())),
            refuse,
            rules,
        }
    }
}

impl Asker for TerminalAsker {
    fn ask(&self, ask: NetworkAsk) -> AskFuture {
        if let Some(why) = self.refuse.clone() {
            return Box::pin(async move {
                AskReply {
                    answer: AskAnswer::Refused(why),
                    actor: Actor::Default,
                }
            });
        }
        let rules_file = self.rules_file.clone();
        let rules = self.rules;
        let lock = self.one_at_a_time.clone();
        Box::pin(async move {
            let answered = tokio::task::spawn_blocking(move || {
                let _turn = lock.lock().unwrap_or_else(PoisonError::into_inner);
                prompt(&ask, rules_file.as_deref(), rules)
            })
            .await;
            let answer = match answered.ok().flatten() {
                Some(Prompted::Answer(answer)) => answer,
                // The proxy's own wait ends at the same moment and refuses the connection
                // as `timeout`; answering here would record it as denied by the user.
                Some(Prompted::NoAnswerInTime) => std::future::pending().await,
                None => AskAnswer::Deny,
            };
            AskReply {
                answer,
                actor: Actor::User,
            }
        })
    }
}

/// What the terminal said to a question.
enum Prompted {
    Answer(AskAnswer),
    /// Nothing was typed before the question expired.
    NoAnswerInTime,
}

/// Ask on the terminal; `None` when the terminal cannot be used or was closed.
fn prompt(
    ask: &NetworkAsk,
    rules_file: Option<&std::path::Path>,
    rules: Option<RulesLoader>,
) -> Option<Prompted> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()?;
    let mut out = tty.try_clone().ok()?;
    let always = if rules_file.is_some() {
        " / [a]lways"
    } else {
        ""
    };
    let mut input = std::io::BufReader::new(tty);
    loop {
        let left = crate::keys::seconds_until(ask.expires_at_ms);
        write!(
            out,
            "warden: {} — allow? [o]nce / [s]ession{always} / [d]eny (refused in {left} s): ",
            ask.summary()
        )
        .ok()?;
        out.flush().ok()?;
        // The proxy stops waiting at the deadline; so does the question, so that the
        // next keys typed answer the next question, not this one.
        if input.buffer().is_empty()
            && !crate::keys::typed_before(input.get_ref(), ask.expires_at_ms)
        {
            // One write, so that the command's own output cannot land inside the line.
            let line = format!(
                "\nwarden: no answer in time; {}:{} is refused\n",
                ask.host, ask.port
            );
            let _ = out.write_all(line.as_bytes());
            return Some(Prompted::NoAnswerInTime);
        }
        let mut line = String::new();
        if input.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let answer = match (line.trim(), rules_file) {
            ("o" | "y" | "once", _) => AskAnswer::AllowOnce,
            ("s" | "session", _) => AskAnswer::AllowForSession,
            ("a" | "always", Some(file)) => {
                let justification = format!("allowed when `{}` asked", ask.attribution.command);
                match append_network_allow(file, &ask.host, &justification, rules) {
                    Ok(source) => AskAnswer::AllowAlways { source },
                    Err(e) => {
                        let _ = writeln!(out, "warden: cannot write the rule: {e}");
                        AskAnswer::AllowOnce
                    }
                }
            }
            ("d" | "n" | "deny" | "", _) => AskAnswer::Deny,
            _ => continue,
        };
        return Some(Prompted::Answer(answer));
    }
}

/// Append an "always" answer's rule to `file`, which must still load afterwards: checked
/// with `rules` when this binary has the rules language, else by `warden-sessions`.
fn append_network_allow(
    file: &std::path::Path,
    host: &str,
    justification: &str,
    rules: Option<RulesLoader>,
) -> anyhow::Result<warden_protocol::PolicySource> {
    use warden_policy::rules::{append_network_allow, write_network_allow};
    Ok(match rules {
        Some(load) => append_network_allow(file, host, justification, load)?,
        None => {
            let source = write_network_allow(file, host, justification)?;
            crate::sessions::validate_rules(file)?;
            source
        }
    })
}
