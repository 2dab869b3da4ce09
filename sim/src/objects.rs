//! Obstacles and bot cars, placed and driven the way DeepRacer does.

use crate::config::{BotConfig, ObstacleConfig};
use crate::vehicle::BoxBody;
use chicane_core::Vec2;
use chicane_tracks::Track;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// DeepRacer's box obstacle (m): length along the track, width, height.
pub const OBSTACLE_SIZE: [f64; 3] = [0.4, 0.5, 0.4];

/// Bot car body (m): the same 1/18 car as the agent's.
pub const BOT_SIZE: [f64; 3] = [0.29, 0.19, 0.10];

/// A static box on the track.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obstacle {
    /// Arc length (m) of its centre along the centerline.
    pub s: f64,
    /// Lateral offset (m), positive = left.
    pub d: f64,
    pub body: BoxBody,
}

/// A bot car driving a lane.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bot {
    pub s: f64,
    pub d: f64,
    pub speed: f64,
    /// Lane it is in or heading to: +1 left, -1 right.
    lane: f64,
    /// Lateral offset when its last lane change started.
    from_d: f64,
    /// Distance (m) driven since the lane change started.
    changed_for: f64,
    /// Time (s) until the next lane change.
    next_change: f64,
    pub body: BoxBody,
}

/// All objects of an episode.
#[derive(Debug, Clone, Default)]
pub(crate) struct Objects {
    pub obstacles: Vec<Obstacle>,
    pub bots: Vec<Bot>,
    /// +1 forward, -1 reverse: the direction everyone drives.
    sign: f64,
}

fn lane_offset(track: &Track, s: f64, lane: f64) -> f64 {
    // lane centres: halfway between the centerline and each border
    if lane > 0.0 {
        track.left_width_at(s) / 2.0
    } else {
        -track.right_width_at(s) / 2.0
    }
}

fn box_at(track: &Track, s: f64, d: f64, size: [f64; 3], sign: f64) -> BoxBody {
    let heading = track.heading_at(s)
        + if sign < 0.0 {
            std::f64::consts::PI
        } else {
            0.0
        };
    BoxBody {
        center: track.to_world(s, d),
        yaw: heading,
        size,
    }
}

impl Objects {
    /// Places obstacles and bots for an episode starting at `start_s`
    /// driving with `sign`.
    pub fn place(
        track: &Track,
        obstacles: &ObstacleConfig,
        bots: &BotConfig,
        start_s: f64,
        sign: f64,
        rng: &mut ChaCha8Rng,
    ) -> Objects {
        let len = track.length();
        let size = obstacles.size.unwrap_or(OBSTACLE_SIZE);
        let mut placed: Vec<(f64, f64)> = Vec::new(); // (fraction of lap ahead of the start, lane)
        if !obstacles.object_positions.is_empty() {
            for p in &obstacles.object_positions {
                placed.push((p.progress, p.lane.sign()));
            }
        } else if obstacles.randomize_obstacle_locations {
            // random, but kept 1.5 m clear of the start and of each other
            let n = obstacles.number_of_obstacles;
            let clear = (1.5 / len).min(0.5 / (n as f64 + 1.0));
            for _ in 0..n {
                for _ in 0..100 {
                    let f = rng.random_range(clear..1.0 - clear);
                    if placed.iter().all(|(g, _)| (f - g).abs() * len > 1.0) {
                        placed.push((f, if rng.random_bool(0.5) { 1.0 } else { -1.0 }));
                        break;
                    }
                }
            }
        } else {
            let n = obstacles.number_of_obstacles;
            for i in 0..n {
                placed.push((
                    (i + 1) as f64 / (n + 1) as f64,
                    if i % 2 == 0 { 1.0 } else { -1.0 },
                ));
            }
        }
        let obstacles = placed
            .into_iter()
            .map(|(f, lane)| {
                let s = (start_s + sign * f * len).rem_euclid(len);
                let d = lane_offset(track, s, lane * sign);
                Obstacle {
                    s,
                    d,
                    body: box_at(track, s, d, size, sign),
                }
            })
            .collect();
        let nb = bots.number_of_bot_cars;
        let bots = (0..nb)
            .map(|i| {
                let f = (i + 1) as f64 / (nb + 1) as f64;
                let s = (start_s + sign * f * len).rem_euclid(len);
                let lane = if i % 2 == 0 { 1.0 } else { -1.0 };
                let d = lane_offset(track, s, lane * sign);
                Bot {
                    s,
                    d,
                    speed: bots.bot_car_speed,
                    lane,
                    from_d: d,
                    changed_for: f64::INFINITY,
                    next_change: rng
                        .random_range(bots.lower_lane_change_time..=bots.upper_lane_change_time),
                    body: box_at(track, s, d, BOT_SIZE, sign),
                }
            })
            .collect();
        Objects {
            obstacles,
            bots,
            sign,
        }
    }

    /// Drives the bots for `dt` seconds along their lanes.
    pub fn advance(&mut self, track: &Track, cfg: &BotConfig, dt: f64, rng: &mut ChaCha8Rng) {
        let len = track.length();
        for bot in &mut self.bots {
            let step = bot.speed * dt;
            bot.s = (bot.s + self.sign * step).rem_euclid(len);
            if cfg.is_lane_change {
                bot.next_change -= dt;
                if bot.next_change <= 0.0 {
                    bot.lane = -bot.lane;
                    bot.from_d = bot.d;
                    bot.changed_for = 0.0;
                    bot.next_change =
                        rng.random_range(cfg.lower_lane_change_time..=cfg.upper_lane_change_time);
                }
            }
            let target = lane_offset(track, bot.s, bot.lane * self.sign);
            if bot.changed_for < cfg.lane_change_distance {
                bot.changed_for += step;
                let t = (bot.changed_for / cfg.lane_change_distance).min(1.0);
                // smoothstep between the lanes
                let k = t * t * (3.0 - 2.0 * t);
                bot.d = bot.from_d + (target - bot.from_d) * k;
            } else {
                bot.d = target;
            }
            bot.body = box_at(track, bot.s, bot.d, BOT_SIZE, self.sign);
        }
    }

    /// Every object's box: obstacles first, then bots.
    pub fn boxes(&self) -> impl Iterator<Item = BoxBody> + '_ {
        self.obstacles
            .iter()
            .map(|o| o.body)
            .chain(self.bots.iter().map(|b| b.body))
    }
}

/// Distance (m) along a 2D ray from `origin` in unit direction `dir` to
/// the nearest box, if any within `max`.
pub(crate) fn ray_boxes(origin: Vec2, dir: Vec2, boxes: &[BoxBody], max: f64) -> Option<f64> {
    let mut best: Option<f64> = None;
    for b in boxes {
        let (s, c) = b.yaw.sin_cos();
        let rel = origin - b.center;
        // into the box frame
        let o = Vec2::new(c * rel.x + s * rel.y, -s * rel.x + c * rel.y);
        let d = Vec2::new(c * dir.x + s * dir.y, -s * dir.x + c * dir.y);
        let half = [b.size[0] / 2.0, b.size[1] / 2.0];
        let (mut t0, mut t1) = (0.0f64, max);
        let mut hit = true;
        for (oi, di, h) in [(o.x, d.x, half[0]), (o.y, d.y, half[1])] {
            if di.abs() < 1e-12 {
                if oi.abs() > h {
                    hit = false;
                    break;
                }
            } else {
                let (mut a, mut b2) = ((-h - oi) / di, (h - oi) / di);
                if a > b2 {
                    std::mem::swap(&mut a, &mut b2);
                }
                t0 = t0.max(a);
                t1 = t1.min(b2);
            }
        }
        if hit && t0 <= t1 && best.is_none_or(|bt| t0 < bt) {
            best = Some(t0);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ray_hits_the_near_face() {
        let b = BoxBody {
            center: Vec2::new(2.0, 0.0),
            yaw: 0.3,
            size: [0.4, 0.5, 0.4],
        };
        let t = ray_boxes(Vec2::ZERO, Vec2::new(1.0, 0.0), &[b], 12.0).unwrap();
        assert!(t > 1.7 && t < 1.85, "{t}");
        assert!(ray_boxes(Vec2::ZERO, Vec2::new(0.0, 1.0), &[b], 12.0).is_none());
        assert!(ray_boxes(Vec2::ZERO, Vec2::new(1.0, 0.0), &[b], 1.0).is_none());
    }
}
