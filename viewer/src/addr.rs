//! [`ViewerAddr`]: the `--viewer` value, parsed once.

use crate::error::ViewerError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

/// Where the viewer listens: `PORT` alone binds 127.0.0.1 (the default:
/// nothing outside the machine sees the run unless told so), `HOST:PORT`
/// binds that host (`0.0.0.0:8100` for every interface, `localhost:8100`).
/// Port 0 picks a free port; [`crate::Viewer::url`] says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewerAddr(pub SocketAddr);

impl FromStr for ViewerAddr {
    type Err = ViewerError;

    /// # Errors
    /// [`ViewerError::Address`] for anything but a port or `HOST:PORT`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |problem: &str| ViewerError::Address {
            given: s.to_string(),
            problem: problem.to_string(),
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(bad("it is empty"));
        }
        if t.bytes().all(|b| b.is_ascii_digit()) {
            let port: u16 = t.parse().map_err(|_| bad("a port is 0..65535"))?;
            return Ok(ViewerAddr(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                port,
            )));
        }
        if let Ok(a) = t.parse::<SocketAddr>() {
            return Ok(ViewerAddr(a));
        }
        let Some((host, port)) = t.rsplit_once(':') else {
            return Err(bad("no port"));
        };
        if host.is_empty() || port.parse::<u16>().is_err() {
            return Err(bad("expected HOST:PORT with a port 0..65535"));
        }
        let mut addrs = t
            .to_socket_addrs()
            .map_err(|e| bad(&format!("the host does not resolve ({e})")))?;
        addrs
            .find(SocketAddr::is_ipv4)
            .or_else(|| t.to_socket_addrs().ok().and_then(|mut a| a.next()))
            .map(ViewerAddr)
            .ok_or_else(|| bad("the host resolves to no address"))
    }
}

impl fmt::Display for ViewerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_alone_binds_loopback() {
        let a: ViewerAddr = "8100".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.0,
            "127.0.0.1:8100".parse().unwrap_or_else(|e| panic!("{e}"))
        );
        let a: ViewerAddr = "0.0.0.0:9".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.0.port(), 9);
        let a: ViewerAddr = "localhost:8100".parse().unwrap_or_else(|e| panic!("{e}"));
        assert!(a.0.ip().is_loopback());
    }

    #[test]
    fn bad_values_say_what_to_give() {
        for bad in ["", "99999", "host", "127.0.0.1:x", ":80"] {
            let e = bad.parse::<ViewerAddr>().err().map(|e| e.to_string());
            let e = e.unwrap_or_else(|| panic!("{bad:?} parsed"));
            assert!(e.contains("HOST:PORT"), "{e}");
        }
    }
}
