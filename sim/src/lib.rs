//! chicane-sim: the simulator.

mod vehicle;

pub use vehicle::{BoxBody, CarState, VehicleConfig};

#[cfg(test)]
mod probe {
    use super::vehicle::*;
    use chicane_core::Vec2;

    #[test]
    fn probe_drive() {
        let cfg = VehicleConfig::default();
        let mut p = Physics::new(&cfg, 1.0 / 120.0, Vec2::ZERO, 0.0, &[]);
        let t = std::time::Instant::now();
        for i in 0..1200 {
            p.step(0.0, 1.0);
            if i % 120 == 0 {
                eprintln!("{i} {:?}", p.state());
            }
        }
        eprintln!("1200 steps in {:?}", t.elapsed());
        for steer in [10.0f64, 20.0, 30.0] {
            let mut p = Physics::new(&cfg, 1.0 / 120.0, Vec2::ZERO, 0.0, &[]);
            let mut pts = vec![];
            for i in 0..2400 {
                p.step(steer.to_radians(), 0.5);
                if i > 1200 { let st = p.state(); pts.push(st.position - st.forward() * (cfg.wheelbase / 2.0)); }
                if steer == 20.0 && i % 40 == 0 && i < 400 { let st = p.state(); eprintln!("t {i} pos {:?} yaw {:.3} speed {:.3} steer {:.3} h {:.4} pitch {:.4} roll {:.4}", st.position, st.yaw, st.speed, st.steering, st.height, st.pitch, st.roll); }
            }
            // radius from centroid
            let c = pts.iter().fold(Vec2::ZERO, |a, b| a + *b) / pts.len() as f64;
            let r = pts.iter().map(|q| q.distance(c)).sum::<f64>() / pts.len() as f64;
            eprintln!("steer {steer}: r = {r:.4}, bicycle {:.4}, speed {:.3}", cfg.wheelbase / steer.to_radians().tan(), p.state().speed);
        }
    }
}
