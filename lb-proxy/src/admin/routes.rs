//! Routing of admin requests, and what each route does.
//!
//! Unknown paths answer 404, known paths with another method 405, unknown VIPs and servers
//! 404, bad bodies 400, refused tokens 401 (403 when changes are disabled), all with
//! `{"error": "..."}`. Every change is logged at `info` with what changed.

use std::net::SocketAddr;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use lb_core::model::{AdminState, Server};
use serde::{Deserialize, Serialize};
use tracing::info;

use super::auth::{self, Access, Refusal};
use super::body;
use super::reply::{self, Reply};
use super::status::STATUS_PAGE;
use super::views::{ServerView, VipView};
use crate::cluster::ClusterStatus;
use crate::supervisor::ReloadError;
use crate::{ChangeError, RunningVip, Runtime, Supervisor, render_metrics};

/// What a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'p> {
    StatusPage,
    Metrics,
    Vips,
    Vip(&'p str),
    SetState(&'p str, &'p str),
    SetWeight(&'p str, &'p str),
    AddServer(&'p str),
    RemoveServer(&'p str, &'p str),
    ClearPersistence(&'p str),
    Reload,
    Cluster,
    ClusterHealth,
}

impl<'p> Route<'p> {
    /// The route for `method` on `path`: `Err(true)` when the path exists with other
    /// methods, `Err(false)` when it does not exist.
    fn parse(method: &Method, path: &'p str) -> Result<Route<'p>, bool> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let route = match segments.as_slice() {
            [] => (Method::GET, Route::StatusPage),
            ["metrics"] => (Method::GET, Route::Metrics),
            ["api", "vips"] => (Method::GET, Route::Vips),
            ["api", "vips", vip] => (Method::GET, Route::Vip(vip)),
            ["api", "vips", vip, "servers", server, "state"] => {
                (Method::PUT, Route::SetState(vip, server))
            }
            ["api", "vips", vip, "servers", server, "weight"] => {
                (Method::PUT, Route::SetWeight(vip, server))
            }
            ["api", "vips", vip, "servers"] => (Method::POST, Route::AddServer(vip)),
            ["api", "vips", vip, "servers", server] => {
                (Method::DELETE, Route::RemoveServer(vip, server))
            }
            ["api", "vips", vip, "persistence"] => (Method::DELETE, Route::ClearPersistence(vip)),
            ["api", "reload"] => (Method::POST, Route::Reload),
            ["api", "cluster"] => (Method::GET, Route::Cluster),
            ["api", "cluster", "health"] => (Method::GET, Route::ClusterHealth),
            _ => return Err(false),
        };
        let allowed = route.0 == *method || (route.0 == Method::GET && method == Method::HEAD);
        if allowed { Ok(route.1) } else { Err(true) }
    }

    fn access(self) -> Access {
        match self {
            Route::StatusPage
            | Route::Metrics
            | Route::Vips
            | Route::Vip(_)
            | Route::Cluster
            | Route::ClusterHealth => Access::Read,
            _ => Access::Change,
        }
    }
}

/// Answers one admin request from `peer`.
pub(super) async fn handle(
    request: Request<Incoming>,
    peer: SocketAddr,
    supervisor: &Supervisor,
) -> Reply {
    let (parts, body) = request.into_parts();
    let route = match Route::parse(&parts.method, parts.uri.path()) {
        Ok(route) => route,
        Err(true) => {
            return reply::error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{} is not allowed on {}", parts.method, parts.uri.path()),
            );
        }
        Err(false) => {
            return reply::error(
                StatusCode::NOT_FOUND,
                format!("no such resource: {}", parts.uri.path()),
            );
        }
    };
    let admin = supervisor.admin();
    match auth::authorize(route.access(), peer, &parts.headers, admin.as_ref()) {
        Ok(()) => {}
        Err(Refusal::Unauthorized) => {
            let mut refused = reply::error(
                StatusCode::UNAUTHORIZED,
                "a valid `Authorization: Bearer <token>` header is required",
            );
            refused.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Bearer"),
            );
            return refused;
        }
        Err(Refusal::NoToken(message)) => return reply::error(StatusCode::FORBIDDEN, message),
    }
    match route {
        Route::StatusPage => {
            reply::with_type(StatusCode::OK, "text/html; charset=utf-8", STATUS_PAGE)
        }
        Route::Reload => reload(supervisor).await,
        Route::SetState(vip, server) => match body::read::<StateBody>(body).await {
            Ok(change) => {
                with_runtime(supervisor, |rt| set_state(rt, vip, server, &change.state)).await
            }
            Err(message) => reply::error(StatusCode::BAD_REQUEST, message),
        },
        Route::SetWeight(vip, server) => match body::read::<WeightBody>(body).await {
            Ok(change) => {
                with_runtime(supervisor, |rt| set_weight(rt, vip, server, change.weight)).await
            }
            Err(message) => reply::error(StatusCode::BAD_REQUEST, message),
        },
        Route::AddServer(vip) => match body::read::<NewServer>(body).await {
            Ok(new) => with_runtime(supervisor, |rt| add_server(rt, vip, &new)).await,
            Err(message) => reply::error(StatusCode::BAD_REQUEST, message),
        },
        Route::Cluster => match cluster_status(supervisor).await {
            Some(status) => reply::json(StatusCode::OK, &status),
            None => reply::error(StatusCode::NOT_FOUND, "no [cluster] is configured"),
        },
        Route::ClusterHealth => cluster_health(supervisor).await,
        Route::Metrics => {
            let cluster = cluster_status(supervisor).await;
            with_runtime(supervisor, |rt| {
                let text = render_metrics(rt, cluster.as_ref());
                reply::with_type(
                    StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    text,
                )
            })
            .await
        }
        Route::Vips => {
            with_runtime(supervisor, |rt| {
                let vips: Vec<VipView> = rt.vips().iter().map(VipView::of).collect();
                reply::json(StatusCode::OK, &VipList { vips })
            })
            .await
        }
        Route::Vip(vip) => {
            with_runtime(supervisor, |rt| match rt.vip(vip) {
                Some(running) => reply::json(StatusCode::OK, &VipView::of(running)),
                None => unknown_vip(vip),
            })
            .await
        }
        Route::RemoveServer(vip, server) => {
            with_runtime(supervisor, |rt| remove_server(rt, vip, server)).await
        }
        Route::ClearPersistence(vip) => {
            with_runtime(supervisor, |rt| clear_persistence(rt, vip)).await
        }
    }
}

/// The pair's status, when this node is one of a pair.
async fn cluster_status(supervisor: &Supervisor) -> Option<ClusterStatus> {
    supervisor.cluster()?.status().await
}

/// 200 when this node may hold the VIPs (what keepalived's check script asks), else 503 with
/// the reason: shutting down, or still syncing the peer's tables. A node without `[cluster]`
/// may hold them whenever it runs.
async fn cluster_health(supervisor: &Supervisor) -> Reply {
    #[derive(Serialize)]
    struct Healthy {
        ready: bool,
    }
    if supervisor.runtime().await.is_none() {
        return reply::error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    }
    let not_ready = match supervisor.cluster() {
        Some(cluster) => match cluster.status().await {
            Some(status) => status.not_ready(),
            None => Some("the cluster task has stopped".to_owned()),
        },
        None => None,
    };
    match not_ready {
        Some(reason) => reply::error(StatusCode::SERVICE_UNAVAILABLE, reason),
        None => reply::json(StatusCode::OK, &Healthy { ready: true }),
    }
}

#[derive(Serialize)]
struct VipList {
    vips: Vec<VipView>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightBody {
    weight: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewServer {
    name: String,
    address: SocketAddr,
    #[serde(default = "default_weight")]
    weight: u32,
    #[serde(default)]
    backup: bool,
}

fn default_weight() -> u32 {
    Server::DEFAULT_WEIGHT.into()
}

async fn with_runtime(
    supervisor: &Supervisor,
    answer: impl FnOnce(&mut Runtime) -> Reply,
) -> Reply {
    match supervisor.runtime().await.as_mut() {
        Some(runtime) => answer(runtime),
        None => reply::error(StatusCode::SERVICE_UNAVAILABLE, "shutting down"),
    }
}

fn set_state(runtime: &mut Runtime, vip: &str, server: &str, state: &str) -> Reply {
    let Some(admin) = AdminState::from_name(state) else {
        return reply::error(
            StatusCode::BAD_REQUEST,
            format!("unknown state `{state}`: expected `ready`, `drain` or `maintenance`"),
        );
    };
    on_server(runtime, vip, server, |running, _| {
        running.set_admin_state(server, admin)?;
        info!(%vip, %server, state, "admin: state set");
        Ok(StatusCode::OK)
    })
}

fn set_weight(runtime: &mut Runtime, vip: &str, server: &str, weight: u32) -> Reply {
    on_server(runtime, vip, server, |running, _| {
        running.set_weight(server, weight)?;
        info!(%vip, %server, weight, "admin: weight set");
        Ok(StatusCode::OK)
    })
}

fn add_server(runtime: &mut Runtime, vip: &str, new: &NewServer) -> Reply {
    let Some(running) = runtime.vip_mut(vip) else {
        return unknown_vip(vip);
    };
    match running.add_server(&new.name, new.address, new.weight, new.backup) {
        Ok(_) => {
            info!(%vip, server = %new.name, address = %new.address, "admin: server added");
            server_reply(running, &new.name, StatusCode::CREATED)
        }
        Err(error) => change_error(&error),
    }
}

fn remove_server(runtime: &mut Runtime, vip: &str, server: &str) -> Reply {
    let Some(running) = runtime.vip_mut(vip) else {
        return unknown_vip(vip);
    };
    match running.remove_server(server) {
        Ok(()) => {
            info!(%vip, %server, "admin: server removed");
            reply::json(StatusCode::OK, &Removed { removed: server })
        }
        Err(error) => change_error(&error),
    }
}

fn clear_persistence(runtime: &mut Runtime, vip: &str) -> Reply {
    let Some(running) = runtime.vip(vip) else {
        return unknown_vip(vip);
    };
    let cleared = running.clear_persistence();
    info!(%vip, cleared, "admin: persistence cleared");
    reply::json(StatusCode::OK, &Cleared { cleared })
}

#[derive(Serialize)]
struct Removed<'a> {
    removed: &'a str,
}

#[derive(Serialize)]
struct Cleared {
    cleared: usize,
}

async fn reload(supervisor: &Supervisor) -> Reply {
    #[derive(Serialize)]
    struct Invalid {
        error: &'static str,
        errors: Vec<String>,
    }
    match supervisor.reload().await {
        Ok(report) => reply::json(StatusCode::OK, &report),
        Err(ReloadError::Invalid(errors)) => reply::json(
            StatusCode::BAD_REQUEST,
            &Invalid {
                error: "the configuration is invalid; the running configuration is unchanged",
                errors,
            },
        ),
        Err(ReloadError::Start(error)) => reply::error(
            StatusCode::CONFLICT,
            format!("{error}; the running configuration is unchanged"),
        ),
        Err(ReloadError::ShuttingDown) => {
            reply::error(StatusCode::SERVICE_UNAVAILABLE, "shutting down")
        }
    }
}

/// Runs `change` on server `server` of VIP `vip`, then answers with the server's view.
fn on_server(
    runtime: &mut Runtime,
    vip: &str,
    server: &str,
    change: impl FnOnce(&RunningVip, &Server) -> Result<StatusCode, ChangeError>,
) -> Reply {
    let Some(running) = runtime.vip(vip) else {
        return unknown_vip(vip);
    };
    let outcome = running
        .server(server)
        .and_then(|found| change(running, &found));
    match outcome {
        Ok(status) => server_reply(running, server, status),
        Err(error) => change_error(&error),
    }
}

fn server_reply(running: &RunningVip, server: &str, status: StatusCode) -> Reply {
    match running.server(server) {
        Ok(found) => reply::json(status, &ServerView::of(running, &found)),
        Err(error) => change_error(&error),
    }
}

fn change_error(error: &ChangeError) -> Reply {
    let status = match error {
        ChangeError::UnknownServer { .. } => StatusCode::NOT_FOUND,
        ChangeError::Duplicate { .. } => StatusCode::CONFLICT,
        ChangeError::Weight { .. } => StatusCode::BAD_REQUEST,
    };
    reply::error(status, error.to_string())
}

fn unknown_vip(vip: &str) -> Reply {
    reply::error(StatusCode::NOT_FOUND, format!("no VIP `{vip}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_follow_the_documented_paths_and_methods() {
        let parse = |method: Method, path| Route::parse(&method, path);
        assert_eq!(parse(Method::GET, "/"), Ok(Route::StatusPage));
        assert_eq!(parse(Method::GET, "/metrics"), Ok(Route::Metrics));
        assert_eq!(parse(Method::GET, "/api/vips/"), Ok(Route::Vips));
        assert_eq!(parse(Method::GET, "/api/vips/web"), Ok(Route::Vip("web")));
        assert_eq!(
            parse(Method::PUT, "/api/vips/web/servers/a/state"),
            Ok(Route::SetState("web", "a"))
        );
        assert_eq!(
            parse(Method::PUT, "/api/vips/web/servers/a/weight"),
            Ok(Route::SetWeight("web", "a"))
        );
        assert_eq!(
            parse(Method::POST, "/api/vips/web/servers"),
            Ok(Route::AddServer("web"))
        );
        assert_eq!(
            parse(Method::DELETE, "/api/vips/web/servers/a"),
            Ok(Route::RemoveServer("web", "a"))
        );
        assert_eq!(
            parse(Method::DELETE, "/api/vips/web/persistence"),
            Ok(Route::ClearPersistence("web"))
        );
        assert_eq!(parse(Method::POST, "/api/reload"), Ok(Route::Reload));
        assert_eq!(parse(Method::GET, "/api/reload"), Err(true));
        assert_eq!(parse(Method::DELETE, "/api/vips/web"), Err(true));
        assert_eq!(parse(Method::GET, "/api/nothing"), Err(false));
    }
}
