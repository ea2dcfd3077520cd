//! The host's egress proxy and its routing: one proxy for every session (listening in
//! the sandbox's network namespace), whose events and questions go to the session that
//! owns the command's credential, where they are recorded and shown like any other
//! event and approval.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot};
use warden_policy::layers::EffectivePolicy;
use warden_protocol::Actor;
use warden_proxy::{
    AskAnswer, AskFuture, AskReply, Asker, EventSink, HostPolicy, NetworkAsk, NetworkEvent, Proxy,
    ProxySettings,
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

/// The running proxy and the sessions it reports to.
pub(crate) struct EgressHub {
    proxy: Proxy,
    addr: SocketAddr,
    routes: Routes,
}

impl EgressHub {
    /// Start serving on the sandbox's proxy listener with the host's network settings.
    pub(crate) async fn start(effective: &EffectivePolicy) -> Result<Self, String> {
        let settings = ProxySettings::from_effective(effective)?;
        let listener = tokio::task::spawn_blocking(warden_sandbox::proxy_listener)
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(|e| e.to_string())?;
        let routes: Routes = Arc::default();
        let sink_routes = routes.clone();
        let sink: EventSink = Arc::new(move |event: NetworkEvent| {
            let route = event.session_id.as_ref().and_then(|id| {
                sink_routes
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .get(id)
                    .cloned()
            });
            match route {
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
        let proxy = Proxy::new(settings, Some(asker), sink);
        proxy.serve(listener);
        Ok(Self {
            proxy,
            addr,
            routes,
        })
    }

    /// Route a session's network traffic to it, under its own host policy.
    pub(crate) fn join(&self, session_id: &str, policy: HostPolicy) -> SessionEgress {
        let (tx, rx) = mpsc::unbounded_channel();
        self.routes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(session_id.to_string(), tx);
        let id = session_id.to_string();
        self.proxy.update(|s| {
            s.sessions.insert(id, policy);
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
        let route = ask.attribution.session_id.as_ref().and_then(|id| {
            self.routes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .get(id)
                .cloned()
        });
        Box::pin(async move {
            let refused = AskReply {
                answer: AskAnswer::Deny,
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
