//! Cookie persistence in HTTP mode with real nginx servers and curl's cookie jar.

mod http_support;

use std::net::SocketAddr;
use std::process::Command;

use http_support::nginx::Nginx;
use http_support::{get, http_vip};
use lb_core::model::{Health, Persistence, ServerId};
use lb_proxy::Service;

/// `GET /` with curl and the cookie jar at `jar`: the name of the server that answered.
fn curl(vip: SocketAddr, jar: &std::path::Path) -> String {
    let output = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-b"])
        .arg(jar)
        .arg("-c")
        .arg(jar)
        .arg(format!("http://{vip}/"))
        .output()
        .expect("curl must be installed");
    assert!(output.status.success(), "{output:?}");
    let body = String::from_utf8(output.stdout).unwrap();
    assert!(
        !body.contains("SERVERID"),
        "the server saw the cookie: {body}"
    );
    body.split_whitespace()
        .next()
        .unwrap()
        .trim_start_matches("name=")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_stays_on_its_server_for_100_requests_then_moves_when_it_goes_down() {
    let servers = [
        Nginx::start("one", ""),
        Nginx::start("two", ""),
        Nginx::start("three", ""),
    ];
    let addresses: Vec<_> = servers.iter().map(|s| s.address).collect();
    let mut vip = http_vip(&addresses);
    vip.persistence = Persistence::cookie();
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let jar = std::env::temp_dir().join(format!("lb-http-jar-{}", std::process::id()));
    let _ = std::fs::remove_file(&jar);
    let first = {
        let jar = jar.clone();
        tokio::task::spawn_blocking(move || {
            (0..100).map(|_| curl(address, &jar)).collect::<Vec<_>>()
        })
        .await
        .unwrap()
    };
    assert!(first.iter().all(|name| *name == first[0]), "{first:?}");
    let down = ["one", "two", "three"]
        .iter()
        .position(|n| *n == first[0])
        .unwrap() as u32
        + 1;
    service.set_health(ServerId(down), Health::Down).unwrap();
    let after = {
        let jar = jar.clone();
        tokio::task::spawn_blocking(move || {
            (0..20).map(|_| curl(address, &jar)).collect::<Vec<_>>()
        })
        .await
        .unwrap()
    };
    assert_ne!(after[0], first[0]);
    assert!(
        after.iter().all(|name| *name == after[0]),
        "reassigned once, then sticky: {after:?}"
    );
    service.set_health(ServerId(down), Health::Up).unwrap();
    let back = tokio::task::spawn_blocking(move || curl(address, &jar))
        .await
        .unwrap();
    assert_eq!(back, after[0], "no failback once reassigned");
    service.stop().await;
}

#[tokio::test]
async fn the_cookie_is_set_private_and_stripped_before_the_server() {
    let servers = [Nginx::start("one", ""), Nginx::start("two", "")];
    let mut vip = http_vip(&[servers[0].address, servers[1].address]);
    vip.persistence = Persistence::cookie();
    let service = Service::start(vip).unwrap();
    let address = service.local_addrs()[0];
    let first = get(address, "/", "Cookie: lang=en\r\n").await;
    let set = first
        .header("set-cookie")
        .expect("a cookie is set")
        .to_owned();
    assert!(
        set.starts_with("SERVERID=") && set.contains("HttpOnly"),
        "{set}"
    );
    assert_eq!(first.header("cache-control"), Some("private"));
    let pair = set.split(';').next().unwrap();
    for _ in 0..5 {
        let again = get(address, "/", &format!("Cookie: a=1; {pair}; b=2\r\n")).await;
        assert!(again.body.contains("cookie=[a=1; b=2]"), "{}", again.body);
        assert_eq!(
            again.header("set-cookie"),
            None,
            "a valid cookie is not set again"
        );
        assert_eq!(first.body.split(' ').next(), again.body.split(' ').next());
    }
    let forged = get(
        address,
        "/",
        "Cookie: SERVERID=00000000000000000000000000000000\r\n",
    )
    .await;
    assert!(
        forged.header("set-cookie").is_some(),
        "a forged cookie is replaced"
    );
    service.stop().await;
}
