//! The OpenStack demo.
fn main() {}
