//! [`ViewerError`].

use thiserror::Error;

/// What can go wrong starting the viewer.
#[derive(Debug, Error)]
pub enum ViewerError {
    /// The `--viewer` value is not `PORT` or `HOST:PORT`.
    #[error(
        "--viewer {given:?}: {problem}; give a port (8100, bound on 127.0.0.1) or HOST:PORT (127.0.0.1:8100, 0.0.0.0:8100 for every interface)"
    )]
    Address {
        /// The value given.
        given: String,
        /// Why it was refused.
        problem: String,
    },
    /// The server could not listen on the address.
    #[error(
        "the viewer cannot listen on {addr}: {detail}; is another program using the port? choose another with --viewer HOST:PORT (port 0 picks a free one)"
    )]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The operating system's reason.
        detail: String,
    },
    /// The server's accept thread could not be started.
    #[error("the viewer's server thread could not start: {0}")]
    Thread(#[source] std::io::Error),
}
