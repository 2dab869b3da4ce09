//! Helpers shared by the track tests.
#![allow(dead_code)]

use chicane_core::Vec2;
use std::path::PathBuf;

/// The shared DeepRacer data folder (`../shared/data` beside the checkout),
/// or `CHICANE_SHARED_DATA`. A missing folder fails the test: these tests
/// are the compatibility proof and must not pass by skipping.
pub fn shared_data() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .or_else(|| {
            [repo.join("../shared/data"), repo.join("shared/data")]
                .into_iter()
                .find(|d| d.join("deepracer/tracks").is_dir())
        })
        .unwrap_or_else(|| repo.join("../shared/data"));
    assert!(
        dir.join("deepracer/tracks").is_dir(),
        "shared DeepRacer data not found at {}; set CHICANE_SHARED_DATA to the folder holding deepracer/tracks",
        dir.display()
    );
    dir
}

/// Every DeepRacer track file in the shared data, sorted.
pub fn deepracer_track_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared_data().join("deepracer/tracks"))
        .expect("readable tracks folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    files.sort();
    files
}

/// The bytes of a `.npy` file (format 1.0) with the given dtype descriptor,
/// shape and raw little-endian data.
pub fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let shape_txt = match shape.len() {
        1 => format!("({},)", shape[0]),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// A float64 `(N, 6)` DeepRacer track file from rows.
pub fn npy_rows(rows: &[[f64; 6]]) -> Vec<u8> {
    let data: Vec<u8> = rows
        .iter()
        .flatten()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    npy_bytes("<f8", &[rows.len(), 6], &data)
}

/// DeepRacer rows for a centerline with borders `half` metres either side
/// (inner on the left), closing the loop by repeating the first row.
pub fn rows_for(center: &[Vec2], half: f64, closed: bool) -> Vec<[f64; 6]> {
    let n = center.len();
    let mut rows: Vec<[f64; 6]> = (0..n)
        .map(|i| {
            let prev = if i > 0 {
                center[i - 1]
            } else if closed {
                center[n - 1]
            } else {
                center[i]
            };
            let next = if i + 1 < n {
                center[i + 1]
            } else if closed {
                center[0]
            } else {
                center[i]
            };
            let normal = (next - prev).normalized().perp();
            let (l, r) = (center[i] + normal * half, center[i] - normal * half);
            [center[i].x, center[i].y, l.x, l.y, r.x, r.y]
        })
        .collect();
    if closed {
        rows.push(rows[0]);
    }
    rows
}

/// A circle of `n` points, counter-clockwise.
pub fn circle(radius: f64, n: usize) -> Vec<Vec2> {
    (0..n)
        .map(|i| Vec2::from_angle(std::f64::consts::TAU * i as f64 / n as f64) * radius)
        .collect()
}
