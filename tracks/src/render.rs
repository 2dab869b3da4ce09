//! Top-down pictures of a track: road, painted lines, start line, driving
//! direction and optional waypoint numbers.

use crate::error::TrackError;
use crate::surface::Color;
use crate::track::Track;
use chicane_core::Vec2;
use image::{Rgb, RgbImage};
use noto_sans_mono_bitmap::{FontWeight, RasterHeight, get_raster, get_raster_width};
use std::path::Path;

/// Options of [`render_top_down`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderOptions {
    /// Image scale (pixels per metre). Default 100 (1 px = 1 cm). Lowered
    /// automatically so neither side exceeds `max_size`.
    pub pixels_per_meter: f64,
    /// Ground shown around the track (m). Default 0.6.
    pub margin: f64,
    /// Largest width or height (px). Default 4096.
    pub max_size: u32,
    /// Number the waypoints (DeepRacer's `closest_waypoints` indices).
    /// Default false.
    pub waypoint_numbers: bool,
    /// Write the name and size in the top-left corner. Default true.
    pub title: bool,
    /// Draw the arrow showing the driving direction. Default true (off for
    /// the simulator's ground texture: real tracks have no arrow).
    pub direction_arrow: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            pixels_per_meter: 100.0,
            margin: 0.6,
            max_size: 4096,
            waypoint_numbers: false,
            title: true,
            direction_arrow: true,
        }
    }
}

/// Maps world metres to pixel coordinates (y up in the world, down in the image).
#[derive(Debug, Clone, Copy)]
pub struct PixelFrame {
    /// World point at the top-left corner of the image (m).
    pub top_left: Vec2,
    /// Pixels per metre.
    pub scale: f64,
}

impl PixelFrame {
    /// Pixel coordinates (x right, y down) of a world point.
    pub fn to_pixel(&self, p: Vec2) -> (f64, f64) {
        (
            (p.x - self.top_left.x) * self.scale,
            (self.top_left.y - p.y) * self.scale,
        )
    }

    /// World point at the centre of pixel `(x, y)`.
    pub fn to_world(&self, x: u32, y: u32) -> Vec2 {
        Vec2::new(
            self.top_left.x + (x as f64 + 0.5) / self.scale,
            self.top_left.y - (y as f64 + 0.5) / self.scale,
        )
    }
}

/// Per-pixel Frenet coordinates `(s, d)` of the track's neighbourhood,
/// `d = INFINITY` where no segment cell reaches.
struct FrenetRaster {
    s: Vec<f32>,
    d: Vec<f32>,
}

/// Frenet coordinates of every pixel within `reach` metres of the
/// centerline: each segment's cell is scanned over its bounding box and the
/// smallest `|d|` wins where cells overlap (inside corners).
fn frenet_raster(
    track: &Track,
    frame: &PixelFrame,
    width: u32,
    height: u32,
    reach: f64,
) -> FrenetRaster {
    let mut r = FrenetRaster {
        s: vec![0.0; (width * height) as usize],
        d: vec![f32::INFINITY; (width * height) as usize],
    };
    let nseg = track.segment_count();
    for i in 0..nseg {
        let (p0, e, len, m0, m1, s0) = track.segment(i);
        let n = e.perp();
        let corners = [
            p0 + m0 * reach,
            p0 - m0 * reach,
            p0 + e * len + m1 * reach,
            p0 + e * len - m1 * reach,
        ];
        let (mut x0, mut y0, mut x1, mut y1) = (
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        );
        for c in corners {
            let (px, py) = frame.to_pixel(c);
            x0 = x0.min(px);
            y0 = y0.min(py);
            x1 = x1.max(px);
            y1 = y1.max(py);
        }
        let xs = x0.floor().max(0.0) as u32..(x1.ceil().max(0.0) as u32).min(width);
        let ys = y0.floor().max(0.0) as u32..(y1.ceil().max(0.0) as u32).min(height);
        let dm = (m1 - m0).dot(e);
        let open_end = !track.is_closed() && (i == 0 || i == nseg - 1);
        let slack = if open_end { reach / len } else { 1e-9 };
        for y in ys {
            for x in xs.clone() {
                let p = frame.to_world(x, y);
                let rel = p - p0;
                let d = rel.dot(n);
                if d.abs() > reach {
                    continue;
                }
                let denom = len + d * dm;
                if denom <= 1e-12 {
                    continue;
                }
                let t = (rel - m0 * d).dot(e) / denom;
                let lo = if open_end && i == 0 { -slack } else { -1e-9 };
                let hi = if open_end && i == nseg - 1 {
                    1.0 + slack
                } else {
                    1.0 + 1e-9
                };
                if t < lo || t > hi {
                    continue;
                }
                let k = (y * width + x) as usize;
                if (d.abs() as f32) < r.d[k].abs() {
                    r.d[k] = d as f32;
                    r.s[k] = (s0 + t * len) as f32;
                }
            }
        }
    }
    r
}

/// Box-filter coverage of a pixel `px` metres wide by a half-plane whose
/// edge is `signed` metres away (positive inside).
fn coverage(signed: f64, px: f64) -> f64 {
    (0.5 + signed / px).clamp(0.0, 1.0)
}

fn blend(base: [f64; 3], top: Color, alpha: f64) -> [f64; 3] {
    let t = top.0;
    [
        base[0] + (t[0] as f64 - base[0]) * alpha,
        base[1] + (t[1] as f64 - base[1]) * alpha,
        base[2] + (t[2] as f64 - base[2]) * alpha,
    ]
}

/// The picture frame for a track: its bounds plus `margin`, at a scale that
/// keeps both sides within `max_size` pixels.
pub fn pixel_frame(track: &Track, opts: &RenderOptions) -> (PixelFrame, u32, u32) {
    let (lo, hi) = track.bounds();
    let margin = opts.margin.max(0.0);
    let (w_m, h_m) = (hi.x - lo.x + 2.0 * margin, hi.y - lo.y + 2.0 * margin);
    let max = opts.max_size.max(64) as f64;
    let scale = opts
        .pixels_per_meter
        .clamp(1.0, 1000.0)
        .min(max / w_m)
        .min(max / h_m);
    let frame = PixelFrame {
        top_left: Vec2::new(lo.x - margin, hi.y + margin),
        scale,
    };
    (
        frame,
        (w_m * scale).ceil().max(1.0) as u32,
        (h_m * scale).ceil().max(1.0) as u32,
    )
}

/// Renders the track seen from above, north up: off-track ground, road,
/// white border lines, the dashed centre line, a start line across the road
/// and an arrow in the driving direction; optionally waypoint numbers and a
/// title.
pub fn render_top_down(track: &Track, opts: &RenderOptions) -> RgbImage {
    let (frame, width, height) = pixel_frame(track, opts);
    let px = 1.0 / frame.scale; // pixel size (m)
    let surf = track.surface();
    let (_, wmax) = track.width_range();
    let reach = wmax + 2.0 * px;
    let raster = frenet_raster(track, &frame, width, height, reach);
    let start = track.start();
    let period = surf.dash_length + surf.dash_gap;
    let off = surf.off_track.0.map(f64::from);
    let mut img = RgbImage::new(width, height);
    for y in 0..height {
        for x in 0..width {
            let k = (y * width + x) as usize;
            let d = raster.d[k] as f64;
            let mut c = off;
            if d.is_finite() {
                let s = raster.s[k] as f64;
                let (wl, wr) = (track.left_width_at(s), track.right_width_at(s));
                let mut road = coverage(wl - d, px) * coverage(d + wr, px);
                if !track.is_closed() {
                    road *= coverage(s, px) * coverage(track.length() - s, px);
                }
                if road > 0.0 {
                    c = blend(c, surf.road, road);
                    let bw = surf.border_line_width;
                    let left_line = coverage(d - (wl - bw), px);
                    let right_line = coverage(-wr + bw - d, px);
                    c = blend(c, surf.border, road * left_line.max(right_line));
                    let phase = (s - start.s).rem_euclid(period);
                    let along = coverage(phase.min(surf.dash_length - phase), px);
                    let across = coverage(surf.center_line_width / 2.0 - d.abs(), px);
                    c = blend(c, surf.center_line, road * along * across);
                    let mut ds = s - start.s;
                    if track.is_closed() {
                        ds -= track.length() * (ds / track.length()).round();
                    }
                    let start_line = coverage(0.025 - ds.abs(), px);
                    c = blend(c, Color([255, 255, 255]), road * start_line);
                }
            }
            img.put_pixel(x, y, Rgb(c.map(|v| v.round().clamp(0.0, 255.0) as u8)));
        }
    }
    if opts.direction_arrow {
        draw_direction_arrow(&mut img, track, &frame);
    }
    if opts.waypoint_numbers {
        draw_waypoint_numbers(&mut img, track, &frame);
    }
    if opts.title {
        let (wmin, wmax) = track.width_range();
        let width_text = if (wmax - wmin) < 0.0005 {
            format!("{wmin:.3} m")
        } else {
            format!("{wmin:.3}-{wmax:.3} m")
        };
        let title = format!(
            "{}  {:.2} m, width {width_text}",
            track.name(),
            track.length()
        );
        draw_text(
            &mut img,
            8,
            6,
            &title,
            RasterHeight::Size24,
            Color([255, 255, 255]),
        );
    }
    img
}

/// An arrow on the road just past the start line, pointing the way the car
/// drives.
fn draw_direction_arrow(img: &mut RgbImage, track: &Track, frame: &PixelFrame) {
    let start = track.start();
    let sign = start.direction.sign();
    let w = track.width_at(start.s);
    let len = (0.6 * w).clamp(0.15, 1.0);
    let s_tail = start.s + sign * 0.15;
    let tail = track.to_world(s_tail, 0.0);
    let tip_pt = track.to_world(s_tail + sign * len, 0.0);
    let dir = (tip_pt - tail).normalized();
    let side = dir.perp() * (0.18 * w);
    let head_base = tip_pt - dir * (0.45 * len);
    let shaft = dir.perp() * (0.06 * w);
    let red = Color([0xe0, 0x30, 0x30]);
    fill_polygon(
        img,
        frame,
        &[
            tail + shaft,
            head_base + shaft,
            head_base - shaft,
            tail - shaft,
        ],
        red,
    );
    fill_polygon(
        img,
        frame,
        &[head_base + side, tip_pt, head_base - side],
        red,
    );
}

/// Fills a convex polygon (world coordinates) with 4x4 supersampling.
fn fill_polygon(img: &mut RgbImage, frame: &PixelFrame, poly: &[Vec2], color: Color) {
    let pts: Vec<(f64, f64)> = poly.iter().map(|p| frame.to_pixel(*p)).collect();
    let (mut x0, mut y0, mut x1, mut y1) = (
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    );
    for &(x, y) in &pts {
        x0 = x0.min(x);
        y0 = y0.min(y);
        x1 = x1.max(x);
        y1 = y1.max(y);
    }
    let inside = |x: f64, y: f64| {
        let mut sign = 0.0;
        for i in 0..pts.len() {
            let (ax, ay) = pts[i];
            let (bx, by) = pts[(i + 1) % pts.len()];
            let c = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
            if c != 0.0 {
                if sign != 0.0 && c.signum() != sign {
                    return false;
                }
                sign = c.signum();
            }
        }
        true
    };
    let (w, h) = img.dimensions();
    for y in (y0.floor().max(0.0) as u32)..(y1.ceil().max(0.0) as u32).min(h) {
        for x in (x0.floor().max(0.0) as u32)..(x1.ceil().max(0.0) as u32).min(w) {
            let mut hits = 0;
            for sy in 0..4 {
                for sx in 0..4 {
                    if inside(
                        x as f64 + (sx as f64 + 0.5) / 4.0,
                        y as f64 + (sy as f64 + 0.5) / 4.0,
                    ) {
                        hits += 1;
                    }
                }
            }
            if hits > 0 {
                let base = img.get_pixel(x, y).0.map(f64::from);
                let c = blend(base, color, hits as f64 / 16.0);
                img.put_pixel(x, y, Rgb(c.map(|v| v.round() as u8)));
            }
        }
    }
}

/// Numbers every few waypoints outside the loop, with a dot on the
/// centerline, spaced so labels do not overlap.
fn draw_waypoint_numbers(img: &mut RgbImage, track: &Track, frame: &PixelFrame) {
    let min_gap_px = 28.0;
    let mut last: Option<(f64, f64)> = None;
    let n = track.num_waypoints();
    let label_color = Color([255, 255, 255]);
    // labels go outside the loop, where there is room: the right side of a
    // counter-clockwise loop (positive signed area), the left of a clockwise one
    let pts = track.waypoints();
    let area2: f64 = (0..n).map(|i| pts[i].cross(pts[(i + 1) % n])).sum();
    let outside_is_left = track.is_closed() && area2 < 0.0;
    for i in 0..n {
        let s = track.waypoint_s(i);
        let c = track.waypoints()[i];
        let (cx, cy) = frame.to_pixel(c);
        if let Some((lx, ly)) = last
            && ((cx - lx).powi(2) + (cy - ly).powi(2)).sqrt() < min_gap_px
        {
            continue;
        }
        last = Some((cx, cy));
        let dot = 1.5 / frame.scale;
        fill_polygon(
            img,
            frame,
            &[
                c + Vec2::new(dot, 0.0),
                c + Vec2::new(0.0, dot),
                c - Vec2::new(dot, 0.0),
                c - Vec2::new(0.0, dot),
            ],
            Color([0x30, 0xa0, 0xff]),
        );
        let gap = 12.0 / frame.scale;
        let label = if outside_is_left {
            track.to_world(s, track.left_width_at(s) + gap)
        } else {
            track.to_world(s, -track.right_width_at(s) - gap)
        };
        let (lx, ly) = frame.to_pixel(label);
        let text = i.to_string();
        let tw = (text.len() * get_raster_width(FontWeight::Regular, RasterHeight::Size16)) as f64;
        draw_text(
            img,
            (lx - tw / 2.0) as i64,
            (ly - 8.0) as i64,
            &text,
            RasterHeight::Size16,
            label_color,
        );
    }
}

/// Draws text with a dark outline so it reads on any background.
fn draw_text(img: &mut RgbImage, x: i64, y: i64, text: &str, size: RasterHeight, color: Color) {
    let advance = get_raster_width(FontWeight::Regular, size) as i64;
    let (w, h) = (img.width() as i64, img.height() as i64);
    let mut put = |px: i64, py: i64, c: Color, a: f64| {
        if px >= 0 && py >= 0 && px < w && py < h && a > 0.0 {
            let base = img.get_pixel(px as u32, py as u32).0.map(f64::from);
            let v = blend(base, c, a);
            img.put_pixel(px as u32, py as u32, Rgb(v.map(|v| v.round() as u8)));
        }
    };
    for pass in 0..2 {
        for (ci, ch) in text.chars().enumerate() {
            let Some(glyph) = get_raster(ch, FontWeight::Regular, size)
                .or_else(|| get_raster('?', FontWeight::Regular, size))
            else {
                continue;
            };
            let ox = x + ci as i64 * advance;
            for (gy, row) in glyph.rows().enumerate() {
                for (gx, &v) in row.iter().enumerate() {
                    let a = v as f64 / 255.0;
                    let (px, py) = (ox + gx as i64, y + gy as i64);
                    if pass == 0 {
                        for (dx, dy) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                            put(px + dx, py + dy, Color([0, 0, 0]), a * 0.8);
                        }
                    } else {
                        put(px, py, color, a);
                    }
                }
            }
        }
    }
}

/// Draws a polyline of world points (m) onto a picture made with `frame`,
/// `width_px` wide, each segment in the colour of its starting point.
pub fn draw_polyline(
    img: &mut RgbImage,
    frame: &PixelFrame,
    points: &[Vec2],
    colors: &[[u8; 3]],
    width_px: f64,
) {
    let half = (width_px / 2.0).max(0.5) / frame.scale;
    for (i, w) in points.windows(2).enumerate() {
        let (a, b) = (w[0], w[1]);
        let dir = (b - a).normalized();
        if dir == Vec2::ZERO {
            continue;
        }
        let n = dir.perp() * half;
        let (a, b) = (a - dir * half, b + dir * half);
        let color = Color(colors.get(i).copied().unwrap_or([255, 0, 0]));
        fill_polygon(img, frame, &[a + n, b + n, b - n, a - n], color);
    }
}

/// A blue-to-red colour ramp: 0 blue, 0.5 green-yellow, 1 red.
pub fn ramp_color(t: f64) -> [u8; 3] {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let r = (255.0 * (1.5 * t - 0.25).clamp(0.0, 1.0)) as u8;
    let g = (255.0 * (1.0 - (2.0 * t - 1.0).abs()).clamp(0.0, 1.0)) as u8;
    let b = (255.0 * (1.0 - 1.5 * t).clamp(0.0, 1.0)) as u8;
    [r, g, b]
}

/// Writes an image as PNG.
///
/// # Errors
/// [`TrackError::Image`] naming the file when it cannot be written.
pub fn save_png(img: &RgbImage, path: &Path) -> Result<(), TrackError> {
    img.save_with_format(path, image::ImageFormat::Png)
        .map_err(|e| TrackError::Image {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })
}
