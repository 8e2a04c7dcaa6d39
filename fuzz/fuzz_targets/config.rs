//! Arbitrary text as a config file: reading and checking it must not panic, and every error must name
//! the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match crawld::Config::parse(text, Path::new("fuzz.toml")) {
        Ok(config) => {
            if let Err(e) = config.validate() {
                let message = format!("{e:#}");
                assert!(message.starts_with("fuzz.toml"), "{message}");
            }
        }
        Err(e) => {
            let message = format!("{e:#}");
            assert!(message.starts_with("fuzz.toml"), "{message}");
        }
    }
});
