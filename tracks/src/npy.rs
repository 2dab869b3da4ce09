//! Import of DeepRacer track files (`.npy`).
//!
//! DeepRacer's simulator (`deepracer-simapp`, `routes/*.npy`) stores a track
//! as a float64 array of shape `(N, 6)`, rows
//! `[center_x, center_y, inner_x, inner_y, outer_x, outer_y]` in metres. A
//! loop repeats its first row at the end; some files repeat rows in between.

use crate::error::TrackError;
use crate::surface::SurfaceHints;
use crate::track::{Extent, RawRow, RawTrack, Start, Track};
use chicane_core::Vec2;
use npyz::{NpyFile, Order, WriterBuilder};

/// Reads a DeepRacer track from the bytes of a `.npy` file. `origin` names
/// the file in error messages and `name` becomes the track's name.
///
/// Whether the track is a loop follows DeepRacer's rule: the last row equals
/// the first. Consecutive repeated rows are dropped. Which border is on the
/// left is found from the geometry, so clockwise and counter-clockwise files
/// both load.
///
/// # Errors
/// An unreadable container, a shape other than `(N, 6)`, a non-float dtype,
/// and every geometry check of [`Track`], each naming the row (0-based, as
/// numpy indexes it).
pub fn parse_npy(bytes: &[u8], origin: &str, name: &str) -> Result<Track, TrackError> {
    let format_err = |detail: String| TrackError::NpyFormat {
        origin: origin.to_string(),
        detail,
    };
    let npy = NpyFile::new(bytes).map_err(|e| format_err(e.to_string()))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 || shape[1] != 6 {
        return Err(TrackError::NpyShape {
            origin: origin.to_string(),
            shape,
        });
    }
    let dtype = match npy.dtype() {
        npyz::DType::Plain(ts) => ts.to_string(),
        other => other.descr(),
    };
    let itemsize: u64 = match dtype.as_str() {
        "<f8" | ">f8" => 8,
        "<f4" | ">f4" => 4,
        _ => {
            return Err(TrackError::NpyDtype {
                origin: origin.to_string(),
                dtype,
            });
        }
    };
    let fortran = npy.order() == Order::Fortran;
    let rows = shape[0];
    let expected = rows.checked_mul(6).and_then(|v| v.checked_mul(itemsize));
    // Check the data size before reading so that a corrupt header cannot
    // make the reader allocate more than the file holds.
    let npy = {
        let header = npy.header().clone();
        let data: &[u8] = npy.into_inner();
        if expected != Some(data.len() as u64) {
            return Err(format_err(format!(
                "the header promises {rows} rows of 6 {dtype} values but the file holds {} data bytes; the file is truncated or corrupt",
                data.len()
            )));
        }
        NpyFile::with_header(header, data)
    };
    let values: Vec<f64> = if itemsize == 8 {
        npy.into_vec::<f64>()
            .map_err(|e| format_err(e.to_string()))?
    } else {
        npy.into_vec::<f32>()
            .map_err(|e| format_err(e.to_string()))?
            .into_iter()
            .map(f64::from)
            .collect()
    };
    let n = rows as usize;
    let at = |r: usize, c: usize| {
        if fortran {
            values[c * n + r]
        } else {
            values[r * 6 + c]
        }
    };
    let raw_rows = (0..n)
        .map(|r| RawRow {
            label: format!("row {r}"),
            center: Vec2::new(at(r, 0), at(r, 1)),
            extent: Extent::Borders {
                a: Vec2::new(at(r, 2), at(r, 3)),
                b: Vec2::new(at(r, 4), at(r, 5)),
            },
        })
        .collect();
    Track::from_raw(RawTrack {
        origin: origin.to_string(),
        name: name.to_string(),
        description: format!("imported from DeepRacer track file {origin}"),
        closed: None,
        rows: raw_rows,
        start: Start::default(),
        surface: SurfaceHints::default(),
    })
}

/// Writes a track as a DeepRacer `.npy` file: float64 `(N, 6)` rows of
/// centre, left (inner on a counter-clockwise loop) and right border points;
/// a loop repeats its first row at the end, as DeepRacer's files do.
pub fn to_npy(track: &Track) -> Vec<u8> {
    let (left, right) = (track.left_border(), track.right_border());
    let mut idx: Vec<usize> = (0..track.num_waypoints()).collect();
    if track.is_closed() {
        idx.push(0);
    }
    let rows: Vec<[f64; 6]> = idx
        .iter()
        .map(|&i| {
            let c = track.waypoints()[i];
            [c.x, c.y, left[i].x, left[i].y, right[i].x, right[i].y]
        })
        .collect();
    rows_to_npy(&rows)
}

/// Writes DeepRacer `.npy` rows (float64 `(N, 6)`) as the file's bytes.
pub fn rows_to_npy(rows: &[[f64; 6]]) -> Vec<u8> {
    let data: Vec<f64> = rows.iter().flatten().copied().collect();
    let mut out = Vec::new();
    {
        let mut writer = npyz::WriteOptions::<f64>::new()
            .default_dtype()
            .shape(&[rows.len() as u64, 6])
            .writer(&mut out)
            .begin_nd()
            .expect("writing to a Vec cannot fail");
        writer.extend(data).expect("writing to a Vec cannot fail");
        writer.finish().expect("writing to a Vec cannot fail");
    }
    out
}
