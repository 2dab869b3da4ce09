//! Property tests: the loaders never panic, whatever the bytes.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chicane_tracks::{parse_npy, parse_toml};
use common::npy_bytes;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn npy_loader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_npy(&bytes, "fuzz.npy", "fuzz");
    }

    #[test]
    fn npy_loader_never_panics_on_a_valid_header_with_arbitrary_data(
        rows in 0usize..40,
        cols in 0usize..8,
        descr in prop::sample::select(vec!["<f8", ">f8", "<f4", "<i4", "|u1", "<c16"]),
        data in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let _ = parse_npy(&npy_bytes(descr, &[rows, cols], &data), "fuzz.npy", "fuzz");
    }

    #[test]
    fn npy_loader_never_panics_on_arbitrary_float_rows(values in proptest::collection::vec(
        prop_oneof![any::<f64>(), -10.0f64..10.0, Just(0.0), Just(f64::NAN)], 0..240)) {
        let n = values.len() / 6;
        let data: Vec<u8> = values[..n * 6].iter().flat_map(|v| v.to_le_bytes()).collect();
        let _ = parse_npy(&npy_bytes("<f8", &[n, 6], &data), "fuzz.npy", "fuzz");
    }

    #[test]
    fn toml_loader_never_panics_on_arbitrary_text(text in ".{0,400}") {
        let _ = parse_toml(&text, "fuzz.toml");
    }

    #[test]
    fn toml_loader_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_toml(&String::from_utf8_lossy(&bytes), "fuzz.toml");
    }

    #[test]
    fn toml_loader_never_panics_on_track_shaped_text(
        width in prop_oneof![any::<f64>(), 0.1f64..2.0],
        points in proptest::collection::vec((-5.0f64..5.0, -5.0f64..5.0), 0..30),
        segs in proptest::collection::vec((any::<bool>(), -400.0f64..400.0, -1.0f64..5.0), 0..12),
    ) {
        let pts: Vec<String> = points.iter().map(|(x, y)| format!("[{x:?}, {y:?}]")).collect();
        let _ = parse_toml(&format!("name = \"f\"\nwidth = {width:?}\ncenterline = [{}]\n", pts.join(", ")), "fuzz.toml");
        let path: Vec<String> = segs
            .iter()
            .map(|(straight, a, r)| if *straight { format!("{{ straight = {r:?} }}") } else { format!("{{ turn_deg = {a:?}, radius = {r:?} }}") })
            .collect();
        let _ = parse_toml(&format!("name = \"f\"\nwidth = {width:?}\npath = [{}]\n", path.join(", ")), "fuzz.toml");
    }
}
