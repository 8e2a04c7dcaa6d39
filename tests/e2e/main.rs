//! End-to-end tests: real crawls of test sites served on loopback, checked through the output directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod bfs;
mod cli;
mod fetching;
mod guards;
mod hostile;
mod inspect;
mod operate;
mod output;
mod politeness;
mod resume;
mod robots_refetch;
mod safety;
mod scope;
mod sitemaps;
mod tls;
