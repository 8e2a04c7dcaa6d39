//! HTTPS: servers are verified against the system's root certificates, which are read on the first
//! handshake, so a crawl of http:// sites starts and runs without any.
//!
//! "The system's roots" are set per run with `SSL_CERT_FILE` and `SSL_CERT_DIR`, which the certificate
//! loader reads instead of the platform's store: so these tests run the `crawld` binary.

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::support::{Output, Page, Site};

/// A certificate authority made for one test: its certificate (PEM) and what signs with its key.
struct Authority {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Authority { pem, issuer: Issuer::new(params, key) }
    }

    /// A server certificate for 127.0.0.1 that this authority signed, and its key.
    fn server_certificate(&self) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.der().clone(), PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())))
    }
}

/// `site` over HTTPS: a loopback port where TLS ends, with the certificate `authority` signed, and
/// each connection's bytes are passed on to the site. Serves until the test's runtime ends.
async fn https_front(site: &Site, authority: &Authority) -> SocketAddr {
    let (cert, key) = authority.server_certificate();
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut tls = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let backend = site.addr;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to pass on.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

/// How a run of the `crawld` binary ended: its exit status, what it printed, and its output directory.
struct Run {
    code: Option<i32>,
    stderr: String,
    out: Output,
}

/// Crawl `seeds` with the `crawld` binary, the system's roots being the certificate of `trusted`, or none
/// at all.
fn crawl_trusting(seeds: &[String], trusted: Option<&Authority>) -> Run {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let roots = dir.join("roots.pem");
    if let Some(authority) = trusted {
        std::fs::write(&roots, &authority.pem).unwrap();
    }
    let out = dir.join("out");
    let config = dir.join("crawl.toml");
    let seeds: Vec<String> = seeds.iter().map(|s| format!("\"{s}\"")).collect();
    let toml = format!(
        "seeds = [{}]\nout = \"{}\"\n\n[crawl]\nsitemaps = false\nmax_retries = 0\n\n\
         [fetch]\nallow_private_networks = true\n\n[politeness]\ndelay = \"0s\"\n",
        seeds.join(", "),
        out.display()
    );
    std::fs::write(&config, toml).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_crawld"))
        .args(["run", "--config"])
        .arg(&config)
        .env("SSL_CERT_FILE", &roots)
        .env("SSL_CERT_DIR", dir.join("no-such-dir"))
        .env("RUST_LOG", "crawld=info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    Run { code: output.status.code(), stderr, out: Output::read(&out) }
}

fn site() -> [(&'static str, Page); 2] {
    [("/", Page::links(&["/next"])), ("/next", Page::links(&[]))]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_whose_certificate_a_system_root_signed_is_crawled_over_https() {
    let authority = Authority::new("crawld test root");
    let site = Site::start("127.0.0.1", site()).await;
    let front = https_front(&site, &authority).await;

    let seed = format!("https://{front}/");
    let run = tokio::task::block_in_place(|| crawl_trusting(std::slice::from_ref(&seed), Some(&authority)));

    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = run.out;
    assert_eq!(out.page(&seed)["status"], 200, "{}", out.page(&seed));
    let next = out.page(&format!("https://{front}/next"));
    assert_eq!((next["status"].as_u64(), next["depth"].as_u64()), (Some(200), Some(1)), "{next}");
    assert_eq!(site.count("/next"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_no_system_root_signed_is_refused_and_recorded() {
    let trusted = Authority::new("crawld test root");
    let stranger = Authority::new("someone else");
    let site = Site::start("127.0.0.1", site()).await;
    let front = https_front(&site, &stranger).await;

    let seed = format!("https://{front}/");
    let run = tokio::task::block_in_place(|| crawl_trusting(std::slice::from_ref(&seed), Some(&trusted)));

    // The only seed failed: the crawl failed, and says why.
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.stderr.contains("UnknownIssuer"), "{}", run.stderr);
    let page = run.out.page(&seed);
    assert_eq!(page["status"], serde_json::Value::Null, "{page}");
    let error = page["error"].as_str().unwrap();
    assert!(error.contains("certificate") && error.contains("UnknownIssuer"), "{error}");
    assert!(site.paths().is_empty(), "no request went through: {:?}", site.paths());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_root_certificates_http_is_crawled_and_each_https_fetch_says_why_it_failed() {
    let authority = Authority::new("crawld test root");
    let plain = Site::start("127.0.0.1", site()).await;
    let secure = Site::start("127.0.0.1", site()).await;
    let front = https_front(&secure, &authority).await;

    let http_seed = plain.url("/");
    let https_seed = format!("https://{front}/");
    let seeds = [http_seed.clone(), https_seed.clone()];
    let run = tokio::task::block_in_place(|| crawl_trusting(&seeds, None));

    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let out = run.out;
    assert_eq!(out.page(&http_seed)["status"], 200);
    assert_eq!(out.page(&plain.url("/next"))["status"], 200);
    let page = out.page(&https_seed);
    let error = page["error"].as_str().unwrap();
    assert!(error.contains("No CA certificates were loaded"), "{error}");
    assert!(secure.paths().is_empty());
}
