//! Criterion benchmarks (schedulers): written by its owner.
fn main() {}
