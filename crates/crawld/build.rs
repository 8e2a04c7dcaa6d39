//! Release builds: lay out the code a crawl runs in one block of the binary (`symbol-order.txt`,
//! written by `scripts/order-symbols.sh`).
//!
//! The kernel maps a program's code into memory 64 KB around each page it touches. The 1,700 or so
//! functions a crawl runs (1.9 MB of the binary's 6.6 MB of code) are otherwise spread over nearly all of
//! it, so nearly all of it ends up resident. Listed first, in the order the file gives, they take about
//! 2.5 MB instead of 5.6.
//!
//! Only on x86_64 Linux, and only when the link is shown to take the list: the flag is LLD's (Rust's own
//! linker there from 1.90 on; mold takes it too), and GNU ld refuses it, so a tiny program is linked with
//! it first, with the same rustc, target, flags and linker. Elsewhere, or for a stale list (names that no
//! longer exist are skipped), the binary is the same program, only laid out differently.

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const ORDER: &str = "symbol-order.txt";

fn main() {
    println!("cargo:rerun-if-changed={ORDER}");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let target = env::var("TARGET").unwrap_or_default();
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let order = Path::new(&manifest).join(ORDER);
    if !(release && target == "x86_64-unknown-linux-gnu" && order.is_file()) {
        return;
    }
    let args = linker_args(&order);
    if links_with(&target, &args) {
        for arg in args {
            println!("cargo:rustc-link-arg-bins={arg}");
        }
    }
}

/// The linker arguments, each passed whole (`-Xlinker`: a path may hold a comma, which `-Wl,` would split).
fn linker_args(order: &Path) -> Vec<String> {
    let mut args = Vec::new();
    for arg in [format!("--symbol-ordering-file={}", order.display()), "--no-warn-symbol-ordering".to_owned()] {
        args.push("-Xlinker".to_owned());
        args.push(arg);
    }
    args
}

/// Whether an empty program links with `args` added, as this build would link crawld.
fn links_with(target: &str, args: &[String]) -> bool {
    let Some(out) = env::var_os("OUT_DIR").map(PathBuf::from) else { return false };
    let source = out.join("probe.rs");
    if std::fs::write(&source, "fn main() {}\n").is_err() {
        return false;
    }
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_owned());
    let mut probe = Command::new(rustc);
    probe.arg("--target").arg(target).arg("--crate-type=bin").arg("-o").arg(out.join("probe")).arg(&source);
    // The build's own flags (a linker, a linker flavour) and linker, so the probe links as crawld will.
    if let Ok(flags) = env::var("CARGO_ENCODED_RUSTFLAGS") {
        probe.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    }
    if let Some(linker) = env::var_os("RUSTC_LINKER") {
        probe.arg("-C").arg(format!("linker={}", linker.to_string_lossy()));
    }
    for arg in args {
        probe.arg("-C").arg(format!("link-arg={arg}"));
    }
    probe.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}
