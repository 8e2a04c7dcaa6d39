//! Release builds: lay out the code a crawl runs in one block of the binary (`symbol-order.txt`,
//! written by `scripts/order-symbols.sh`).
//!
//! The kernel maps a program's code into memory 64 KB around each page it touches. The 1,400 or so
//! functions a crawl runs (1.6 MB of the binary's 6.6 MB) are otherwise spread over nearly all of it, so
//! nearly all of it ends up resident. Listed first, in the order the file gives, they take about a
//! quarter of that.
//!
//! Only where the link is known to be LLD's, which reads the list: Rust 1.90 and later on
//! x86_64-unknown-linux-gnu, with no other linker configured. Elsewhere, or for a stale list (names
//! that no longer exist are skipped), the binary is the same program, only laid out differently.

use std::env;
use std::path::Path;
use std::process::Command;

const ORDER: &str = "symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let target = env::var("TARGET").unwrap_or_default();
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = Path::new(&manifest).join(ORDER);
    if release && target == "x86_64-unknown-linux-gnu" && order.is_file() && links_with_rust_lld() {
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// Whether rustc links with its own LLD: its default from Rust 1.90 on this target, unless a linker (or
/// linker flavour) is configured.
fn links_with_rust_lld() -> bool {
    if env::var_os("RUSTC_LINKER").is_some() {
        return false;
    }
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    if flags.contains("linker") || flags.contains("fuse-ld") {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let Ok(out) = Command::new(rustc).arg("--version").output() else { return false };
    // "rustc 1.95.0 (59807616e 2026-04-14)"
    let text = String::from_utf8_lossy(&out.stdout);
    let mut version = text.split_whitespace().nth(1).unwrap_or("").split('.');
    let major: u32 = version.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    let minor: u32 = version.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    (major, minor) >= (1, 90)
}
