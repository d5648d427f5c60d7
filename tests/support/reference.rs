//! The reference server on its own runtime thread, for synchronous tests that run the built binary
//! against a `--target` they own (so that they can watch the requests arrive, e.g. behind
//! [`super::proxy::Proxy`], whose `forwarded()` counts them). Dropping it stops the server.

use std::time::Duration;

/// A running reference server (default configuration, ephemeral loopback port).
#[derive(Debug)]
pub struct Reference {
    base_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reference {
    /// Starts it and waits (bounded) until it listens.
    pub fn start() -> Reference {
        let (up, is_up) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime for the reference server");
            rt.block_on(async move {
                let server = recovery_harness::server::spawn(Default::default())
                    .await
                    .expect("the reference server starts");
                let _ = up.send(server.base_url().to_owned());
                let _ = stopped.await;
                server.shutdown().await;
            });
        });
        let base_url = is_up
            .recv_timeout(Duration::from_secs(10))
            .expect("the reference server is up within 10 s");
        Reference {
            base_url,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:P` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
