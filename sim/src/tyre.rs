//! The tyre's forces: the Fiala brush model for the side force, limited
//! with the drive or brake force by a friction circle.
//!
//! A tyre's side force grows linearly with the slip angle `alpha` at small
//! angles (slope: the cornering stiffness `C`) and saturates at the
//! friction limit `mu * Fz` once the whole contact patch slides. The Fiala
//! brush model (Fiala 1954; Pacejka, *Tire and Vehicle Dynamics*, 3rd ed.,
//! 2012, section 3.2.2) gives the curve in between from a patch of
//! elastic bristles with a parabolic pressure distribution:
//!
//! ```text
//! Fy = -C t + C^2 / (3 Fmax) |t| t - C^3 / (27 Fmax^2) t^3   for |t| < 3 Fmax / C
//! Fy = -Fmax sign(t)                                         otherwise
//! ```
//!
//! with `t = tan(alpha)` and `Fmax = mu * Fz`. The cornering stiffness is
//! proportional to the load, `C = c_alpha * Fz`, with `c_alpha` the
//! normalised cornering stiffness (1/rad).
//!
//! Drive and brake combine with the slide through the isotropic brush
//! model of combined slip (Pacejka 2012, section 3.2.3): the drive force
//! the speed controller asks for is the longitudinal slip
//! `sx = Fx / C` it would take, the slide is `sy = tan(alpha)`, the force
//! has Fiala's magnitude at `|s|` and points against `s`. A tyre that
//! slides sideways therefore has little left to drive with, as a real one.

/// A tyre's side force (N) at slip angle `alpha` (rad, positive when the
/// contact point slides to the tyre's left) with cornering stiffness `c`
/// (N/rad) and side-force capacity `f_max` (N): Fiala's brush model. The
/// force opposes the slide.
pub fn fiala_side_force(alpha: f64, c: f64, f_max: f64) -> f64 {
    if f_max <= 0.0 || c <= 0.0 {
        return 0.0;
    }
    let t = alpha.tan();
    let t_slide = 3.0 * f_max / c;
    if t.abs() >= t_slide {
        return -f_max * t.signum();
    }
    -c * t + c * c / (3.0 * f_max) * t.abs() * t - c * c * c / (27.0 * f_max * f_max) * t * t * t
}

/// The side-force capacity (N) a friction circle of radius `mu * fz` (N)
/// leaves beside a longitudinal force `fx` (N) (0 when `fx` uses it all).
pub fn side_capacity(mu: f64, fz: f64, fx: f64) -> f64 {
    let total = mu * fz.max(0.0);
    (total * total - fx * fx).max(0.0).sqrt()
}

/// The tyre's longitudinal and side forces `(Fx, Fy)` (N) for a drive or
/// brake demand `fx_demand` (N), slip angle `alpha` (rad), load `fz` (N),
/// friction `mu` and normalised cornering stiffness `c_alpha` (1/rad): the
/// isotropic brush model of combined slip (see the module docs). Within
/// the linear range `Fx = fx_demand` and `Fy = -C tan(alpha)`; at the limit
/// the resultant is `mu * fz`, shared in the slips' proportion.
pub fn combined_forces(fx_demand: f64, alpha: f64, fz: f64, mu: f64, c_alpha: f64) -> (f64, f64) {
    let c = c_alpha * fz;
    let f_max = mu * fz;
    if c <= 0.0 || f_max <= 0.0 {
        return (0.0, 0.0);
    }
    let (sx, sy) = (fx_demand / c, alpha.tan());
    let s = sx.hypot(sy);
    if s < 1e-12 {
        return (0.0, 0.0);
    }
    let magnitude = -fiala_side_force(s.atan(), c, f_max);
    (magnitude * sx / s, -magnitude * sy / s)
}

/// The slip angle (rad) of a tyre whose contact point moves at `vx` along
/// its heading and `vy` to its left (m/s). Below `v_min` (m/s) of rolling
/// speed the angle is taken against `v_min`, so a car at rest does not
/// divide by zero; there the force is limited anyway to what stops the
/// slide within one step (see [`crate::Vehicle`]).
pub fn slip_angle(vx: f64, vy: f64, v_min: f64) -> f64 {
    vy.atan2(vx.abs().max(v_min))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_then_saturating() {
        let (c, f) = (50.0, 4.0);
        // slope C at the origin
        let small = fiala_side_force(1e-4, c, f);
        assert!((small / 1e-4 + c).abs() < 0.05, "{small}");
        // saturates at tan(alpha) = 3 f / c, and stays there
        let sl = (3.0 * f / c).atan();
        assert!((fiala_side_force(sl * 0.999, c, f) + f).abs() < 1e-3);
        assert_eq!(fiala_side_force(sl * 2.0, c, f), -f);
        assert_eq!(fiala_side_force(-sl * 2.0, c, f), f);
        // monotone in between
        let mut last = 0.0;
        for i in 1..100 {
            let a = sl * i as f64 / 100.0;
            let v = fiala_side_force(a, c, f);
            assert!(v < last, "{a}: {v} >= {last}");
            last = v;
        }
        // the friction circle
        assert_eq!(side_capacity(1.0, 4.0, 0.0), 4.0);
        assert!((side_capacity(1.0, 5.0, 3.0) - 4.0).abs() < 1e-12);
        assert_eq!(side_capacity(1.0, 5.0, 6.0), 0.0);
        assert!(slip_angle(0.0, 0.1, 0.2) > 0.0 && slip_angle(-1.0, 0.0, 0.2) == 0.0);
        // combined slip: linear alone, shared on the circle at the limit
        let (fx, fy) = combined_forces(0.5, 0.0, 4.0, 1.0, 12.0);
        assert!((fx - 0.5).abs() < 0.03 && fy == 0.0, "{fx} {fy}");
        let (fx, fy) = combined_forces(0.0, 1e-3, 4.0, 1.0, 12.0);
        assert!(fx == 0.0 && (fy + 48.0 * 1e-3).abs() < 1e-3, "{fy}");
        let (fx, fy) = combined_forces(10.0, 0.8, 4.0, 1.0, 12.0);
        assert!((fx.hypot(fy) - 4.0).abs() < 1e-9, "{fx} {fy}");
        // sliding sideways hard leaves little to drive with
        let (fx, _) = combined_forces(3.0, 1.0, 4.0, 1.0, 12.0);
        assert!(fx < 1.0, "{fx}");
    }
}
