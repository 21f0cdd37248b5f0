//! The Grafana dashboard in `packaging/grafana-dashboard.json` charts only metrics that lb
//! exports: every `lb_*` name in its queries is on the `/metrics` page of a running `lb` with
//! an http VIP, a tcp VIP, health checks and a `[cluster]` table.

mod support;

use support::admin::{Listener, ctl};
use support::backend::Backend;
use support::lb::Lb;
use support::{free_port, local};

/// Every `lb_*` metric name in `text`.
fn metric_names(text: &str) -> Vec<String> {
    let mut names: Vec<String> = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| word.starts_with("lb_"))
        .map(str::to_owned)
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Every query of the dashboard (panel targets and template variables).
fn queries(dashboard: &serde_json::Value) -> Vec<String> {
    let mut queries: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|panel| panel["targets"].as_array().expect("targets").clone())
        .map(|target| target["expr"].as_str().expect("expr").to_owned())
        .collect();
    for variable in dashboard["templating"]["list"].as_array().unwrap() {
        if variable["type"] == "query" {
            queries.push(variable["query"].as_str().unwrap().to_owned());
        }
    }
    queries
}

#[test]
fn every_metric_the_dashboard_charts_is_exported() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../packaging/grafana-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let charted = metric_names(&queries(&dashboard).join("\n"));
    assert!(charted.len() >= 20, "the dashboard charts {charted:?}");

    let backend = Backend::start("a");
    let dir = tempfile::tempdir().unwrap();
    let admin = Listener::new(dir.path(), "token");
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "a secret of enough bytes\n").unwrap();
    let config = format!(
        "{}\n[cluster]\nnode = \"a\"\nlisten = \"{}\"\npeer = {{ name = \"b\", address = \"{}\" }}\n\
         secret_file = \"{}\"\n\n\
         [[vip]]\nname = \"web\"\nlisten = \"{}\"\nmode = \"http\"\n\
         check = {{ interval = \"100ms\", rise = 1 }}\nservers = [{{ name = \"a\", address = \"{}\" }}]\n\n\
         [[vip]]\nname = \"tcp\"\nlisten = \"{}\"\nmode = \"tcp\"\n\
         check = {{ interval = \"100ms\", rise = 1 }}\nservers = [{{ name = \"a\", address = \"{}\" }}]\n",
        admin.section(),
        local(free_port()),
        local(free_port()),
        secret.display(),
        local(free_port()),
        backend.address,
        local(free_port()),
        backend.address,
    );
    let lb = Lb::start(dir.path(), &config);
    // The check duration histogram appears with the first probe.
    let _running = lb;
    let deadline = std::time::Instant::now() + support::EVENT_TIMEOUT;
    let exported = loop {
        let page = ctl(admin.address, None, &["metrics"]).stdout;
        if page.contains("lb_server_check_duration_seconds_bucket") {
            break page;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no check ran:\n{page}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let exported = metric_names(&exported);
    let missing: Vec<&String> = charted
        .iter()
        .filter(|name| !exported.contains(name))
        .collect();
    assert!(
        missing.is_empty(),
        "charted but not exported: {missing:?}\nexported: {exported:?}"
    );
}
