//! The `bpelgate` command.

fn main() {}
