//! [`Credentials`]: who is on the other end of a server's connection, as the server verified
//! it — the peer's address, its TLS client certificate ([`TlsIdentity`]: subject and subject
//! alternative names), and what an authenticator returned. RPyC keeps the same thing in
//! `conn._config['credentials']`; here it is [`crate::Config::credentials`], read by services
//! through `CallContext::credentials()`.
//!
//! The certificate is only read, never verified, here: the TLS layer has verified it against
//! the server's CA before [`TlsIdentity::from_der`] sees it. The reader is a small DER walker
//! (no X.509 dependency) that returns `None` on anything it does not understand.
//!
//! ```
//! use rpyc::core::credentials::{Credentials, TlsIdentity};
//! let mut who = Credentials::new("127.0.0.1:50000");
//! who.tls = Some(TlsIdentity::new("CN=alice, O=Example", vec!["alice.example".into()]));
//! assert_eq!(who.common_name(), Some("alice"));
//! assert_eq!(who.peer, "127.0.0.1:50000");
//! ```

use crate::Value;

/// What a server knows about the peer of one connection (set by the server before the
/// connection starts; `None` in [`crate::Config::credentials`] on client connections).
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Credentials {
    /// The peer's address as accepted (`"IP:PORT"`, or `"unix"` for a Unix-socket peer).
    pub peer: String,
    /// The verified TLS client certificate, when the server requires one
    /// (`rpyc-server --tls-ca`); `None` without TLS or without client certificates.
    pub tls: Option<TlsIdentity>,
    /// What the server's authenticator returned (`Server::authenticator`); `None` without one.
    pub auth: Option<Value>,
}

impl Credentials {
    /// Credentials naming only the peer's address.
    pub fn new(peer: impl Into<String>) -> Self {
        Credentials {
            peer: peer.into(),
            tls: None,
            auth: None,
        }
    }

    /// The common name (`CN`) of the client certificate's subject, if there is one.
    pub fn common_name(&self) -> Option<&str> {
        self.tls.as_ref().and_then(TlsIdentity::common_name)
    }
}

/// The identity a verified client certificate carries.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct TlsIdentity {
    /// The subject's distinguished name, in certificate order, e.g. `"CN=alice, O=Example"`
    /// (`CN`, `O`, `OU`, `C`, `L`, `ST`, `emailAddress`; other attributes by dotted OID).
    pub subject: String,
    /// The subject alternative names: DNS names, IP addresses, e-mail addresses and URIs, as
    /// text (`"alice.example"`, `"127.0.0.1"`, `"alice@example.org"`, …).
    pub sans: Vec<String>,
    /// The certificate itself (DER), for checks beyond subject and names.
    pub der: Vec<u8>,
}

impl TlsIdentity {
    /// An identity with the given subject and alternative names (no certificate bytes).
    pub fn new(subject: impl Into<String>, sans: Vec<String>) -> Self {
        TlsIdentity {
            subject: subject.into(),
            sans,
            der: Vec::new(),
        }
    }

    /// Reads subject and alternative names from a DER certificate; `None` if it is not one
    /// this reader understands.
    pub fn from_der(der: &[u8]) -> Option<TlsIdentity> {
        let (subject, sans) = der::subject_and_sans(der)?;
        Some(TlsIdentity {
            subject,
            sans,
            der: der.to_vec(),
        })
    }

    /// The subject's common name (`CN=…`), if it has one.
    pub fn common_name(&self) -> Option<&str> {
        self.subject
            .split(", ")
            .find_map(|part| part.strip_prefix("CN="))
    }
}

/// Just enough DER to read a certificate's subject and subjectAltName extension.
mod der {
    /// One TLV: its tag, its content, and the rest after it.
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let (bytes, after) = rest.split_at(n);
            rest = after;
            bytes
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
        };
        if rest.len() < len {
            return None;
        }
        let (content, after) = rest.split_at(len);
        Some((tag, content, after))
    }

    /// The items of a constructed value's content.
    fn items(mut content: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
        std::iter::from_fn(move || {
            let (tag, c, rest) = tlv(content)?;
            content = rest;
            Some((tag, c))
        })
    }

    const SEQUENCE: u8 = 0x30;
    const SET: u8 = 0x31;
    const OID: u8 = 0x06;
    const SAN: &[u8] = &[0x55, 0x1d, 0x11];

    pub(super) fn subject_and_sans(cert: &[u8]) -> Option<(String, Vec<String>)> {
        let (SEQUENCE, cert, _) = tlv(cert)? else {
            return None;
        };
        let (SEQUENCE, tbs, _) = tlv(cert)? else {
            return None;
        };
        let mut fields = items(tbs).peekable();
        // [0] version, optional.
        if fields.peek()?.0 == 0xa0 {
            fields.next();
        }
        // serialNumber, signature, issuer, validity, then subject.
        let (tag, subject) = fields.nth(4)?;
        if tag != SEQUENCE {
            return None;
        }
        let subject = name(subject)?;
        let mut sans = Vec::new();
        for (tag, field) in fields {
            if tag != 0xa3 {
                continue;
            }
            let (SEQUENCE, exts, _) = tlv(field)? else {
                return None;
            };
            for (_, ext) in items(exts) {
                let mut parts = items(ext);
                let (OID, oid) = parts.next()? else {
                    return None;
                };
                if oid != SAN {
                    continue;
                }
                // critical BOOLEAN DEFAULT FALSE, then the OCTET STRING.
                let value = parts.find(|(tag, _)| *tag == 0x04)?.1;
                let (SEQUENCE, names, _) = tlv(value)? else {
                    return None;
                };
                sans.extend(items(names).filter_map(|(tag, v)| general_name(tag, v)));
            }
        }
        Some((subject, sans))
    }

    fn name(rdns: &[u8]) -> Option<String> {
        let mut parts = Vec::new();
        for (tag, rdn) in items(rdns) {
            if tag != SET {
                return None;
            }
            for (_, atv) in items(rdn) {
                let mut atv = items(atv);
                let (OID, oid) = atv.next()? else {
                    return None;
                };
                let (_, value) = atv.next()?;
                let key = match oid {
                    [0x55, 0x04, 0x03] => "CN".to_string(),
                    [0x55, 0x04, 0x06] => "C".to_string(),
                    [0x55, 0x04, 0x07] => "L".to_string(),
                    [0x55, 0x04, 0x08] => "ST".to_string(),
                    [0x55, 0x04, 0x0a] => "O".to_string(),
                    [0x55, 0x04, 0x0b] => "OU".to_string(),
                    [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01] => {
                        "emailAddress".to_string()
                    }
                    other => dotted(other)?,
                };
                parts.push(format!("{key}={}", String::from_utf8_lossy(value)));
            }
        }
        Some(parts.join(", "))
    }

    fn general_name(tag: u8, v: &[u8]) -> Option<String> {
        match tag {
            // rfc822Name, dNSName, uniformResourceIdentifier: IA5 text.
            0x81 | 0x82 | 0x86 => Some(String::from_utf8_lossy(v).into_owned()),
            // iPAddress: 4 or 16 bytes.
            0x87 => match v.len() {
                4 => Some(std::net::Ipv4Addr::new(v[0], v[1], v[2], v[3]).to_string()),
                16 => {
                    let mut b = [0u8; 16];
                    b.copy_from_slice(v);
                    Some(std::net::Ipv6Addr::from(b).to_string())
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn dotted(oid: &[u8]) -> Option<String> {
        let (&first, rest) = oid.split_first()?;
        let mut out = format!("{}.{}", first / 40, first % 40);
        let mut n: u64 = 0;
        for &b in rest {
            n = n.checked_mul(128)? | u64::from(b & 0x7f);
            if b & 0x80 == 0 {
                out.push_str(&format!(".{n}"));
                n = 0;
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn truncated_or_garbage_input_is_none_never_a_panic() {
            assert!(subject_and_sans(&[]).is_none());
            assert!(subject_and_sans(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]).is_none());
            assert!(subject_and_sans(&[0x30, 0x03, 0x30, 0x01]).is_none());
            for n in 0..=255u8 {
                let _ = subject_and_sans(&[0x30, n, 0x30, n, 0xa0, n, n, n]);
            }
            assert_eq!(dotted(&[0x2b, 0x06, 0x01]).as_deref(), Some("1.3.6.1"));
        }
    }
}
