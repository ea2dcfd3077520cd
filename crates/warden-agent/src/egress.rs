//! The host's egress proxy and its routing: one proxy for every session (listening in
//! the sandbox's network namespace), whose events and questions go to the session that
//! owns the command's credential, where they are recorded and shown like any other
//! event and approval.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};
use warden_protocol::Actor;
use warden_proxy::{
    AskAnswer, AskFuture, AskReply, Asker, EventSink, NetworkAsk, NetworkEvent, NetworkScope,
    Proxy, ProxySettings,
};

/// What the proxy tells a session.
pub(crate) enum NetworkMsg {
    Event(NetworkEvent),
    Ask {
        ask: NetworkAsk,
        reply: oneshot::Sender<AskReply>,
    },
}

type Routes = Arc<Mutex<HashMap<String, mpsc::UnboundedSender<NetworkMsg>>>>;

/// The channel of the session that owns a connection, if it is still running.
fn route(routes: &Routes, session: Option<&str>) -> Option<mpsc::UnboundedSender<NetworkMsg>> {
    let session = session?;
    routes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(session)
        .cloned()
}

/// The running proxy and the sessions it reports to. One per process (the listener
/// lives in the sandbox's process-wide network namespace), on its own runtime threads so
/// it outlives any one caller's runtime.
pub(crate) struct EgressHub {
    proxy: Proxy,
    addr: SocketAddr,
    routes: Routes,
    _runtime: tokio::runtime::Runtime,
}

static HUB: std::sync::OnceLock<Result<EgressHub, String>> = std::sync::OnceLock::new();

impl EgressHub {
    /// The process's hub, started on first use (blocking: it may create the sandbox's
    /// namespaces). Connections belong to sessions, so the default scope refuses all.
    pub(crate) fn shared() -> Result<&'static EgressHub, String> {
        HUB.get_or_init(Self::start).as_ref().map_err(Clone::clone)
    }

    fn start() -> Result<Self, String> {
        let listener = warden_sandbox::proxy_listener().map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("warden-proxy")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the proxy's runtime: {e}"))?;
        let routes: Routes = Arc::default();
        let sink_routes = routes.clone();
        let sink: EventSink = Arc::new(move |event: NetworkEvent| {
            match route(&sink_routes, event.session_id.as_deref()) {
                Some(tx) => {
                    let _ = tx.send(NetworkMsg::Event(event));
                }
                None => {
                    tracing::info!(host = %event.access.host, decision = %event.access.decision,
                    "network decision for no running session")
                }
            }
        });
        let asker = Arc::new(Router {
            routes: routes.clone(),
        });
        let mut settings = ProxySettings::default();
        settings.scope.policy.deny_unknown = true;
        let proxy = Proxy::new(settings, Some(asker), sink);
        {
            let _inside = runtime.enter();
            let listener =
                tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
            proxy.serve(listener);
        }
        Ok(Self {
            proxy,
            addr,
            routes,
            _runtime: runtime,
        })
    }

    /// Route a session's network traffic to it, under its own scope.
    pub(crate) fn join(&self, session_id: &str, scope: NetworkScope) -> SessionEgress {
        let (tx, rx) = mpsc::unbounded_channel();
        self.routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session_id.to_string(), tx);
        let id = session_id.to_string();
        self.proxy.update(|s| {
            s.sessions.insert(id, scope);
        });
        SessionEgress {
            proxy: self.proxy.clone(),
            addr: self.addr,
            messages: rx,
            session_id: session_id.to_string(),
            routes: self.routes.clone(),
        }
    }
}

/// One session's view of the proxy; leaving drops its route and policy.
pub(crate) struct SessionEgress {
    pub proxy: Proxy,
    pub addr: SocketAddr,
    pub messages: mpsc::UnboundedReceiver<NetworkMsg>,
    session_id: String,
    routes: Routes,
}

impl Drop for SessionEgress {
    fn drop(&mut self) {
        self.routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.session_id);
        let id = self.session_id.clone();
        self.proxy.update(|s| {
            s.sessions.remove(&id);
        });
    }
}

/// Sends each question to the session that owns the connection and waits for its answer.
struct Router {
    routes: Routes,
}

impl Asker for Router {
    fn ask(&self, ask: NetworkAsk) -> AskFuture {
        let route = route(&self.routes, ask.attribution.session_id.as_deref());
        Box::pin(async move {
            let refused = AskReply {
                answer: AskAnswer::Refused("the session that ran the command has ended".into()),
                actor: Actor::Default,
            };
            let Some(tx) = route else {
                return refused;
            };
            let (reply, answer) = oneshot::channel();
            if tx.send(NetworkMsg::Ask { ask, reply }).is_err() {
                return refused;
            }
            answer.await.unwrap_or(refused)
        })
    }
}
