//! Crawl scope: which discovered URLs the crawl may follow, including crawler-trap guards.

use std::collections::HashMap;

use regex::Regex;
use url::Url;

/// Configuration for a [`Scope`]; see [`Scope::new`].
#[derive(Debug, Clone, Default)]
pub struct ScopeRules {
    /// Exact host names that may be crawled (case-insensitive), on a port: an entry without one
    /// (`example.org`) admits ports 80 and 443, one with a port (`example.org:8080`) that port; either
    /// scheme, http or https, on each.
    pub allowed_hosts: Vec<String>,
    /// A host is in scope when it equals one of these or is a subdomain of it ("example.com" admits
    /// "www.example.com"); ports as for `allowed_hosts`.
    pub allowed_domains: Vec<String>,
    /// With `allowed_hosts` and `allowed_domains` both empty, the scope is these URLs' sites: their
    /// hosts on ports 80 and 443 and on their own explicit port, if any, with either scheme. All three
    /// empty: any host.
    pub seeds: Vec<Url>,
    /// When non-empty, the full URL must match at least one.
    pub include: Vec<Regex>,
    /// The full URL must match none.
    pub exclude: Vec<Regex>,
    /// Trap guard: longer URLs (bytes of the serialized URL) are out of scope. 0 = no limit.
    pub max_url_length: usize,
    /// Trap guard: a URL whose path repeats a block of segments back to back so that the block's first
    /// segment occurs more than this many times in the run is out of scope (`/a/b/a/b/a/b/a` has "a" 4
    /// times in a row of `a/b`); segments that recur apart do not count. 0 = no limit.
    pub max_repeated_segments: usize,
}

/// Why [`Scope::check`] rejected a URL.
///
/// Exhaustive on purpose: callers count what was left out by reason, and a new rule must get a count
/// of its own rather than vanish into a catch-all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutOfScope {
    /// The scheme is not http or https.
    #[error("scheme not http(s)")]
    Scheme,
    /// The host is neither an allowed host nor inside an allowed domain.
    #[error("host not in scope")]
    Host,
    /// Include patterns are configured and the URL matches none of them.
    #[error("matches no include pattern")]
    NotIncluded,
    /// The URL matches an exclude pattern.
    #[error("matches an exclude pattern")]
    Excluded,
    /// The serialized URL is longer than `max_url_length`.
    #[error("url too long")]
    TooLong,
    /// A block of path segments repeats back to back more than `max_repeated_segments` times.
    #[error("too many repeated path segments")]
    RepeatedSegments,
}

/// The ports an entry without a port admits: the default ports of http and https.
const DEFAULT_PORTS: [u16; 2] = [80, 443];

/// Ports admitted for one host or domain: a handful at most, so a list beats a set.
type Ports = Vec<u16>;

/// [`ScopeRules`] preprocessed for cheap per-link checks.
#[derive(Debug, Clone)]
pub struct Scope {
    any_host: bool,
    hosts: HashMap<String, Ports>,
    domains: HashMap<String, Ports>,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    max_url_length: usize,
    max_repeated_segments: usize,
}

impl Scope {
    /// Precompute the rules. Host and domain entries are canonicalized the way the `url` crate
    /// serializes hosts (lower case, punycode for IDNs, `[..]` around IPv6), a trailing dot is ignored,
    /// and a `:port` suffix names the one port admitted, so `"Bücher.DE:8080"` admits
    /// `https://xn--bcher-kva.de:8080/` but not `http://xn--bcher-kva.de/`. An entry whose port is out
    /// of range admits nothing.
    pub fn new(rules: ScopeRules) -> Scope {
        let canon = |list: Vec<String>| -> HashMap<String, Ports> {
            let mut map = HashMap::new();
            for entry in &list {
                let (host, port) = canonical_entry(entry);
                if !host.is_empty() {
                    add_ports(&mut map, host, port);
                }
            }
            map
        };
        // Decided on the raw lists: a list of only blank entries admits nothing, not everything.
        let listed = !rules.allowed_hosts.is_empty() || !rules.allowed_domains.is_empty();
        let any_host = !listed && rules.seeds.is_empty();
        let mut hosts = canon(rules.allowed_hosts);
        let domains = canon(rules.allowed_domains);
        if !listed {
            for seed in &rules.seeds {
                admit_site(&mut hosts, seed);
            }
        }
        Scope {
            any_host,
            hosts,
            domains,
            include: rules.include,
            exclude: rules.exclude,
            max_url_length: rules.max_url_length,
            max_repeated_segments: rules.max_repeated_segments,
        }
    }

    /// Admit the site of one more URL, as a seed's site is admitted: its host on the default ports and
    /// on its own explicit port (for a seed that redirects to another host: its target's site joins the
    /// crawl). Nothing changes when every host is admitted.
    pub fn admit_site(&mut self, url: &Url) {
        if !self.any_host {
            admit_site(&mut self.hosts, url);
        }
    }

    /// Replace the exclude patterns (a running crawl retuned): links checked from now on see the new ones.
    pub fn set_exclude(&mut self, exclude: Vec<Regex>) {
        self.exclude = exclude;
    }

    /// Ok when the crawl may follow this URL. Only http and https are ever in scope.
    ///
    /// Checks run cheapest-first and the first failure is reported: scheme, length, repeated
    /// segments, host, exclude, include. Patterns see the URL as serialized, fragment included.
    pub fn check(&self, url: &Url) -> Result<(), OutOfScope> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutOfScope::Scheme);
        }
        if self.max_url_length > 0 && url.as_str().len() > self.max_url_length {
            return Err(OutOfScope::TooLong);
        }
        if self.max_repeated_segments > 0 && has_repeated_segments(url.path(), self.max_repeated_segments) {
            return Err(OutOfScope::RepeatedSegments);
        }
        if !self.host_allowed(url) {
            return Err(OutOfScope::Host);
        }
        let text = url.as_str();
        if self.exclude.iter().any(|re| re.is_match(text)) {
            return Err(OutOfScope::Excluded);
        }
        if !self.include.is_empty() && !self.include.iter().any(|re| re.is_match(text)) {
            return Err(OutOfScope::NotIncluded);
        }
        Ok(())
    }

    fn host_allowed(&self, url: &Url) -> bool {
        if self.any_host {
            return true;
        }
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let admits = |map: &HashMap<String, Ports>, name: &str| map.get(name).is_some_and(|p| p.contains(&port));
        // http(s) hosts are already lower-cased by the url crate; only a trailing root dot differs.
        let host = host.strip_suffix('.').unwrap_or(host);
        if admits(&self.hosts, host) || admits(&self.domains, host) {
            return true;
        }
        if self.domains.is_empty() || !matches!(url.host(), Some(url::Host::Domain(_))) {
            return false;
        }
        // Walk the parent domains (a.b.c -> b.c -> c): one hash lookup per label, however many
        // domains are configured.
        let mut rest = host;
        while let Some((_, parent)) = rest.split_once('.') {
            if admits(&self.domains, parent) {
                return true;
            }
            rest = parent;
        }
        false
    }
}

/// What an entry's port part admits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryPort {
    /// No port given: the default ports of http and https.
    Defaults,
    /// `host:port`: that port only.
    Port(u16),
    /// A port that is no port (`host:99999`): nothing.
    Invalid,
}

fn add_ports(map: &mut HashMap<String, Ports>, host: String, port: EntryPort) {
    let ports = map.entry(host).or_default();
    let new: &[u16] = match port {
        EntryPort::Defaults => &DEFAULT_PORTS,
        EntryPort::Port(p) => &[p],
        EntryPort::Invalid => &[],
    };
    for &p in new {
        if !ports.contains(&p) {
            ports.push(p);
        }
    }
}

/// Admit a URL's site: its host on the default ports, and on its explicit port if it has one.
fn admit_site(hosts: &mut HashMap<String, Ports>, url: &Url) {
    let Some(host) = url.host_str() else { return };
    let host = host.strip_suffix('.').unwrap_or(host).to_owned();
    if let Some(port) = url.port() {
        add_ports(hosts, host.clone(), EntryPort::Port(port));
    }
    add_ports(hosts, host, EntryPort::Defaults);
}

/// Canonical host and port of a configured host or domain entry; see [`Scope::new`].
fn canonical_entry(entry: &str) -> (String, EntryPort) {
    let mut h = entry.trim();
    let mut port = EntryPort::Defaults;
    // Split off a port, but not the tail of a bare IPv6 address such as "::1".
    if let Some((head, tail)) = h.rsplit_once(':') {
        let is_port = !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit());
        if is_port && (head.ends_with(']') || !head.contains(':')) {
            h = head;
            port = tail.parse().map_or(EntryPort::Invalid, EntryPort::Port);
        }
    }
    (canonical_host(h), port)
}

/// Canonical form of a configured host or domain name, its port already split off.
fn canonical_host(name: &str) -> String {
    let h = name.trim();
    let h = h.strip_suffix('.').unwrap_or(h);
    let bracketed;
    let h = if h.contains(':') && !h.starts_with('[') {
        bracketed = format!("[{h}]");
        bracketed.as_str()
    } else {
        h
    };
    match url::Host::parse(h) {
        Ok(host) => host.to_string(),
        Err(_) => h.to_ascii_lowercase(),
    }
}

/// Longest block of segments the repeated-segments guard looks for: enough for any trap seen in the
/// wild, and it keeps the check linear in the path length when `max_url_length` is off.
const MAX_REPEAT_PERIOD: usize = 32;

/// True when a block of segments repeats back to back so that its first segment occurs more than `max`
/// times in the run: `/x/x/x/x` (block `x`) or `/a/b/a/b/a/b/a` (block `a/b`) with `max` 3.
///
/// The traps this guards against (relative links resolved again and again, a path echoed into itself)
/// repeat a block in a row. Segments that merely recur apart are left alone: real sites are full of
/// them (`/api/java.base/java/util/...`, `/w/cpp/container/vector/vector`, `/2024/01/01/`).
fn has_repeated_segments(path: &str, max: usize) -> bool {
    // Most paths are too short to hold a run at all: counted first, they need no list of segments.
    let n = path.split('/').filter(|s| !s.is_empty()).count();
    if n.saturating_sub(1) / max == 0 {
        return false;
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // A run of period p holding its first segment more than `max` times spans max * p + 1 segments,
    // that is (max - 1) * p + 1 positions i in a row with segments[i] == segments[i + p].
    let longest_period = (n.saturating_sub(1) / max).min(MAX_REPEAT_PERIOD);
    (1..=longest_period).any(|p| {
        let needed = (max - 1) * p + 1;
        let mut run = 0;
        (0..n - p).any(|i| {
            run = if segments[i] == segments[i + p] { run + 1 } else { 0 };
            run >= needed
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_rules_admit_any_http_url() {
        let scope = Scope::new(ScopeRules::default());
        assert_eq!(scope.check(&url("http://anything.example/x")), Ok(()));
        assert_eq!(scope.check(&url("https://[::1]:8443/")), Ok(()));
        for bad in ["ftp://e.com/", "mailto:a@e.com", "file:///etc/passwd", "data:,x"] {
            assert_eq!(scope.check(&url(bad)), Err(OutOfScope::Scheme), "{bad}");
        }
    }

    #[test]
    fn hosts_and_domains() {
        let scope = Scope::new(ScopeRules {
            allowed_hosts: strings(&["Exact.Example.ORG", "10.0.0.1", "::1", "Bücher.de:8080"]),
            allowed_domains: strings(&["Example.COM.", " corp.test "]),
            ..ScopeRules::default()
        });
        let cases = [
            ("http://exact.example.org/", true),
            ("https://EXACT.example.org/", true),
            ("http://EXACT.example.org:9999/", false),
            ("http://sub.exact.example.org/", false),
            ("http://example.org/", false),
            ("http://example.com/", true),
            ("http://example.com./", true),
            ("https://www.example.com/a", true),
            ("http://a.b.c.example.com/", true),
            ("http://notexample.com/", false),
            ("http://example.com.evil.net/", false),
            ("http://corp.test/", true),
            ("http://x.corp.test/", true),
            ("http://10.0.0.1:443/", true),
            ("http://10.0.0.1:8080/", false),
            ("http://10.0.0.2/", false),
            ("http://[::1]/", true),
            ("http://xn--bcher-kva.de:8080/", true),
            ("http://xn--bcher-kva.de/", false),
            ("http://com/", false),
        ];
        for (u, ok) in cases {
            let got = scope.check(&url(u));
            assert_eq!(got.is_ok(), ok, "{u}: {got:?}");
            if !ok {
                assert_eq!(got, Err(OutOfScope::Host));
            }
        }
    }

    #[test]
    fn include_and_exclude() {
        let scope = Scope::new(ScopeRules {
            include: vec![Regex::new(r"^https?://e\.com/(docs|blog)/").unwrap()],
            exclude: vec![Regex::new(r"\.(pdf|zip)$").unwrap(), Regex::new(r"[?&]session=").unwrap()],
            ..ScopeRules::default()
        });
        let cases = [
            ("http://e.com/docs/a", Ok(())),
            ("https://e.com/blog/", Ok(())),
            ("http://e.com/shop/", Err(OutOfScope::NotIncluded)),
            ("http://e.com/docs/a.pdf", Err(OutOfScope::Excluded)),
            // Exclude is checked before include.
            ("http://e.com/shop/a.zip", Err(OutOfScope::Excluded)),
            ("http://e.com/docs/?session=1", Err(OutOfScope::Excluded)),
        ];
        for (u, want) in cases {
            assert_eq!(scope.check(&url(u)), want, "{u}");
        }
        // Retuned while crawling: the new patterns replace the old ones.
        let mut scope = scope;
        scope.set_exclude(vec![Regex::new("/blog/").unwrap()]);
        assert_eq!(scope.check(&url("http://e.com/docs/a.pdf")), Ok(()));
        assert_eq!(scope.check(&url("http://e.com/blog/")), Err(OutOfScope::Excluded));
    }

    #[test]
    fn trap_guards() {
        let scope = Scope::new(ScopeRules { max_url_length: 30, max_repeated_segments: 3, ..ScopeRules::default() });
        let cases = [
            ("http://e.com/a/b/a/b/a/b", Ok(())),
            ("http://e.com/a/b/a/b/a/b/a", Err(OutOfScope::RepeatedSegments)),
            ("http://e.com/a//a//a///", Ok(())),
            ("http://e.com/x/x/x/x", Err(OutOfScope::RepeatedSegments)),
            ("http://e.com/x/x/x", Ok(())),
            ("http://e.com/01234567890123456", Ok(())),
            ("http://e.com/012345678901234567", Err(OutOfScope::TooLong)),
        ];
        for (u, want) in cases {
            assert_eq!(scope.check(&url(u)), want, "{u}");
        }
        // Segments that recur apart are no trap, however often: real documentation paths.
        let docs = Scope::new(ScopeRules { max_repeated_segments: 3, ..ScopeRules::default() });
        let cases = [
            ("https://docs.oracle.com/en/java/javase/21/docs/api/java.base/java/util/List.html", Ok(())),
            ("https://en.cppreference.com/w/cpp/container/vector/vector", Ok(())),
            ("https://e.org/java/a/java/b/java/c/java/d/java/e.html", Ok(())),
            ("https://e.org/2024/01/01/01/", Ok(())),
            ("https://e.org/2024/01/01/01/01/", Err(OutOfScope::RepeatedSegments)),
            ("http://e.com/a/b/c/a/b/c/a/b/c", Ok(())),
            ("http://e.com/a/b/c/a/b/c/a/b/c/a", Err(OutOfScope::RepeatedSegments)),
            ("http://e.com/top/x/y/x/y/x/y/x/tail", Err(OutOfScope::RepeatedSegments)),
        ];
        for (u, want) in cases {
            assert_eq!(docs.check(&url(u)), want, "{u}");
        }
        // A huge path without a length limit is checked in bounded time, and still caught.
        let huge = format!("http://e.com/{}", (0..200_000).map(|i| format!("s{i}/")).collect::<String>());
        assert_eq!(docs.check(&url(&huge)), Ok(()));
        let looped = format!("{huge}{}", "a/b/".repeat(4));
        assert_eq!(docs.check(&url(&looped)), Err(OutOfScope::RepeatedSegments));

        // Zero disables both guards.
        let open = Scope::new(ScopeRules::default());
        let long = format!("http://e.com/{}", "a/".repeat(5000));
        assert_eq!(open.check(&url(&long)), Ok(()));
    }

    #[test]
    fn check_order() {
        let scope = Scope::new(ScopeRules {
            allowed_hosts: strings(&["e.com"]),
            allowed_domains: Vec::new(),
            seeds: Vec::new(),
            include: vec![Regex::new("never-matches").unwrap()],
            exclude: vec![Regex::new("x").unwrap()],
            max_url_length: 25,
            max_repeated_segments: 1,
        });
        let cases = [
            ("ftp://other.com/x/x/xxxxxxxxxxxxxx", OutOfScope::Scheme),
            ("http://other.com/x/x/xxxxxxxxxxxxxx", OutOfScope::TooLong),
            ("http://other.com/x/x", OutOfScope::RepeatedSegments),
            ("http://other.com/x", OutOfScope::Host),
            ("http://e.com/x", OutOfScope::Excluded),
            ("http://e.com/y", OutOfScope::NotIncluded),
        ];
        for (u, want) in cases {
            assert_eq!(scope.check(&url(u)), Err(want), "{u}");
        }
    }

    #[test]
    fn canonical_host_entries() {
        use EntryPort::{Defaults, Invalid, Port};
        let cases = [
            ("Example.COM", "example.com", Defaults),
            ("example.com:8080", "example.com", Port(8080)),
            ("example.com:99999", "example.com", Invalid),
            ("example.com.", "example.com", Defaults),
            ("[::1]:80", "[::1]", Port(80)),
            ("::1", "[::1]", Defaults),
            ("[::1]", "[::1]", Defaults),
            ("Bücher.de", "xn--bcher-kva.de", Defaults),
            ("", "", Defaults),
            ("not a host!", "not a host!", Defaults),
        ];
        for (entry, host, port) in cases {
            assert_eq!(canonical_entry(entry), (host.to_owned(), port), "{entry}");
        }
    }

    /// Regression: the scope ignored ports, so `http://a/` as a seed admitted `http://a:8080/` (another
    /// server) while `https://a/` (the same site) was only admitted by chance of the host string. The
    /// scope is now made of sites: a host, either scheme, on the default ports or an explicit one.
    #[test]
    fn scope_is_sites_host_and_port() {
        let seeds =
            |list: &[&str]| ScopeRules { seeds: list.iter().map(|s| url(s)).collect(), ..ScopeRules::default() };
        let hosts = |list: &[&str]| ScopeRules { allowed_hosts: strings(list), ..ScopeRules::default() };
        let domains = |list: &[&str]| ScopeRules { allowed_domains: strings(list), ..ScopeRules::default() };
        let cases = [
            (seeds(&["http://a/"]), "https://a/", true),
            (seeds(&["http://a/"]), "http://a/x", true),
            (seeds(&["http://a/"]), "http://a:443/", true),
            (seeds(&["http://a/"]), "http://a:8080/", false),
            (seeds(&["http://a/"]), "http://b/", false),
            (seeds(&["https://a:8443/"]), "https://a:8443/", true),
            (seeds(&["https://a:8443/"]), "http://a:8443/", true),
            (seeds(&["https://a:8443/"]), "http://a/", true),
            (seeds(&["https://a:8443/"]), "https://a:8444/", false),
            (seeds(&["http://a:80/", "http://b:81/"]), "https://b/", true),
            (seeds(&["http://a:80/", "http://b:81/"]), "http://a:81/", false),
            (hosts(&["a:8080"]), "http://a:8080/", true),
            (hosts(&["a:8080"]), "https://a:8080/", true),
            (hosts(&["a:8080"]), "http://a/", false),
            (hosts(&["a:8080"]), "https://a/", false),
            (hosts(&["a"]), "http://a/", true),
            (hosts(&["a"]), "https://a/", true),
            (hosts(&["a"]), "http://a:8080/", false),
            (hosts(&["a", "a:8080"]), "http://a:8080/", true),
            (hosts(&["a:99999"]), "http://a/", false),
            (hosts(&["[::1]:8080"]), "http://[::1]:8080/", true),
            (hosts(&["[::1]:8080"]), "http://[::1]/", false),
            (domains(&["e.com"]), "https://www.e.com/", true),
            (domains(&["e.com"]), "http://www.e.com:8080/", false),
            (domains(&["e.com:8080"]), "http://www.e.com:8080/", true),
            (domains(&["e.com:8080"]), "https://e.com:8080/", true),
            (domains(&["e.com:8080"]), "http://www.e.com/", false),
            // Listed hosts replace the seeds' sites rather than add to them.
            (ScopeRules { allowed_hosts: strings(&["b"]), ..seeds(&["http://a/"]) }, "http://a/", false),
        ];
        for (rules, u, ok) in cases {
            let described = format!("{:?} {:?} {:?}", rules.seeds, rules.allowed_hosts, rules.allowed_domains);
            let got = Scope::new(rules).check(&url(u));
            assert_eq!(got.is_ok(), ok, "{described}: {u}: {got:?}");
        }
    }

    #[test]
    fn an_admitted_site_joins_the_scope() {
        let mut scope = Scope::new(ScopeRules { allowed_hosts: strings(&["example.org"]), ..ScopeRules::default() });
        assert_eq!(scope.check(&url("https://www.example.org/")), Err(OutOfScope::Host));
        scope.admit_site(&url("http://WWW.example.org:8080/x"));
        assert_eq!(scope.check(&url("https://www.example.org/a")), Ok(()));
        assert_eq!(scope.check(&url("https://www.example.org:8080/a")), Ok(()));
        assert_eq!(scope.check(&url("https://www.example.org:8081/a")), Err(OutOfScope::Host));
        assert_eq!(scope.check(&url("https://other.example.org/")), Err(OutOfScope::Host));
    }

    #[test]
    fn blank_host_entries_admit_nothing() {
        let scope = Scope::new(ScopeRules { allowed_hosts: strings(&["", "  "]), ..ScopeRules::default() });
        assert_eq!(scope.check(&url("http://e.com/")), Err(OutOfScope::Host));
    }

    #[test]
    fn display_reasons() {
        assert_eq!(OutOfScope::Host.to_string(), "host not in scope");
        assert_eq!(OutOfScope::Scheme.to_string(), "scheme not http(s)");
    }
}
