//! The outcome class of a pages.jsonl line: the one counter of README's Counters it falls under, read from
//! its `status` and `error` alone, so that the crawl (stats.json), a resume and `crawld inspect` all
//! count a line the same way.

/// How the `error` of a line without a request begins, for each class that has one. The crawl writes
/// these; [`LineClass::of`] reads them back.
pub mod errors {
    pub const ROBOTS_BLOCKED: &str = "disallowed by robots.txt";
    pub const INTERNAL_ERROR: &str = "internal error: ";
    pub const ROBOTS_UNAVAILABLE: &str = "robots.txt unavailable: ";
    pub const HOST_DOWN_SKIPPED: &str = "host unreachable, not requested (";
    /// As crawld_fetch's `FetchFailure::Refused` reads (a non-public address).
    pub const REFUSED_PRIVATE: &str = "refused: ";
}

/// The outcome a pages.jsonl line is counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineClass {
    /// An HTTP response with this status.
    Status(u16),
    /// Requested, no response.
    NoResponse,
    /// Not requested: its address is not public (`fetch.allow_private_networks`).
    RefusedPrivate,
    RobotsBlocked,
    RobotsUnavailable,
    HostDownSkipped,
    InternalError,
}

impl LineClass {
    /// The class of a line with this status and error.
    pub fn of(status: Option<u16>, error: Option<&str>) -> LineClass {
        if let Some(status) = status {
            return LineClass::Status(status);
        }
        let error = error.unwrap_or_default();
        if error == errors::ROBOTS_BLOCKED {
            LineClass::RobotsBlocked
        } else if error.starts_with(errors::ROBOTS_UNAVAILABLE) {
            LineClass::RobotsUnavailable
        } else if error.starts_with(errors::HOST_DOWN_SKIPPED) {
            LineClass::HostDownSkipped
        } else if error.starts_with(errors::INTERNAL_ERROR) {
            LineClass::InternalError
        } else if error.starts_with(errors::REFUSED_PRIVATE) {
            LineClass::RefusedPrivate
        } else {
            LineClass::NoResponse
        }
    }
}
