//! criterion benchmarks, each reported in bytes per second of XML.
fn main() {}
