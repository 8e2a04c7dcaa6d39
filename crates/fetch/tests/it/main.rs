//! Integration tests against real servers started on 127.0.0.1:0 inside each test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod address;
mod common;
mod fetch;
mod pool;
mod robots;
