//! The reward heat map of `chicane reward check` (and the GUI's check
//! button): the reward of a car standing on each patch of road.

use crate::{RaceEnv, ResetOptions, SimConfig, SimError};
use chicane_core::{ActionSpace, Vec2};
use chicane_reward::RewardFunction;
use chicane_tracks::{Direction, RenderOptions, Track, pixel_frame, ramp_color, render_top_down};
use image::{Rgb, RgbImage};
use std::sync::Arc;

/// A reward function drawn over the track.
#[derive(Debug, Clone)]
pub struct RewardHeatMap {
    /// The top-down track picture with the rewards blended in (blue = `low`,
    /// red = `high`).
    pub image: RgbImage,
    /// The lowest reward on the road.
    pub low: f64,
    /// The highest reward on the road.
    pub high: f64,
}

/// Draws `reward` over `track`: for every pixel of road (1 px =
/// 1 / `pixels_per_meter` m, plus 5 cm beyond each border) the reward of a
/// car standing there facing along the track's driving direction at
/// `speed` m/s, steering straight, coloured on [`ramp_color`] from the
/// lowest to the highest value.
///
/// # Errors
/// A failure of the function (an error or a value outside DeepRacer's
/// contract) as [`SimError::Config`] on field `reward`, naming the position
/// (m) where it failed.
pub fn reward_heat_map(
    track: &Arc<Track>,
    reward: Box<dyn RewardFunction>,
    speed: f64,
    pixels_per_meter: f64,
) -> Result<RewardHeatMap, SimError> {
    let cfg = SimConfig::params_only();
    let mut env = RaceEnv::new(
        cfg,
        Arc::clone(track),
        ActionSpace::full_continuous(),
        Box::new(chicane_reward::FollowCenterLine),
    )?;
    env.reset(Some(0), ResetOptions::default())?;
    let mut map_reward = reward;
    let opts = RenderOptions {
        pixels_per_meter,
        ..RenderOptions::default()
    };
    let (frame, w, h) = pixel_frame(track, &opts);
    let mut img = render_top_down(track, &opts);
    let flip = env.track().start().direction == Direction::Reverse;
    let mut values: Vec<(u32, u32, f64)> = Vec::new();
    for y in 0..h.min(img.height()) {
        for x in 0..w.min(img.width()) {
            let p: Vec2 = frame.to_world(x, y);
            let f = track.to_frenet(p);
            if f.d > track.left_width_at(f.s) + 0.05 || -f.d > track.right_width_at(f.s) + 0.05 {
                continue;
            }
            let yaw = track.heading_at(f.s) + if flip { std::f64::consts::PI } else { 0.0 };
            let mut params = env.params_at(p, yaw, (0.0, speed));
            if map_reward.uses_racing_line() {
                env.add_racing_line(&mut params);
            }
            let r = map_reward
                .reward(&params)
                .and_then(|v| chicane_reward::check_reward(map_reward.name(), v))
                .map_err(|e| SimError::Config {
                    field: "reward".into(),
                    problem: format!("failed in the heat map at x={:.2}, y={:.2}: {e}", p.x, p.y),
                })?;
            values.push((x, y, r));
        }
    }
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v.2), b.max(v.2))
        });
    for &(x, y, r) in &values {
        let t = if high > low {
            (r - low) / (high - low)
        } else {
            0.5
        };
        let c = ramp_color(t);
        let base = img.get_pixel(x, y).0;
        let mix = |a: u8, b: u8| (0.25 * f64::from(a) + 0.75 * f64::from(b)) as u8;
        img.put_pixel(
            x,
            y,
            Rgb([mix(base[0], c[0]), mix(base[1], c[1]), mix(base[2], c[2])]),
        );
    }
    Ok(RewardHeatMap {
        image: img,
        low,
        high,
    })
}
