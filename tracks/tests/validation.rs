//! Each malformed input gets its own clear error naming the file, the row or
//! field, and what to do. Test files are built here, not committed.
#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;

use chicane_core::Vec2;
use chicane_tracks::{TrackError, load, parse_npy, parse_toml};
use common::{circle, npy_bytes, npy_rows, rows_for};

fn npy_err(bytes: &[u8]) -> (TrackError, String) {
    let err = parse_npy(bytes, "bad.npy", "bad").expect_err("must be rejected");
    let msg = err.to_string();
    assert!(
        msg.starts_with("bad.npy: "),
        "message must name the file: {msg}"
    );
    (err, msg)
}

fn toml_err(text: &str) -> (TrackError, String) {
    let err = parse_toml(text, "bad.toml").expect_err("must be rejected");
    let msg = err.to_string();
    assert!(
        msg.starts_with("bad.toml: "),
        "message must name the file: {msg}"
    );
    (err, msg)
}

#[test]
fn a_valid_synthetic_track_loads() {
    let track = parse_npy(
        &npy_rows(&rows_for(&circle(3.0, 60), 0.4, true)),
        "ok.npy",
        "ok",
    )
    .unwrap();
    assert!(track.is_closed());
    assert_eq!(track.num_waypoints(), 60);
}

#[test]
fn wrong_shape() {
    let data: Vec<u8> = (0..20).flat_map(|i| (i as f64).to_le_bytes()).collect();
    let (err, msg) = npy_err(&npy_bytes("<f8", &[4, 5], &data));
    assert!(matches!(err, TrackError::NpyShape { .. }), "{err:?}");
    assert!(msg.contains("[4, 5]") && msg.contains("(N, 6)"), "{msg}");
    let (err, _) = npy_err(&npy_bytes("<f8", &[20], &data));
    assert!(matches!(err, TrackError::NpyShape { .. }));
}

#[test]
fn wrong_dtype() {
    let data: Vec<u8> = (0..24i32).flat_map(|i| i.to_le_bytes()).collect();
    let (err, msg) = npy_err(&npy_bytes("<i4", &[4, 6], &data));
    assert!(matches!(err, TrackError::NpyDtype { .. }), "{err:?}");
    assert!(
        msg.contains("<i4") && msg.contains("float64") && msg.contains("astype"),
        "{msg}"
    );
}

#[test]
fn truncated_data() {
    let mut bytes = npy_rows(&rows_for(&circle(3.0, 20), 0.4, true));
    bytes.truncate(bytes.len() - 13);
    let (err, msg) = npy_err(&bytes);
    assert!(matches!(err, TrackError::NpyFormat { .. }), "{err:?}");
    assert!(msg.contains("truncated"), "{msg}");
}

#[test]
fn not_an_npy_file() {
    let (err, _) = npy_err(b"center_x,center_y\n1,2\n");
    assert!(matches!(err, TrackError::NpyFormat { .. }), "{err:?}");
}

#[test]
fn nan_and_infinity() {
    let mut rows = rows_for(&circle(3.0, 20), 0.4, true);
    rows[7][3] = f64::NAN;
    let (err, msg) = npy_err(&npy_rows(&rows));
    assert!(matches!(err, TrackError::NonFinite { .. }), "{err:?}");
    assert!(
        msg.contains("row 7") && msg.contains("inner_y") && msg.contains("NaN"),
        "{msg}"
    );
    let mut rows = rows_for(&circle(3.0, 20), 0.4, true);
    rows[3][0] = f64::INFINITY;
    let (_, msg) = npy_err(&npy_rows(&rows));
    assert!(
        msg.contains("row 3") && msg.contains("center_x") && msg.contains("inf"),
        "{msg}"
    );
    let (_, msg) = toml_err(
        "name = \"x\"\nwidth = 1.0\ncenterline = [[0.0, 0.0], [1.0, 0.0], [1.0, nan], [0.0, 1.0]]\n",
    );
    assert!(
        msg.contains("centerline[2]") && msg.contains("center_y"),
        "{msg}"
    );
}

#[test]
fn too_few_distinct_points() {
    // 6 rows but only 3 distinct points: repeats are dropped first
    let c = [
        Vec2::new(0., 0.),
        Vec2::new(0., 0.),
        Vec2::new(1., 0.),
        Vec2::new(1., 0.),
        Vec2::new(1., 1.),
        Vec2::new(0., 0.),
    ];
    let rows: Vec<[f64; 6]> = c
        .iter()
        .map(|p| [p.x, p.y, p.x, p.y + 0.1, p.x, p.y - 0.1])
        .collect();
    let (err, msg) = npy_err(&npy_rows(&rows));
    assert!(
        matches!(err, TrackError::TooFewPoints { distinct: 3, .. }),
        "{err:?}"
    );
    assert!(msg.contains("at least 4"), "{msg}");
    let (_, msg) = toml_err("name = \"x\"\nwidth = 1.0\ncenterline = [[0.0, 0.0], [1.0, 0.0]]\n");
    assert!(msg.contains("2 distinct"), "{msg}");
}

#[test]
fn borders_crossing_the_centerline() {
    let mut rows = rows_for(&circle(3.0, 40), 0.4, true);
    // swap the outer point of row 12 across to the inner side
    rows[12][4] = rows[12][2] + 0.01 * (rows[12][2] - rows[12][0]);
    rows[12][5] = rows[12][3] + 0.01 * (rows[12][3] - rows[12][1]);
    let (err, msg) = npy_err(&npy_rows(&rows));
    assert!(matches!(err, TrackError::BorderSide { .. }), "{err:?}");
    assert!(
        msg.contains("row 12") && msg.contains("cross the centerline"),
        "{msg}"
    );
}

#[test]
fn zero_or_negative_width() {
    let (err, msg) = toml_err(
        "name = \"x\"\nwidth = 0.0\ncenterline = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n",
    );
    assert!(matches!(err, TrackError::Field { .. }), "{err:?}");
    assert!(msg.contains("width") && msg.contains("positive"), "{msg}");
    let text = "name = \"x\"\ncenterline = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n\
                left_widths = [0.3, 0.3, -0.1, 0.3]\nright_widths = [0.3, 0.3, 0.3, 0.3]\n";
    let (err, msg) = toml_err(text);
    assert!(matches!(err, TrackError::Width { .. }), "{err:?}");
    assert!(
        msg.contains("centerline[2] (left side)") && msg.contains("-0.1"),
        "{msg}"
    );
    // a border point on the centerline itself
    let mut rows = rows_for(&circle(3.0, 40), 0.4, true);
    rows[5][2] = rows[5][0];
    rows[5][3] = rows[5][1];
    let (err, msg) = npy_err(&npy_rows(&rows));
    assert!(
        matches!(err, TrackError::BorderSide { side: "same", .. }),
        "{err:?}"
    );
    assert!(msg.contains("row 5"), "{msg}");
}

#[test]
fn self_intersecting_centerline() {
    // a figure eight: x = sin(2t), y = sin(t)
    let eight: Vec<Vec2> = (0..80)
        .map(|i| {
            let t = std::f64::consts::TAU * i as f64 / 80.0;
            Vec2::new(3.0 * (2.0 * t).sin(), 3.0 * t.sin())
        })
        .collect();
    let (err, msg) = npy_err(&npy_rows(&rows_for(&eight, 0.2, true)));
    assert!(
        matches!(err, TrackError::SelfIntersection { .. }),
        "{err:?}"
    );
    assert!(
        msg.contains("crosses itself") && msg.contains("row "),
        "{msg}"
    );
}

#[test]
fn a_point_that_doubles_back() {
    let mut c = circle(3.0, 40);
    c[10] = c[9] + (c[9] - c[8]) * 0.5; // ahead of 9 ...
    c.insert(11, c[9] + (c[9] - c[8]) * 0.1); // ... then back again
    let (err, msg) = npy_err(&npy_rows(&rows_for(&c, 0.3, true)));
    assert!(matches!(err, TrackError::Spike { .. }), "{err:?}");
    assert!(msg.contains("doubling back"), "{msg}");
}

#[test]
fn toml_syntax_unknown_fields_and_conflicts() {
    let (err, msg) = toml_err("name = \"x\"\nwidth = = 1\n");
    assert!(matches!(err, TrackError::Toml { .. }));
    assert!(msg.contains("line 2"), "{msg}");
    let (_, msg) = toml_err("name = \"x\"\nwidht = 1.0\ncenterline = [[0.0, 0.0]]\n");
    assert!(
        msg.contains("unknown field") && msg.contains("widht") && msg.contains("width"),
        "{msg}"
    );
    let (_, msg) = toml_err("name = \"x\"\nwidth = 1.0\n");
    assert!(
        msg.contains("centerline") && msg.contains("missing"),
        "{msg}"
    );
    let (_, msg) =
        toml_err("name = \"x\"\nwidth = 1.0\nwidths = [1.0]\ncenterline = [[0.0, 0.0]]\n");
    assert!(msg.contains("only one of"), "{msg}");
    let (_, msg) = toml_err(
        "name = \"x\"\nwidths = [1.0, 1.0]\ncenterline = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n",
    );
    assert!(
        msg.contains("widths") && msg.contains("has 2 entries"),
        "{msg}"
    );
    let (_, msg) = toml_err(
        "name = \"x\"\nwidth = 1.0\npath = [{ straight = 2.0 }, { turn_deg = 90, radius = 1.0 }]\n",
    );
    assert!(
        msg.contains("path") && msg.contains("must end where it starts"),
        "{msg}"
    );
    let (_, msg) =
        toml_err("name = \"x\"\nwidth = 1.0\npath = [{ straight = 2.0, radius = 1.0 }]\n");
    assert!(msg.contains("path[0]"), "{msg}");
    let (_, msg) = toml_err(
        "name = \"x\"\nwidth = 1.0\ncenterline = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n[surface]\nroad = \"grey\"\n",
    );
    assert!(msg.contains("#rrggbb"), "{msg}");
}

#[test]
fn unknown_names_and_missing_files() {
    let msg = load("no-such-track").unwrap_err().to_string();
    assert!(
        msg.contains("`no-such-track` is neither a track file nor a built-in track")
            && msg.contains("technical-loop")
            && !msg.contains("did you mean"),
        "{msg}"
    );
    let msg = load("technical_lop").unwrap_err().to_string();
    assert!(msg.contains("(did you mean `technical-loop`?)"), "{msg}");
    let msg = load("missing/track.npy").unwrap_err().to_string();
    assert!(
        msg.contains("`missing/track.npy` is neither a track file") && msg.contains("easy-oval"),
        "{msg}"
    );
}

#[test]
fn real_quirks_are_accepted() {
    // repeated rows and an open strip, as in DeepRacer's own files
    let line: Vec<Vec2> = (0..10).map(|i| Vec2::new(i as f64 * 0.3, 0.0)).collect();
    let mut rows = rows_for(&line, 0.3, false);
    rows.insert(4, rows[4]);
    rows.insert(4, rows[4]);
    let track = parse_npy(&npy_rows(&rows), "strip.npy", "strip").unwrap();
    assert!(!track.is_closed());
    assert_eq!(track.num_waypoints(), 10);
    assert!((track.length() - 2.7).abs() < 1e-12);
}
