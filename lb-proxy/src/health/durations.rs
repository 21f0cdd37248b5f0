//! How long active health probes take, per server: the histogram behind
//! `lb_server_check_duration_seconds` (1 ms to 8 s buckets), filled by the check runner and
//! rendered by the metrics page.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

/// The labels of a per-server metric.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ServerLabels {
    pub(crate) vip: String,
    pub(crate) server: String,
}

type Histograms = Family<ServerLabels, Histogram, fn() -> Histogram>;

/// How long active health probes take, per server; shared by every VIP's checks of one
/// `Runtime`. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CheckDurations(Histograms);

impl Default for CheckDurations {
    fn default() -> Self {
        fn histogram() -> Histogram {
            Histogram::new(exponential_buckets(0.001, 2.0, 14))
        }
        CheckDurations(Family::new_with_constructor(histogram))
    }
}

impl CheckDurations {
    /// Records one probe of `server` of `vip` that took `seconds`.
    pub(crate) fn observe(&self, vip: &str, server: &str, seconds: f64) {
        self.0
            .get_or_create(&ServerLabels::new(vip, server))
            .observe(seconds);
    }

    /// Forgets a server removed from `vip`.
    pub(crate) fn forget(&self, vip: &str, server: &str) {
        self.0.remove(&ServerLabels::new(vip, server));
    }
}

impl ServerLabels {
    /// The labels of `server` of `vip`.
    pub(crate) fn new(vip: &str, server: &str) -> Self {
        ServerLabels {
            vip: vip.to_owned(),
            server: server.to_owned(),
        }
    }
}

impl CheckDurations {
    /// The histograms, to render.
    pub(crate) fn histograms(&self) -> &Family<ServerLabels, Histogram, fn() -> Histogram> {
        &self.0
    }
}
