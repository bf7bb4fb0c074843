//! Test certificates for the mutual-TLS tests, made fresh by each test with `rcgen` (never
//! committed): a CA, server and client certificates it signs, written as PEM files in a
//! scratch directory that is removed when the [`Pki`] is dropped.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA that signs leaf certificates.
pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate, PEM.
    pub pem: String,
}

impl Ca {
    /// A fresh CA named `name`.
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A certificate for `common_name` (organisation `Example`) with the alternative names
    /// `sans`, usable by servers and clients: `(cert PEM, key PEM)`.
    pub fn leaf(&self, common_name: &str, sans: &[&str]) -> (String, String) {
        let sans: Vec<String> = sans.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Example");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }
}

/// A scratch directory of PEM files: `ca.pem`, the server's `server.pem`/`server-key.pem`
/// (`localhost`, `127.0.0.1`), a client `alice.pem`/`alice-key.pem` from the same CA, and
/// `mallory.pem`/`mallory-key.pem` from another CA (`other-ca.pem`).
pub struct Pki {
    pub dir: PathBuf,
    pub ca: Ca,
    pub other_ca: Ca,
}

impl Pki {
    /// Makes the certificates and writes them under a fresh directory named after `tag`.
    pub fn new(tag: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("rpyc-mtls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let ca = Ca::new("rpyc-rs test CA");
        let other_ca = Ca::new("another CA");
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        write("ca.pem", &ca.pem);
        write("other-ca.pem", &other_ca.pem);
        let (cert, key) = ca.leaf("localhost", &["localhost", "127.0.0.1"]);
        write("server.pem", &cert);
        write("server-key.pem", &key);
        let (cert, key) = ca.leaf("alice", &["alice.example", "10.0.0.1"]);
        write("alice.pem", &cert);
        write("alice-key.pem", &key);
        let (cert, key) = other_ca.leaf("mallory", &["mallory.example"]);
        write("mallory.pem", &cert);
        write("mallory-key.pem", &key);
        Pki { dir, ca, other_ca }
    }

    /// The path of one of the files, as a string.
    pub fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_string()
    }

    /// The contents of one of the files.
    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).unwrap()
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
