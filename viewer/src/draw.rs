//! The streamed pictures: an env's camera frame and a track's top-down
//! view with its cars, as JPEG.

use crate::hub::{CarMark, Shared};
use chicane_core::Vec2;
use chicane_tracks::{PixelFrame, RenderOptions, draw_polyline, pixel_frame, render_top_down};
use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, RgbImage};

/// JPEG quality of the streams (1..100).
const QUALITY: u8 = 85;

/// One colour per env (cycled), bright on the grey road and green grass.
/// (The track's start arrow is red, so red comes last.)
const CAR_COLORS: [[u8; 3]; 8] = [
    [255, 225, 25],
    [70, 240, 240],
    [240, 50, 230],
    [245, 130, 48],
    [0, 130, 200],
    [255, 255, 255],
    [145, 30, 180],
    [230, 25, 75],
];

/// Car length drawn on the top-down view (m): the DeepRacer car's.
const CAR_LENGTH_M: f64 = 0.3;

/// A track's top-down picture without cars, and its pixel frame.
#[derive(Debug)]
pub(crate) struct TopDown {
    base: RgbImage,
    frame: PixelFrame,
}

fn encode(pixels: &[u8], width: u32, height: u32, color: ExtendedColorType) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(pixels.len() / 4);
    JpegEncoder::new_with_quality(&mut out, QUALITY)
        .encode(pixels, width, height, color)
        .ok()?;
    Some(out)
}

/// One env's camera frame as JPEG: gray or RGB, the two eyes of a stereo
/// camera side by side. `None` without a camera or for a short frame.
///
/// # Shapes
/// `src`: `[C, H, W]` u8.
pub(crate) fn camera_jpeg(shared: &Shared, src: &[u8]) -> Option<Vec<u8>> {
    let cam = shared.setup.camera.as_ref()?;
    let (w, h) = (cam.width as usize, cam.height as usize);
    let per_eye = if cam.rgb { 3 } else { 1 };
    let eyes = cam.channels() / per_eye;
    let src = src.get(..cam.frame_len())?;
    let out_w = w * eyes;
    let mut px = vec![0u8; out_w * h * per_eye];
    for eye in 0..eyes {
        for c in 0..per_eye {
            let plane = &src[(eye * per_eye + c) * w * h..][..w * h];
            for y in 0..h {
                for x in 0..w {
                    px[(y * out_w + eye * w + x) * per_eye + c] = plane[y * w + x];
                }
            }
        }
    }
    let color = if per_eye == 3 {
        ExtendedColorType::Rgb8
    } else {
        ExtendedColorType::L8
    };
    encode(&px, out_w as u32, h as u32, color)
}

/// Track `track`'s top-down view with the cars on it, as JPEG; the picture
/// of the track is drawn once.
pub(crate) fn top_down_jpeg(shared: &Shared, cars: &[CarMark], track: usize) -> Option<Vec<u8>> {
    let t = shared.setup.tracks.get(track)?;
    let td = shared.top_down.get(track)?.get_or_init(|| {
        let opts = RenderOptions {
            max_size: shared.setup.top_down_px.max(64),
            ..RenderOptions::default()
        };
        let (frame, _, _) = pixel_frame(t, &opts);
        TopDown {
            base: render_top_down(t, &opts),
            frame,
        }
    });
    let mut img = td.base.clone();
    let width_px = (0.12 * td.frame.scale).max(6.0);
    let half = (CAR_LENGTH_M / 2.0).max(6.0 / td.frame.scale);
    for (i, car) in cars.iter().enumerate().filter(|(_, c)| c.track == track) {
        let dir = Vec2::new(car.yaw.cos(), car.yaw.sin());
        let color = CAR_COLORS[i % CAR_COLORS.len()];
        let (rear, front) = (car.position - dir * half, car.position + dir * half);
        draw_polyline(&mut img, &td.frame, &[rear, front], &[color], width_px);
        // a dark nose shows which way it drives
        let nose = car.position + dir * (half * 0.6);
        draw_polyline(
            &mut img,
            &td.frame,
            &[nose, front],
            &[[20, 20, 20]],
            width_px * 0.7,
        );
    }
    encode(
        img.as_raw(),
        img.width(),
        img.height(),
        ExtendedColorType::Rgb8,
    )
}
