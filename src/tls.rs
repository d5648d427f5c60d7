//! The process's TLS crypto provider.
//!
//! Every HTTPS client here (the check client, Goose's users, the reachability probe) is reqwest on
//! rustls built with `rustls-no-provider`, so that the build needs no C toolchain for aws-lc-sys;
//! the provider is rustls's `ring` one, installed process-wide before the first client is built.
//! reqwest panics when it builds a client and no provider is installed, so every library entry
//! point that may build one calls [`install_default_provider`] first.

use std::sync::Once;

/// Makes rustls's `ring` provider the process default. Idempotent and cheap after the first call;
/// a provider that something else installed first is kept.
pub fn install_default_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider is already the default: that one serves just as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_builds_once_the_provider_is_installed() {
        super::install_default_provider();
        super::install_default_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        reqwest::Client::builder()
            .build()
            .expect("a client builds with the ring provider");
    }
}
