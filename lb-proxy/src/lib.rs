//! The I/O crate of `lb`: tokio listeners, TCP forwarding, the health-check runner.
