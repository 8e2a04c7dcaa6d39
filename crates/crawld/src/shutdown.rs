//! Signals: the first Ctrl-C or SIGTERM stops the crawl gracefully, a second one exits at once.

use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Cancel `token` on the first SIGINT/SIGTERM; exit the process (status 130) on the second.
pub fn install(token: CancellationToken) {
    tokio::spawn(async move {
        if wait_for_signal().await.is_err() {
            return;
        }
        warn!("signal received: finishing in-flight fetches and flushing output (signal again to exit now)");
        token.cancel();
        if wait_for_signal().await.is_ok() {
            eprintln!("crawld: second signal, exiting now");
            std::process::exit(130);
        }
    });
}

#[cfg(unix)]
async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> std::io::Result<()> {
    tokio::signal::ctrl_c().await
}
