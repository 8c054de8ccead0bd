//! The build script of every function: links its binary with `link-layout.ld`, which puts
//! the code a cold start never runs after the code it does (README "Cold start"). Linux
//! targets only: the script is for ELF linkers.

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = std::path::Path::new(&dir).join("../link-layout.ld");
    let script = script.canonicalize().unwrap_or_else(|e| panic!("{}: {e}", script.display()));
    println!("cargo:rerun-if-changed={}", script.display());
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
    }
}
