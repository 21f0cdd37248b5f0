//! The request guard on whole and split streams: well-formed pipelined requests pass in any
//! split, each smuggling ambiguity is refused with its status, nothing passes after a refusal,
//! an upgrade's tunnel passes through, and the verdict never depends on how the bytes were cut
//! (property tests).

use super::*;

fn guard() -> RequestGuard {
    RequestGuard::new(GuardLimits::default())
}

fn verdict(request: &[u8]) -> Result<(), Violation> {
    guard().feed(request)
}

#[test]
fn passes_well_formed_pipelined_requests_in_any_split() {
    let stream: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n\
        POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nGET /\
        \r\nPUT /c HTTP/1.1\r\nhost: a:80\r\ntransfer-encoding: Chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n\
        GET http://a/b?c=d HTTP/1.0\r\n\r\n";
    assert_eq!(verdict(stream), Ok(()));
    for split in 0..stream.len() {
        let mut guard = guard();
        assert_eq!(guard.feed(&stream[..split]), Ok(()));
        assert_eq!(guard.feed(&stream[split..]), Ok(()), "split at {split}");
    }
}

#[test]
fn refuses_each_ambiguity_with_its_status() {
    let host = "Host: a\r\n";
    let cases: Vec<(String, u16)> = vec![
        (
            format!(
                "GET / HTTP/1.1\r\n{host}Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            400,
        ),
        (
            format!("GET / HTTP/1.1\r\n{host}Content-Length: 1\r\nContent-Length: 1\r\n\r\n"),
            400,
        ),
        (
            format!("GET / HTTP/1.1\r\n{host}Content-Length: +1\r\n\r\n"),
            400,
        ),
        (
            format!("GET / HTTP/1.1\r\n{host}Transfer-Encoding: chunked, identity\r\n\r\n"),
            400,
        ),
        (
            format!("GET / HTTP/1.1\r\n{host}Transfer-Encoding: xchunked\r\n\r\n"),
            400,
        ),
        (
            format!("GET / HTTP/1.1\r\n{host}Transfer-Encoding : chunked\r\n\r\n"),
            400,
        ),
        (format!("GET / HTTP/1.1\r\n{host}X: a\r\n b\r\n\r\n"), 400),
        (format!("GET / HTTP/1.1\n{host}\r\n"), 400),
        (format!("GET / HTTP/1.1\r\n{host}X: a\rb\r\n\r\n"), 400),
        (format!("GET / HTTP/1.1\r\n{host}X: a\x00\r\n\r\n"), 400),
        ("GET / HTTP/1.1\r\n\r\n".to_owned(), 400),
        (format!("GET / HTTP/1.1\r\n{host}{host}\r\n"), 400),
        (format!("GET  / HTTP/1.1\r\n{host}\r\n"), 400),
        (format!("GET / HTTP/2.0\r\n{host}\r\n"), 400),
        (
            format!("GET / HTTP/1.1\r\n{host}Upgrade: h2c\r\nConnection: Upgrade\r\n\r\n"),
            400,
        ),
        (
            format!("GET / HTTP/1.1\r\n{host}X: {}\r\n\r\n", "a".repeat(40_000)),
            431,
        ),
        (
            format!("GET / HTTP/1.1\r\n{host}{}\r\n", "X: a\r\n".repeat(101)),
            431,
        ),
    ];
    for (request, status) in cases {
        let refused = verdict(request.as_bytes()).expect_err(&request);
        assert_eq!(refused.status(), status, "{request:?}");
    }
}

#[test]
fn nothing_passes_after_a_refusal_and_upgrades_pass_through() {
    let mut refused = guard();
    assert!(refused.feed(b"GET / HTTP/1.1\r\nHost: a\n").is_err());
    assert!(refused.feed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").is_err());
    let mut upgraded = guard();
    let upgrade =
        b"GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    assert_eq!(upgraded.feed(upgrade), Ok(()));
    assert_eq!(upgraded.feed(b"\x81\x00\n\r\x00"), Ok(()));
}

/// Pieces that well-formed and malformed request streams are made of.
const PIECES: [&str; 17] = [
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc",
    "PUT / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
    "3\r\nabc\r\n",
    "0\r\n\r\n",
    "0\r\nT: 1\r\n\r\n",
    "\r\n",
    "Content-Length: 1\r\n",
    "Transfer-Encoding: chunked\r\n",
    "X: a\r\n b\r\n",
    "\n",
    "\r",
    " ",
    "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n",
    "\0",
    "Host: b\r\n",
    "X-Filler: 0123456789abcdef",
];

proptest::proptest! {
    #[test]
    fn the_verdict_does_not_depend_on_how_bytes_are_split(
        pieces in proptest::collection::vec(0..PIECES.len(), 1..8),
        splits in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..4),
    ) {
        let stream: Vec<u8> = pieces.iter().flat_map(|&i| PIECES[i].bytes()).collect();
        let whole = verdict(&stream);
        let mut cuts: Vec<usize> = splits.iter().map(|index| index.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        let mut guard = guard();
        let mut start = 0;
        let mut split_verdict = Ok(());
        for cut in cuts.into_iter().chain([stream.len()]) {
            split_verdict = split_verdict.and_then(|()| guard.feed(&stream[start..cut]));
            start = cut;
        }
        proptest::prop_assert_eq!(whole, split_verdict);
    }

    #[test]
    fn runs_of_bytes_get_the_verdict_of_the_bytes_one_by_one(
        pieces in proptest::collection::vec(0..PIECES.len(), 1..8),
        max_head in 0usize..80,
        max_fields in 0usize..4,
    ) {
        // Fed whole, a head is checked in place when it is all there, else moves in runs
        // between CR and LF; fed a byte at a time, every byte goes through the rules for one
        // byte, the size limit at each.
        let stream: Vec<u8> = pieces.iter().flat_map(|&i| PIECES[i].bytes()).collect();
        let limits = GuardLimits { max_head, max_fields };
        let whole = RequestGuard::new(limits).feed(&stream);
        let mut guard = RequestGuard::new(limits);
        let one_by_one = stream.iter().try_for_each(|byte| guard.feed(std::slice::from_ref(byte)));
        proptest::prop_assert_eq!(whole, one_by_one);
    }
}
