//! Graceful shutdown of the real `lb` binary: on SIGTERM it stops accepting at once, lets a
//! long transfer finish, then exits 0; a connection still open at `shutdown_timeout` is
//! closed and `lb` still exits 0. Under systemd, it reports readiness, reloads and stopping
//! on `$NOTIFY_SOCKET`.

mod support;

use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use support::backend::{Streamer, first_bytes, read_to_end};
use support::lb::{Lb, wait_ready};
use support::process::Process;
use support::{EVENT_TIMEOUT, free_port, local};

fn config(
    shutdown_timeout: &str,
    vip: std::net::SocketAddr,
    server: std::net::SocketAddr,
) -> String {
    format!(
        r#"
[global]
shutdown_timeout = "{shutdown_timeout}"
[[vip]]
name = "download"
listen = ["{vip}"]
servers = [ {{ name = "streamer", address = "{server}" }} ]
"#
    )
}

#[test]
fn sigterm_during_a_long_transfer_lets_it_complete_then_exits_0() {
    const TOTAL: usize = 24 * 64 * 1024;
    let dir = tempfile::tempdir().unwrap();
    // 1.5 MiB at 64 KiB every 100 ms: about 2.4 s.
    let streamer = Streamer::start(TOTAL, 64 * 1024, Duration::from_millis(100));
    let vip = local(free_port());
    let mut lb = Lb::start(dir.path(), &config("20s", vip, streamer.address));

    let mut client = TcpStream::connect(vip).unwrap();
    let first = first_bytes(&mut client);
    let download =
        thread::spawn(move || (read_to_end(client).map(|rest| first + rest), Instant::now()));
    let signalled = Instant::now();
    lb.mark();
    lb.process.signal("TERM");
    lb.process.wait_for("listeners closed", EVENT_TIMEOUT);
    assert!(
        TcpStream::connect(vip).is_err(),
        "no new connection is accepted once stopping"
    );

    assert_eq!(lb.process.wait_exit(EVENT_TIMEOUT), Some(0));
    let exited = Instant::now();
    let (received, finished) = download.join().unwrap();
    assert_eq!(received.unwrap(), TOTAL, "the transfer completed");
    assert!(
        finished <= exited,
        "lb waited for the transfer before exiting"
    );
    assert!(
        finished.duration_since(signalled) > Duration::from_secs(1),
        "the transfer was still running when SIGTERM came"
    );
    let output = lb.process.output().join("\n");
    assert!(
        output.contains("every_connection_finished=true"),
        "{output}"
    );
    println!(
        "graceful shutdown: transfer ended {:?} after SIGTERM, lb exited {:?} after it",
        finished.duration_since(signalled),
        exited.duration_since(finished)
    );
}

#[test]
fn a_connection_open_at_the_deadline_is_closed_and_lb_still_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    // 1 KiB a second for an hour: never done in time.
    let streamer = Streamer::start(3600 * 1024, 1024, Duration::from_secs(1));
    let vip = local(free_port());
    let mut lb = Lb::start(dir.path(), &config("1s", vip, streamer.address));
    let mut client = TcpStream::connect(vip).unwrap();
    first_bytes(&mut client);
    let download = thread::spawn(move || read_to_end(client));

    let signalled = Instant::now();
    lb.process.signal("TERM");
    assert_eq!(lb.process.wait_exit(EVENT_TIMEOUT), Some(0));
    let took = signalled.elapsed();
    assert!(
        took >= Duration::from_secs(1),
        "the deadline was honoured: {took:?}"
    );
    assert!(
        took < Duration::from_secs(5),
        "the deadline bounds the wait: {took:?}"
    );
    assert!(
        download.join().unwrap().is_ok(),
        "the client saw its connection close"
    );
    let output = lb.process.output().join("\n");
    assert!(
        output.contains("every_connection_finished=false"),
        "{output}"
    );
}

#[test]
fn systemd_hears_ready_reloading_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    let streamer = Streamer::start(1, 1, Duration::ZERO);
    let vip = local(free_port());
    let path = dir.path().join("lb.toml");
    std::fs::write(&path, config("1s", vip, streamer.address)).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_lb"));
    command
        .arg("run")
        .arg("-c")
        .arg(&path)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("NO_COLOR", "1");
    let mut lb = Process::spawn("lb", command);
    let next = || {
        let mut buffer = [0u8; 256];
        let read = socket.recv(&mut buffer).expect("a notification");
        String::from_utf8_lossy(&buffer[..read]).into_owned()
    };
    assert_eq!(next(), "READY=1");
    wait_ready(&lb);
    TcpStream::connect(vip).expect("VIPs listen once READY=1 is sent");
    lb.signal("HUP");
    assert_eq!(next(), "RELOADING=1");
    assert_eq!(next(), "READY=1");
    lb.signal("TERM");
    assert_eq!(next(), "STOPPING=1");
    assert_eq!(lb.wait_exit(EVENT_TIMEOUT), Some(0));
}
