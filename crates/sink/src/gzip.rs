//! Gzip members (RFC 1952) from one reusable deflate state.
//!
//! Every WARC record is its own gzip member. A fresh `GzEncoder` per record allocates and clears the
//! whole deflate state each time, which cost as much CPU as the rest of the crawl; resetting one
//! `Compress` is nearly free.

use std::io;

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// A fast level: WARC output is written once and read rarely, and crawl throughput matters more.
const LEVEL: u32 = 3;
/// The member header: magic, deflate, no flags, no mtime, no extra flags, OS unknown.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

#[derive(Debug)]
pub(crate) struct MemberEncoder {
    deflate: Compress,
    out: Vec<u8>,
}

impl MemberEncoder {
    pub(crate) fn new() -> Self {
        MemberEncoder { deflate: Compress::new(Compression::new(LEVEL), false), out: Vec::with_capacity(64 << 10) }
    }

    /// One complete gzip member holding the concatenation of `parts`.
    pub(crate) fn member(&mut self, parts: &[&[u8]]) -> io::Result<&[u8]> {
        self.out.clear();
        self.out.extend_from_slice(&HEADER);
        self.deflate.reset();
        let mut crc = Crc::new();
        for part in parts {
            crc.update(part);
            self.deflate_into_out(part, FlushCompress::None)?;
        }
        self.deflate_into_out(&[], FlushCompress::Finish)?;
        self.out.extend_from_slice(&crc.sum().to_le_bytes());
        self.out.extend_from_slice(&crc.amount().to_le_bytes());
        Ok(&self.out)
    }

    fn deflate_into_out(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            // compress_vec only writes into spare capacity: keep some, so every round makes progress.
            if self.out.capacity() - self.out.len() < 4096 {
                self.out.reserve(64 << 10);
            }
            let before = self.deflate.total_in();
            let status = self.deflate.compress_vec(input, &mut self.out, flush).map_err(io::Error::other)?;
            input = &input[(self.deflate.total_in() - before) as usize..];
            let done = match flush {
                FlushCompress::Finish => status == Status::StreamEnd,
                _ => input.is_empty(),
            };
            if done {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::io::Read;

    use super::*;

    #[test]
    fn members_decode_with_a_standard_reader_and_the_state_is_reused_cleanly() {
        let mut enc = MemberEncoder::new();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for parts in [vec![&b"head\r\n"[..], &big[..], b"\r\n\r\n"], vec![&b""[..]], vec![&b"a"[..], b"b"]] {
            let member = enc.member(&parts).unwrap().to_vec();
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&member[..]).read_to_end(&mut decoded).unwrap();
            assert_eq!(decoded, parts.concat());
        }
    }
}
