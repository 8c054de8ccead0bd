//! Shared by the load benchmarks: the release server in its own process.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_total-identity");
pub const KEY: &str = "ti_test_local_demo_key_do_not_use_in_production";

/// Starts `total-identity serve` on a free port over `store` (`embedded` or `dynamodb`).
pub fn start_server(store: &str, dir: &std::path::Path) -> (std::process::Child, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"]).arg(dir).env("RUST_LOG", "warn");
    if store == "dynamodb" {
        cmd.args(["--store", "dynamodb", "--table", &format!("bench-{}", std::process::id())]);
    }
    let mut child = cmd.stdout(Stdio::piped()).spawn().expect("start server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = lines.next().expect("server exited").unwrap();
        if let Some(b) = line.strip_prefix("listening on ") {
            break b.to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}
