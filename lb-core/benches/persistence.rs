//! Criterion benchmarks (persistence): written by its owner.
fn main() {}
