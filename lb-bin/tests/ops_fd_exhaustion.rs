//! Out of file descriptors: `lb run` under a low limit (`prlimit --nofile`) serves clients up
//! to what its descriptors allow, keeps serving the sessions it has while new clients wait,
//! logs the failed accepts once per interval rather than per attempt, and recovers by itself
//! once descriptors free up.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use support::backend::Backend;
use support::lb::Lb;
use support::{free_port, local};

/// Descriptors `lb run` may hold: a few for itself, two per TCP session.
const FILES: u32 = 48;
/// Clients opened, more than the descriptors allow.
const CLIENTS: usize = 40;

/// A client connected to `port`, and whether it got its greeting within half a second.
fn connect(port: u16) -> (BufReader<TcpStream>, bool) {
    let stream = TcpStream::connect(local(port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut client = BufReader::new(stream);
    let mut greeting = String::new();
    let greeted = client.read_line(&mut greeting).is_ok() && greeting == "b\n";
    (client, greeted)
}

#[test]
fn out_of_descriptors_lb_keeps_its_sessions_logs_once_and_recovers() {
    let backend = Backend::start("b");
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[[vip]]\nname = \"tcp\"\nlisten = \"127.0.0.1:{port}\"\nmode = \"tcp\"\n\
         check = {{ interval = \"1h\" }}\n\
         servers = [{{ name = \"b\", address = \"{}\" }}]\n",
        backend.address
    );
    let lb = Lb::start_with_file_limit(dir.path(), &config, FILES);
    let started = std::time::Instant::now();
    let mut clients: Vec<(BufReader<TcpStream>, bool)> =
        (0..CLIENTS).map(|_| connect(port)).collect();
    let served = clients.iter().filter(|(_, greeted)| *greeted).count();
    assert!(
        (5..CLIENTS).contains(&served),
        "some clients are served, not all: {served} of {CLIENTS}\n{}",
        lb.process.tail()
    );
    // A session established before the shortage goes on.
    let first = &mut clients[0];
    assert!(first.1, "the first client was served");
    first.0.get_mut().write_all(b"still here\n").unwrap();
    let mut echo = String::new();
    first.0.read_line(&mut echo).unwrap();
    assert_eq!(echo, "still here\n");
    lb.process
        .wait_for("accept failed", Duration::from_secs(10));
    // Accepts are retried every 50 ms while clients wait, twenty a second: the log gets one
    // line per 5 s interval, however long the clients above took to connect.
    std::thread::sleep(Duration::from_secs(1));
    let lines = lb.process.output();
    let failed: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("accept failed"))
        .collect();
    let intervals = started.elapsed().as_secs() / 5 + 1;
    assert!(
        (1..=intervals as usize).contains(&failed.len()),
        "at most one line per 5 s over {intervals} intervals: {failed:#?}"
    );
    assert!(
        failed[1..].iter().all(|l| !l.ends_with("failed=1")),
        "a later line counts the failures of its interval: {failed:#?}"
    );
    assert!(failed[0].contains("Too many open files"), "{}", failed[0]);
    drop(clients);
    // Every client gone, descriptors free up: a new client is served without a restart.
    let (_client, greeted) = (0..20)
        .map(|_| connect(port))
        .find(|(_, greeted)| *greeted)
        .unwrap_or_else(|| panic!("no client served after the shortage\n{}", lb.process.tail()));
    assert!(greeted);
}
