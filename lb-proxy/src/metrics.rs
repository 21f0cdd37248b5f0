//! Prometheus metrics in the text exposition format (prometheus-client), rendered on each
//! scrape of the admin listener's `GET /metrics` from the services' counters.
//!
//! Per VIP (label `vip`): `lb_vip_connections_total` (accepted), `lb_vip_connections_active`,
//! `lb_vip_established_total`, `lb_vip_bytes_in_total` (client to server) and
//! `lb_vip_bytes_out_total`, `lb_vip_queue_length`, `lb_vip_errors_total{kind}` (`queue_full`,
//! `queue_timeout`, `bad_proxy_header`, `tls_handshake`, `connect_failure`, `no_server`,
//! `idle_timeout`, `closed_by_admin`, as in the JSON API), `lb_vip_http_responses_total{class}` (`1xx`..`5xx`, HTTP VIPs).
//! Per server (labels `vip`, `server`): `lb_server_up` (1 when checks pass), `lb_server_ready`
//! (1 unless drained or in maintenance), `lb_server_weight`, `lb_server_connections_total`,
//! `lb_server_connections_active`, `lb_server_bytes_in_total`, `lb_server_bytes_out_total`,
//! and `lb_server_check_duration_seconds` (a histogram of active probe durations, 1 ms to 8 s
//! buckets, kept by the health checks' [`crate::CheckDurations`]). Counters restart from zero
//! when `lb` restarts and are kept across reloads for VIPs and servers that stay.

use lb_core::model::{AdminState, Health};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::Runtime;
use crate::cluster::ClusterStatus;
use crate::health::ServerLabels;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VipLabels {
    vip: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    vip: String,
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabels {
    vip: String,
    class: &'static str,
}

/// Per-scrape families: filled from the counters, then encoded.
#[derive(Default)]
struct Families {
    vip_connections: Family<VipLabels, Counter>,
    vip_active: Family<VipLabels, Gauge>,
    vip_established: Family<VipLabels, Counter>,
    vip_bytes_in: Family<VipLabels, Counter>,
    vip_bytes_out: Family<VipLabels, Counter>,
    vip_queue: Family<VipLabels, Gauge>,
    vip_errors: Family<KindLabels, Counter>,
    vip_http: Family<ClassLabels, Counter>,
    server_up: Family<ServerLabels, Gauge>,
    server_ready: Family<ServerLabels, Gauge>,
    server_weight: Family<ServerLabels, Gauge>,
    server_connections: Family<ServerLabels, Counter>,
    server_active: Family<ServerLabels, Gauge>,
    server_bytes_in: Family<ServerLabels, Counter>,
    server_bytes_out: Family<ServerLabels, Counter>,
}

/// The whole `/metrics` page for `runtime`, and for this node of a pair when `cluster` is
/// given (see [`crate::cluster`]'s metrics).
pub fn render(runtime: &Runtime, cluster: Option<&ClusterStatus>) -> String {
    let families = Families::default();
    for running in runtime.vips() {
        families.add_vip(running);
    }
    let mut registry = Registry::default();
    families.register(&mut registry);
    registry.register(
        "lb_server_check_duration_seconds",
        "Duration of active health probes",
        runtime.check_durations().histograms().clone(),
    );
    if let Some(status) = cluster {
        crate::cluster::register_metrics(&mut registry, status);
    }
    let mut text = String::new();
    encode(&mut text, &registry).expect("writing to a String cannot fail");
    text
}

impl Families {
    fn add_vip(&self, running: &crate::RunningVip) {
        let name = running.service.name().to_owned();
        let stats = running.service.stats();
        let vip = VipLabels { vip: name.clone() };
        let active: u32 = stats.servers.iter().map(|server| server.active).sum();
        self.vip_connections
            .get_or_create(&vip)
            .inc_by(stats.accepted);
        self.vip_active.get_or_create(&vip).set(active.into());
        self.vip_established
            .get_or_create(&vip)
            .inc_by(stats.established);
        self.vip_bytes_in
            .get_or_create(&vip)
            .inc_by(stats.client_to_server_bytes);
        self.vip_bytes_out
            .get_or_create(&vip)
            .inc_by(stats.server_to_client_bytes);
        self.vip_queue.get_or_create(&vip).set(stats.queued.into());
        let errors = stats.errors_by_kind();
        for (kind, count) in errors {
            let labels = KindLabels {
                vip: name.clone(),
                kind,
            };
            self.vip_errors.get_or_create(&labels).inc_by(count);
        }
        let classes = ["1xx", "2xx", "3xx", "4xx", "5xx"];
        for (class, count) in classes.into_iter().zip(stats.http_responses) {
            let labels = ClassLabels {
                vip: name.clone(),
                class,
            };
            self.vip_http.get_or_create(&labels).inc_by(count);
        }
        let pool = running.service.pool();
        for server in running.service.servers() {
            let Some(member) = pool.member(server.id) else {
                continue;
            };
            let labels = ServerLabels::new(&name, &server.name);
            let live = &member.live;
            let up = i64::from(member.health == Health::Up);
            let ready = i64::from(member.admin == AdminState::Ready);
            self.server_up.get_or_create(&labels).set(up);
            self.server_ready.get_or_create(&labels).set(ready);
            self.server_weight
                .get_or_create(&labels)
                .set(member.weight.into());
            self.server_connections
                .get_or_create(&labels)
                .inc_by(live.total());
            self.server_active
                .get_or_create(&labels)
                .set(live.active().into());
            self.server_bytes_in
                .get_or_create(&labels)
                .inc_by(live.bytes_from_clients());
            self.server_bytes_out
                .get_or_create(&labels)
                .inc_by(live.bytes_to_clients());
        }
    }

    fn register(self, registry: &mut Registry) {
        let r = registry;
        r.register(
            "lb_vip_connections",
            "Client connections accepted",
            self.vip_connections,
        );
        r.register(
            "lb_vip_connections_active",
            "Client connections open to a server",
            self.vip_active,
        );
        r.register(
            "lb_vip_established",
            "Sessions that reached a server",
            self.vip_established,
        );
        r.register(
            "lb_vip_bytes_in",
            "Bytes from clients to servers",
            self.vip_bytes_in,
        );
        r.register(
            "lb_vip_bytes_out",
            "Bytes from servers to clients",
            self.vip_bytes_out,
        );
        r.register(
            "lb_vip_queue_length",
            "Connections waiting for a slot",
            self.vip_queue,
        );
        r.register(
            "lb_vip_errors",
            "Connections refused or ended abnormally, by kind",
            self.vip_errors,
        );
        r.register(
            "lb_vip_http_responses",
            "HTTP responses sent to clients, by status class",
            self.vip_http,
        );
        r.register(
            "lb_server_up",
            "1 when the server passes its health checks",
            self.server_up,
        );
        r.register(
            "lb_server_ready",
            "1 unless the server is drained or in maintenance",
            self.server_ready,
        );
        r.register(
            "lb_server_weight",
            "The server's weight",
            self.server_weight,
        );
        r.register(
            "lb_server_connections",
            "Connections opened to the server",
            self.server_connections,
        );
        r.register(
            "lb_server_connections_active",
            "Connections open to the server",
            self.server_active,
        );
        r.register(
            "lb_server_bytes_in",
            "Bytes from clients to the server",
            self.server_bytes_in,
        );
        r.register(
            "lb_server_bytes_out",
            "Bytes from the server to clients",
            self.server_bytes_out,
        );
    }
}
