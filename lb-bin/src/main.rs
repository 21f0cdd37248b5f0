//! `lb`: the load balancer's command line.
fn main() {}
