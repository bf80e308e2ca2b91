//! IP networks (`192.168.0.0/24`): containment, network and broadcast addresses.

use std::net::IpAddr;

/// An IP network `addr/len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Net {
    pub addr: IpAddr,
    pub len: u8,
}

impl Net {
    pub fn parse(s: &str) -> Option<Net> {
        let (a, l) = s.split_once('/')?;
        let addr: IpAddr = a.parse().ok()?;
        let len: u8 = l.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (len <= max).then_some(Net { addr, len })
    }

    fn bits(ip: IpAddr) -> (u128, u8) {
        match ip {
            IpAddr::V4(v) => (u32::from(v) as u128, 32),
            IpAddr::V6(v) => (u128::from(v), 128),
        }
    }

    fn mask(&self) -> u128 {
        let (_, w) = Self::bits(self.addr);
        if self.len == 0 {
            0
        } else {
            let all: u128 = if w == 32 { u32::MAX as u128 } else { u128::MAX };
            all & !((1u128 << (w - self.len)) - 1) & all
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.addr.is_ipv4() {
            return false;
        }
        let m = self.mask();
        Self::bits(ip).0 & m == Self::bits(self.addr).0 & m
    }

    pub fn network(&self) -> u128 {
        Self::bits(self.addr).0 & self.mask()
    }

    /// The network with its host bits cleared (`192.168.0.0/24`).
    pub fn canonical(&self) -> Net {
        let b = self.network();
        let addr = if self.addr.is_ipv4() {
            IpAddr::from(std::net::Ipv4Addr::from(b as u32))
        } else {
            IpAddr::from(std::net::Ipv6Addr::from(b))
        };
        Net {
            addr,
            len: self.len,
        }
    }

    /// Whether `ip` is this network's network address or (IPv4) broadcast address; /31 and
    /// /32 have neither.
    pub fn is_network_or_broadcast(&self, ip: IpAddr) -> bool {
        let (b, w) = Self::bits(ip);
        if !self.contains(ip) || (w == 32 && self.len >= 31) || (w == 128 && self.len >= 127) {
            return false;
        }
        let all: u128 = if w == 32 { u32::MAX as u128 } else { u128::MAX };
        b == self.network() || (w == 32 && b == self.network() | (!self.mask() & all))
    }
}

impl std::fmt::Display for Net {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}
