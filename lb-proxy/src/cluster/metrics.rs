//! The pair's Prometheus metrics, added to `/metrics` when `[cluster]` is configured.
//!
//! Per VIP (label `vip`): `lb_vip_local` (1 while this host holds its addresses),
//! `lb_cluster_split_brain` (1 while the peer holds them too), `lb_cluster_config_drift` (1
//! while the peer's configuration of it differs). For the link: `lb_cluster_peer_up`,
//! `lb_cluster_synced` (0 while `syncing`), `lb_cluster_peer_silence_seconds` (since the
//! peer's last frame: the replication lag's upper bound while the link is up),
//! `lb_cluster_entries`, and the counters `lb_cluster_updates_sent_total`,
//! `lb_cluster_updates_received_total{result}` (`applied`, `stale`, `rejected`),
//! `lb_cluster_auth_failures_total`, `lb_cluster_protocol_errors_total`,
//! `lb_cluster_connects_total`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::registry::Registry;

use super::{ClusterStatus, SyncState};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VipLabels {
    vip: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Registers the families of `status` in `registry`.
pub(crate) fn register(registry: &mut Registry, status: &ClusterStatus) {
    let local = Family::<VipLabels, Gauge>::default();
    let split = Family::<VipLabels, Gauge>::default();
    let drift = Family::<VipLabels, Gauge>::default();
    for vip in &status.vips {
        let labels = VipLabels {
            vip: vip.name.clone(),
        };
        local.get_or_create(&labels).set(vip.local.into());
        split.get_or_create(&labels).set(vip.split_brain.into());
        drift
            .get_or_create(&labels)
            .set((!vip.drift.is_empty()).into());
    }
    registry.register(
        "lb_vip_local",
        "1 while this host holds the VIP's addresses",
        local,
    );
    registry.register(
        "lb_cluster_split_brain",
        "1 while both nodes hold the VIP",
        split,
    );
    registry.register(
        "lb_cluster_config_drift",
        "1 while the peer's configuration of the VIP differs",
        drift,
    );
    let counters = &status.counters;
    let gauge = |value: i64| ConstGauge::new(value);
    registry.register(
        "lb_cluster_peer_up",
        "1 while the authenticated link to the peer is up",
        gauge(status.peer.connected.into()),
    );
    registry.register(
        "lb_cluster_synced",
        "0 while this node waits for the peer's tables",
        gauge((status.sync != SyncState::Syncing).into()),
    );
    let silence = status
        .peer
        .last_heard_ms
        .map_or(f64::NAN, |ms| ms as f64 / 1000.0);
    registry.register(
        "lb_cluster_peer_silence_seconds",
        "Time since the peer's last frame",
        ConstGauge::<f64>::new(silence),
    );
    registry.register(
        "lb_cluster_entries",
        "Live entries in the replicated tables",
        gauge(i64::try_from(status.entries).unwrap_or(i64::MAX)),
    );
    let counter = |value: u64| {
        let counter = Counter::<u64>::default();
        counter.inc_by(value);
        counter
    };
    registry.register(
        "lb_cluster_updates_sent",
        "Entry updates sent to the peer",
        counter(counters.updates_sent),
    );
    let received = Family::<ResultLabels, Counter>::default();
    for (result, value) in [
        ("applied", counters.updates_applied),
        ("stale", counters.updates_stale),
        ("rejected", counters.updates_rejected),
    ] {
        received
            .get_or_create(&ResultLabels { result })
            .inc_by(value);
    }
    registry.register(
        "lb_cluster_updates_received",
        "Entry updates received from the peer, by what became of them",
        received,
    );
    registry.register(
        "lb_cluster_auth_failures",
        "Connections refused for a wrong secret, an altered or a replayed frame",
        counter(counters.auth_failures),
    );
    registry.register(
        "lb_cluster_protocol_errors",
        "Links ended on a protocol error",
        counter(counters.protocol_errors),
    );
    registry.register(
        "lb_cluster_connects",
        "Links established",
        counter(counters.connects),
    );
}
