//! Header rules, path rewrites and redirects as a real nginx server and the client see them.

mod http_support;

use http_support::nginx::Nginx;
use http_support::{get, http_vip};
use lb_core::model::{HeaderRule, PathMatch, PathRegex, PathRewrite, Redirect, RedirectTarget};
use lb_proxy::Service;

fn word<'b>(body: &'b str, key: &str) -> &'b str {
    body.split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{key}=")))
        .unwrap_or_default()
}

#[tokio::test]
async fn header_rules_and_rewrites_reach_the_server_and_the_client() {
    let server = Nginx::start("one", "");
    let mut vip = http_vip(&[server.address]);
    let name = |n: &str| n.to_owned();
    vip.http.request_headers = vec![
        HeaderRule::Set {
            name: name("X-Rule"),
            value: name("set-by-lb"),
        },
        HeaderRule::Delete {
            name: name("X-Debug"),
        },
    ];
    vip.http.response_headers = vec![
        HeaderRule::Add {
            name: name("Strict-Transport-Security"),
            value: name("max-age=31536000"),
        },
        HeaderRule::Delete {
            name: name("Server"),
        },
    ];
    vip.http.rewrites = vec![
        PathRewrite {
            path: PathMatch::Prefix(name("/old/")),
            replace: name("/new/"),
        },
        PathRewrite {
            path: PathMatch::Regex(PathRegex::new("^/v1/([a-z]+)$").unwrap()),
            replace: name("/v2/$1/index"),
        },
    ];
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let reply = get(
        address,
        "/old/page?q=1",
        "X-Rule: from-client\r\nX-Debug: secret\r\n",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(word(&reply.body, "rule"), "[set-by-lb]");
    assert_eq!(word(&reply.body, "debug"), "[]");
    assert_eq!(word(&reply.body, "uri"), "/new/page?q=1");
    assert_eq!(
        reply.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    assert_eq!(
        reply.header("server"),
        None,
        "nginx's Server field was deleted"
    );
    let regex = get(address, "/v1/images", "").await;
    assert_eq!(word(&regex.body, "uri"), "/v2/images/index");
    assert_eq!(
        word(&get(address, "/v1/a/b", "").await.body, "uri"),
        "/v1/a/b"
    );
    service.stop().await;
}

#[tokio::test]
async fn plain_http_is_redirected_to_https_with_301_and_nothing_reaches_the_server() {
    let server = http_support::Tripwire::start().await;
    let mut vip = http_vip(&[server.address]);
    vip.http.redirects = vec![
        Redirect {
            path: PathMatch::Exact("/".to_owned()),
            to: RedirectTarget::Location("/dashboard".to_owned()),
            status: 302,
        },
        Redirect {
            path: PathMatch::Prefix("/".to_owned()),
            to: RedirectTarget::Https { port: None },
            status: 301,
        },
    ];
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let reply = get(address, "/dashboard/project/?tab=1", "").await;
    assert_eq!(reply.status, 301);
    assert_eq!(
        reply.header("location"),
        Some("https://test/dashboard/project/?tab=1")
    );
    let root = get(address, "/", "").await;
    assert_eq!(
        (root.status, root.header("location")),
        (302, Some("/dashboard"))
    );
    assert_eq!(server.seen().0, 0);
    service.stop().await;
}
