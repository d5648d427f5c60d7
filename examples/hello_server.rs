//! The throughput baseline of `bench/server.sh`: a minimal axum "hello" endpoint built and run
//! exactly like the reference server (same crate versions, tokio multi-thread runtime with
//! default workers, `axum::serve`, release profile), so that the ratio of their requests/s
//! measures the cost of the recovery logic. Not part of the product.
//!
//! Run with:
//!
//! ```not_rust
//! cargo run --release --example hello_server -- 127.0.0.1:4480
//! ```

use axum::routing::get;
use axum::Router;
use std::net::SocketAddr;

fn main() -> std::process::ExitCode {
    let addr: SocketAddr = match std::env::args()
        .nth(1)
        .as_deref()
        .unwrap_or("127.0.0.1:4480")
        .parse()
    {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "error: the first argument must be a socket address such as 127.0.0.1:4480 ({e})"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    runtime.block_on(async move {
        let app = Router::new().route("/hello", get(|| async { "hello" }));
        let listener = match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: cannot listen on {addr}: {e}");
                return std::process::ExitCode::from(2);
            }
        };
        println!("hello server listening on http://{addr}/hello");
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        match axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::ExitCode::from(2)
            }
        }
    })
}
