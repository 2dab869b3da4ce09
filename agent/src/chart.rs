//! Small line charts as PNG (training curves): stacked panels sharing an
//! x axis, each with its points, a moving average, and labelled axes.

use crate::error::AgentError;
use crate::records::EpisodeRecord;
use image::{Rgb, RgbImage};
use noto_sans_mono_bitmap::{FontWeight, RasterHeight, get_raster, get_raster_width};
use std::path::Path;

/// One panel: a title and `(x, y)` points (NaN y values are gaps).
pub struct Panel<'a> {
    /// Title drawn at the top left.
    pub title: &'a str,
    /// The points.
    pub points: Vec<(f64, f64)>,
    /// Fixed y range, or `None` to fit the data.
    pub y_range: Option<(f64, f64)>,
}

const W: u32 = 900;
const PANEL_H: u32 = 230;
const LEFT: i64 = 80;
const RIGHT: i64 = 20;
const TOP: i64 = 26;
const BOTTOM: i64 = 34;

/// Draws `s` at (`x`, `y`) px in Noto Sans Mono 16 px.
pub(crate) fn text(img: &mut RgbImage, x: i64, y: i64, s: &str, color: [u8; 3]) {
    let size = RasterHeight::Size16;
    let adv = get_raster_width(FontWeight::Regular, size) as i64;
    for (k, ch) in s.chars().enumerate() {
        let Some(r) = get_raster(ch, FontWeight::Regular, size)
            .or_else(|| get_raster('?', FontWeight::Regular, size))
        else {
            continue;
        };
        for (dy, row) in r.rows().enumerate() {
            for (dx, &a) in row.iter().enumerate() {
                let (px, py) = (x + k as i64 * adv + dx as i64, y + dy as i64);
                if a > 0
                    && px >= 0
                    && py >= 0
                    && px < img.width() as i64
                    && py < img.height() as i64
                {
                    let p = img.get_pixel_mut(px as u32, py as u32);
                    let t = f32::from(a) / 255.0;
                    for (v, &c) in p.0.iter_mut().zip(&color) {
                        *v = (f32::from(*v) * (1.0 - t) + f32::from(c) * t) as u8;
                    }
                }
            }
        }
    }
}

fn line(img: &mut RgbImage, a: (f64, f64), b: (f64, f64), color: [u8; 3]) {
    let n = ((b.0 - a.0).abs().max((b.1 - a.1).abs()).ceil() as usize).max(1);
    for k in 0..=n {
        let t = k as f64 / n as f64;
        let (x, y) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        if x >= 0.0 && y >= 0.0 && x < f64::from(img.width()) && y < f64::from(img.height()) {
            img.put_pixel(x as u32, y as u32, Rgb(color));
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Draws the panels one above the other, with `x_label` under the last.
pub fn render(panels: &[Panel<'_>], x_label: &str) -> RgbImage {
    let h = PANEL_H * panels.len().max(1) as u32;
    let mut img = RgbImage::from_pixel(W, h, Rgb([255, 255, 255]));
    let finite = |v: &f64| v.is_finite();
    let xs: Vec<f64> = panels
        .iter()
        .flat_map(|p| p.points.iter().map(|q| q.0))
        .filter(finite)
        .collect();
    let (x0, x1) = (
        xs.iter().copied().fold(f64::INFINITY, f64::min),
        xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    );
    let (x0, x1) = if x0.is_finite() && x1 > x0 {
        (x0, x1)
    } else if x0.is_finite() {
        (x0 - 1.0, x0 + 1.0)
    } else {
        (0.0, 1.0)
    };
    for (k, p) in panels.iter().enumerate() {
        let oy = k as i64 * i64::from(PANEL_H);
        let (pl, pr, pt, pb) = (
            LEFT,
            i64::from(W) - RIGHT,
            oy + TOP,
            oy + i64::from(PANEL_H) - BOTTOM,
        );
        let ys: Vec<f64> = p.points.iter().map(|q| q.1).filter(finite).collect();
        let (mut y0, mut y1) = p.y_range.unwrap_or((
            ys.iter().copied().fold(f64::INFINITY, f64::min),
            ys.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        ));
        if !y0.is_finite() || !y1.is_finite() {
            (y0, y1) = (0.0, 1.0);
        }
        if y1 - y0 < 1e-9 {
            (y0, y1) = (y0 - 1.0, y1 + 1.0);
        }
        let to_px = |x: f64, y: f64| {
            (
                pl as f64 + (x - x0) / (x1 - x0) * (pr - pl) as f64,
                pb as f64 - (y - y0) / (y1 - y0) * (pb - pt) as f64,
            )
        };
        // frame and grid
        let grey = [200, 200, 200];
        for g in 0..=4 {
            let y = pt as f64 + (pb - pt) as f64 * f64::from(g) / 4.0;
            line(&mut img, (pl as f64, y), (pr as f64, y), grey);
            let v = y1 - (y1 - y0) * f64::from(g) / 4.0;
            text(&mut img, 4, y as i64 - 8, &fmt_num(v), [60, 60, 60]);
        }
        line(
            &mut img,
            (pl as f64, pt as f64),
            (pl as f64, pb as f64),
            [0, 0, 0],
        );
        line(
            &mut img,
            (pl as f64, pb as f64),
            (pr as f64, pb as f64),
            [0, 0, 0],
        );
        text(&mut img, pl + 6, oy + 4, p.title, [0, 0, 0]);
        text(&mut img, pl, pb + 4, &fmt_num(x0), [60, 60, 60]);
        let last = fmt_num(x1);
        text(
            &mut img,
            pr - 10 * last.len() as i64,
            pb + 4,
            &last,
            [60, 60, 60],
        );
        if k + 1 == panels.len() {
            text(
                &mut img,
                (pl + pr) / 2 - 5 * x_label.len() as i64,
                pb + 4,
                x_label,
                [0, 0, 0],
            );
        }
        // points
        for &(x, y) in &p.points {
            if x.is_finite() && y.is_finite() {
                let (px, py) = to_px(x, y.clamp(y0, y1));
                for (dx, dy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
                    line(
                        &mut img,
                        (px + dx, py + dy),
                        (px + dx, py + dy),
                        [120, 160, 230],
                    );
                }
            }
        }
        // moving average over 20 points
        let pts: Vec<(f64, f64)> = p
            .points
            .iter()
            .copied()
            .filter(|q| q.0.is_finite() && q.1.is_finite())
            .collect();
        let win = 20usize;
        let mut prev: Option<(f64, f64)> = None;
        for i in 0..pts.len() {
            let lo = i.saturating_sub(win - 1);
            let m = pts[lo..=i].iter().map(|q| q.1).sum::<f64>() / (i - lo + 1) as f64;
            let cur = to_px(pts[i].0, m.clamp(y0, y1));
            if let Some(pv) = prev {
                line(&mut img, pv, cur, [200, 40, 40]);
                line(
                    &mut img,
                    (pv.0, pv.1 + 1.0),
                    (cur.0, cur.1 + 1.0),
                    [200, 40, 40],
                );
            }
            prev = Some(cur);
        }
    }
    img
}

/// Renders and writes a PNG atomically (temporary file, then rename).
///
/// # Errors
/// The file that could not be written.
pub fn save(panels: &[Panel<'_>], x_label: &str, path: &Path) -> Result<(), AgentError> {
    let img = render(panels, x_label);
    let tmp = path.with_extension("png.tmp");
    img.save_with_format(&tmp, image::ImageFormat::Png)
        .map_err(|e| AgentError::Io {
            path: tmp.clone(),
            source: std::io::Error::other(e),
        })?;
    std::fs::rename(&tmp, path).map_err(|source| AgentError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The episode records in a run's `metrics.jsonl` (lines that do not parse
/// are skipped: the file may end in a line being written).
pub fn read_episodes(path: &Path) -> Vec<EpisodeRecord> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("type").and_then(|t| t.as_str()) == Some("episode"))
        .filter_map(|v| serde_json::from_value(v.get("record")?.clone()).ok())
        .collect()
}

/// Writes a run's training curves (reward, progress and lap time per
/// episode) to `path` as a PNG: `training.png` of `chicane train` and
/// `python -m chicane.ray_train`.
///
/// # Errors
/// [`AgentError::Io`] naming the file that could not be written.
pub fn plot_training(episodes: &[EpisodeRecord], path: &Path) -> Result<(), AgentError> {
    let pts = |f: &dyn Fn(&EpisodeRecord) -> f64| {
        episodes
            .iter()
            .map(|e| (e.episode as f64, f(e)))
            .collect::<Vec<_>>()
    };
    let panels = [
        Panel {
            title: "reward per episode",
            points: pts(&|e| e.reward),
            y_range: None,
        },
        Panel {
            title: "progress per episode (%)",
            points: pts(&|e| e.progress),
            y_range: Some((0.0, 100.0)),
        },
        Panel {
            title: "lap time (s), completed laps",
            points: pts(&|e| e.lap_time.unwrap_or(f64::NAN)),
            y_range: None,
        },
    ];
    save(&panels, "episode", path)
}

/// Writes the completed training laps' times against training time
/// (minutes of the run's own clock, [`EpisodeRecord::elapsed_s`]) to
/// `path` as a PNG: `lap_times.png` of `chicane train`, the learning curve
/// of the racing benchmark (lap time against wall time).
///
/// # Errors
/// [`AgentError::Io`] naming the file that could not be written.
pub fn plot_lap_times(episodes: &[EpisodeRecord], path: &Path) -> Result<(), AgentError> {
    save(&[lap_time_panel(episodes)], "training time (min)", path)
}

/// Writes several runs' completed training laps against training time to
/// `path` as a PNG, one panel per run (titled with its name), all on the
/// same axes so that the curves compare: `chicane compare`, and the
/// racing benchmark's recipes side by side.
///
/// # Errors
/// [`AgentError::Io`] naming the file that could not be written.
pub fn plot_lap_time_comparison(
    runs: &[(&str, &[EpisodeRecord])],
    path: &Path,
) -> Result<(), AgentError> {
    let titles: Vec<String> = runs
        .iter()
        .map(|(name, _)| format!("{name}: lap time (s), completed training laps"))
        .collect();
    let mut panels: Vec<Panel<'_>> = runs.iter().map(|(_, eps)| lap_time_panel(eps)).collect();
    let laps = || panels.iter().flat_map(|p| p.points.iter().map(|q| q.1));
    let (lo, hi) = (
        laps().fold(f64::INFINITY, f64::min),
        laps().fold(f64::NEG_INFINITY, f64::max),
    );
    let y_range = (lo.is_finite() && hi > lo).then_some((lo, hi));
    for (panel, title) in panels.iter_mut().zip(&titles) {
        panel.title = title;
        panel.y_range = y_range;
    }
    save(&panels, "training time (min)", path)
}

/// `(training time (min), lap time (s))` of each completed lap.
fn lap_time_panel<'a>(episodes: &[EpisodeRecord]) -> Panel<'a> {
    Panel {
        title: "lap time (s), completed training laps",
        points: episodes
            .iter()
            .filter_map(|e| Some((e.elapsed_s / 60.0, e.lap_time?)))
            .collect(),
        y_range: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chicane_sim::EpisodeStatus;

    fn episode(elapsed_s: f64, lap_time: Option<f64>) -> EpisodeRecord {
        EpisodeRecord {
            episode: 0,
            iteration: 0,
            steps: 10,
            reward: 1.0,
            progress: if lap_time.is_some() { 100.0 } else { 40.0 },
            status: if lap_time.is_some() {
                EpisodeStatus::LapComplete
            } else {
                EpisodeStatus::OffTrack
            },
            lap_time,
            elapsed_s,
            track: "reinvent_base".into(),
        }
    }

    #[test]
    fn lap_times_are_plotted_against_minutes_of_training() {
        let eps = [
            episode(30.0, None),
            episode(90.0, Some(12.5)),
            episode(300.0, Some(9.75)),
        ];
        assert_eq!(lap_time_panel(&eps).points, [(1.5, 12.5), (5.0, 9.75)]);
        let dir = std::env::temp_dir().join(format!("chicane-laps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("lap_times.png");
        plot_lap_times(&eps, &path).unwrap();
        let img = image::open(&path).unwrap();
        assert_eq!((img.width(), img.height()), (W, PANEL_H));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn compared_runs_share_the_lap_time_axis() {
        let fast = [episode(60.0, Some(7.0)), episode(120.0, Some(6.5))];
        let slow = [episode(30.0, None), episode(600.0, Some(11.0))];
        let dir = std::env::temp_dir().join(format!("chicane-compare-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("compare.png");
        plot_lap_time_comparison(&[("fast", &fast[..]), ("slow", &slow[..])], &path).unwrap();
        let img = image::open(&path).unwrap();
        assert_eq!((img.width(), img.height()), (W, 2 * PANEL_H));
        std::fs::remove_dir_all(&dir).unwrap();
        let s = crate::LapSummary::of(&slow);
        assert_eq!((s.episodes, s.laps, s.elapsed_s), (2, 1, 600.0));
        assert_eq!((s.first_lap_at_s, s.best_lap_s), (Some(600.0), Some(11.0)));
        let f = crate::LapSummary::of(&fast);
        assert_eq!((f.best_lap_s, f.last_laps_mean_s), (Some(6.5), Some(6.75)));
        let none = crate::LapSummary::of(&[]);
        assert_eq!((none.laps, none.best_lap_s, none.elapsed_s), (0, None, 0.0));
    }
}
