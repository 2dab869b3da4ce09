//! `cargo bench -p chicane-tracks --bench geometry`: cost of the track
//! queries the simulator makes every step (Frenet projection and its
//! inverse, widths, closest waypoints) and of a top-down render.
//!
//! Plain timing loops (no harness) so the benchmark builds with the
//! workspace's release dependencies; results go to docs/BENCHMARKS.md.

use chicane_core::Vec2;
use chicane_tracks::{RenderOptions, Track, load, render_top_down};
use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

/// Median of `reps` timings of `iters` calls of `f`, in ns per call.
fn time_ns(reps: usize, iters: usize, mut f: impl FnMut(usize)) -> f64 {
    let mut samples: Vec<f64> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            for i in 0..iters {
                f(i);
            }
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[reps / 2]
}

fn shared_track(name: &str) -> Option<Track> {
    let dir = std::env::var_os("CHICANE_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let path = dir.join("deepracer/tracks").join(format!("{name}.npy"));
    chicane_tracks::load_file(&path).ok()
}

fn main() {
    let mut tracks: Vec<Track> = ["technical-loop", "speedway"]
        .iter()
        .map(|n| load(n).expect("built-in"))
        .collect();
    tracks.extend(
        ["reinvent_base", "reInvent2019_track"]
            .iter()
            .filter_map(|n| shared_track(n)),
    );
    println!(
        "{:<20} {:>9} {:>14} {:>13} {:>13} {:>14}",
        "track", "segments", "to_frenet ns", "to_world ns", "width_at ns", "render 100px/m"
    );
    for track in &tracks {
        // points spread over the road, in a fixed pseudo-random order
        let pts: Vec<Vec2> = (0..4096)
            .map(|i| {
                let s = track.length() * ((i as f64 * 0.618_033_988_75).fract());
                let d =
                    0.9 * track.left_width_at(s) * ((i as f64 * 0.414_213_562).fract() * 2.0 - 1.0);
                track.to_world(s, d)
            })
            .collect();
        let ss: Vec<f64> = pts.iter().map(|p| track.to_frenet(*p).s).collect();
        let frenet = time_ns(9, 4096, |i| {
            black_box(track.to_frenet(black_box(pts[i % 4096])));
        });
        let world = time_ns(9, 4096, |i| {
            black_box(track.to_world(black_box(ss[i % 4096]), 0.1));
        });
        let width = time_ns(9, 4096, |i| {
            black_box(
                track.width_at(black_box(ss[i % 4096]))
                    + track.closest_waypoints(ss[i % 4096])[0] as f64,
            );
        });
        let t = Instant::now();
        let img = render_top_down(track, &RenderOptions::default());
        let render_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "{:<20} {:>9} {:>14.0} {:>13.1} {:>13.1} {:>8.0} ms ({}x{})",
            track.name(),
            if track.is_closed() {
                track.num_waypoints()
            } else {
                track.num_waypoints() - 1
            },
            frenet,
            world,
            width,
            render_ms,
            img.width(),
            img.height()
        );
    }
}
