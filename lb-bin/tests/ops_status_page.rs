//! The status page of the real `lb` binary, as a person sees it in headless Chromium (driven
//! by chromedriver): every server with its state, live counters, and buttons that work once
//! the admin token is entered.

mod support;

use support::admin::{Listener, ctl, server};
use support::backend::{Backend, Session};
use support::lb::Lb;
use support::webdriver::Browser;
use support::{free_port, local};

#[test]
fn the_status_page_shows_every_server_live_and_its_buttons_change_states() {
    let dir = tempfile::tempdir().unwrap();
    let listener = Listener::new(dir.path(), "page-token");
    let admin = listener.address;
    let (a, b) = (Backend::start("a"), Backend::start("b"));
    let (vip, gone) = (local(free_port()), local(free_port()));
    let lb = Lb::start(
        dir.path(),
        &format!(
            r#"
{section}
[[vip]]
name = "app"
listen = ["{vip}"]
check = {{ kind = "tcp", interval = "200ms", rise = 1, fall = 1 }}
servers = [ {{ name = "a", address = "{a}" }}, {{ name = "b", address = "{b}" }}, {{ name = "c", address = "{gone}" }} ]
"#,
            section = listener.section(),
            a = a.address,
            b = b.address,
        ),
    );
    lb.wait_health("c", "down");

    let browser = Browser::start(dir.path());
    browser.open(&format!("http://{admin}/"));
    browser.wait_text("#server-app-a .state", "up");
    browser.wait_text("#server-app-b .state", "up");
    browser.wait_text("#server-app-c .state", "down");
    let heading = browser.text("#vip-app h2").unwrap();
    assert!(heading.contains("2 up · 1 down"), "{heading}");
    assert!(
        !browser.displayed(r#"button[data-server="a"][data-state="drain"]"#),
        "no buttons without a token"
    );

    browser.type_into("#token", "page-token");
    browser.click("#use-token");
    assert!(browser.displayed(r#"button[data-server="a"][data-state="drain"]"#));
    browser.click(r#"button[data-server="a"][data-state="drain"]"#);
    browser.wait_text("#server-app-a .state", "drain");
    browser.wait_text("#message", "app/a: drain");
    let heading = browser.text("#vip-app h2").unwrap();
    assert!(heading.contains("1 up · 1 drain · 1 down"), "{heading}");
    let app = ctl(admin, None, &["vip", "app"]).json();
    assert_eq!(
        server(&app, "a")["state"],
        "drain",
        "the click changed the running state"
    );

    // Live refresh: sessions opened now show up without reloading the page.
    let sessions: Vec<Session> = (0..3).map(|_| Session::open(vip)).collect();
    assert!(sessions.iter().all(|s| s.server == "b"));
    let open_b = "#server-app-b td:nth-child(5)";
    browser.wait_text(open_b, "3");
    browser.screenshot(&std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png"));

    browser.click(r#"button[data-server="a"][data-state="maintenance"]"#);
    browser.wait_text("#server-app-a .state", "maintenance");
    browser.click(r#"button[data-server="a"][data-state="ready"]"#);
    browser.wait_text("#server-app-a .state", "up");
}
