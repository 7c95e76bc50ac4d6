//! Prometheus metrics: requests by action and code, request latency,
//! commit batch sizes and durations, and stock per area (read at scrape time).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    latency: Histogram,
    batches: Histogram,
    commits: Histogram,
    stock: Family<Labels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("didgate");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "Requests by action and result code",
            requests.clone(),
        );
        // 50 µs to about 3 s.
        let latency = Histogram::new(exponential_buckets(0.000_05, 2.0, 16));
        registry.register(
            "request_duration_seconds",
            "Time from request head to reply",
            latency.clone(),
        );
        let batches = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "commit_batch_jobs",
            "Mutations committed per write transaction",
            batches.clone(),
        );
        // The disk's fsync latency shows here; 25 ms is the order latency
        // budget, so it is a bucket boundary.
        let commits = Histogram::new([
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ]);
        registry.register(
            "commit_duration_seconds",
            "Time of each COMMIT of the writer (WAL write and fsync)",
            commits.clone(),
        );
        let stock = Family::<Labels, Gauge>::default();
        registry.register("stock", "Numbers available now, per area", stock.clone());
        Metrics {
            registry,
            requests,
            latency,
            batches,
            commits,
            stock,
        }
    }

    pub fn request(&self, action: &str, code: &str, seconds: f64) {
        self.requests
            .get_or_create(&vec![
                ("action", action.to_owned()),
                ("code", code.to_owned()),
            ])
            .inc();
        self.latency.observe(seconds);
    }

    pub fn batch(&self, jobs: usize, took: std::time::Duration) {
        self.batches.observe(jobs as f64);
        self.commits.observe(took.as_secs_f64());
    }

    /// The text exposition, with the stock gauges set from `stock`.
    pub fn render(&self, stock: &[(String, i64)]) -> String {
        self.stock.clear();
        for (area, n) in stock {
            self.stock
                .get_or_create(&vec![("area", area.clone())])
                .set(*n);
        }
        let mut out = String::new();
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn renders_prometheus_text() {
        let m = super::Metrics::new();
        m.request("DID.ORDER", "OK", 0.002);
        m.batch(3, std::time::Duration::from_millis(30));
        let text = m.render(&[("us-ny-718".into(), 10)]);
        assert!(
            text.contains(r#"didgate_requests_total{action="DID.ORDER",code="OK"} 1"#),
            "{text}"
        );
        assert!(
            text.contains("didgate_request_duration_seconds_bucket"),
            "{text}"
        );
        assert!(text.contains("didgate_commit_batch_jobs_count 1"), "{text}");
        assert!(
            text.contains(r#"didgate_commit_duration_seconds_bucket{le="0.025"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"didgate_commit_duration_seconds_bucket{le="0.05"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"didgate_stock{area="us-ny-718"} 10"#),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
