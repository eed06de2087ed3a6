//! rust-mandel: a double-precision floating-point workload.
//!
//! Renders an `argv[1]` x `argv[1]` Mandelbrot image with smooth colouring (sqrt, ln), then
//! ray-traces a small scene of spheres over a plane at the same resolution with Lambert shading,
//! shadows and one reflection bounce. Prints a histogram of escape counts and an FNV hash of both
//! images quantized to bytes, so any floating-point divergence is visible.

fn fnv(hash: &mut u64, b: u8) {
    *hash ^= b as u64;
    *hash = hash.wrapping_mul(0x100_0000_01b3);
}

fn mandelbrot(size: usize) -> (u64, [u64; 8], f64) {
    let max_iter = 256u32;
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut hist = [0u64; 8];
    let mut total = 0.0f64;
    for py in 0..size {
        let ci = -1.2 + 2.4 * py as f64 / size as f64;
        for px in 0..size {
            let cr = -2.1 + 3.0 * px as f64 / size as f64;
            let (mut zr, mut zi) = (0.0f64, 0.0f64);
            let mut i = 0;
            while i < max_iter && zr * zr + zi * zi <= 256.0 {
                let t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                i += 1;
            }
            let shade = if i == max_iter {
                0.0
            } else {
                let log_zn = (zr * zr + zi * zi).ln() / 2.0;
                let nu = (log_zn / std::f64::consts::LN_2).ln() / std::f64::consts::LN_2;
                (i as f64 + 1.0 - nu).max(0.0).sqrt() / 16.0
            };
            total += shade;
            hist[(i as usize * 8 / (max_iter as usize + 1)).min(7)] += 1;
            fnv(&mut hash, (shade.clamp(0.0, 1.0) * 255.0) as u8);
        }
    }
    (hash, hist, total)
}

#[derive(Clone, Copy)]
struct V(f64, f64, f64);

impl V {
    fn add(self, o: V) -> V {
        V(self.0 + o.0, self.1 + o.1, self.2 + o.2)
    }
    fn sub(self, o: V) -> V {
        V(self.0 - o.0, self.1 - o.1, self.2 - o.2)
    }
    fn mul(self, s: f64) -> V {
        V(self.0 * s, self.1 * s, self.2 * s)
    }
    fn dot(self, o: V) -> f64 {
        self.0 * o.0 + self.1 * o.1 + self.2 * o.2
    }
    fn norm(self) -> V {
        self.mul(1.0 / self.dot(self).sqrt())
    }
}

struct Sphere {
    c: V,
    r: f64,
    colour: V,
    reflect: f64,
}

/// Nearest hit along the ray: (distance, normal, colour, reflectivity).
fn hit(spheres: &[Sphere], o: V, d: V) -> Option<(f64, V, V, f64)> {
    let mut best: Option<(f64, V, V, f64)> = None;
    for s in spheres {
        let oc = o.sub(s.c);
        let b = oc.dot(d);
        let disc = b * b - (oc.dot(oc) - s.r * s.r);
        if disc > 0.0 {
            let t = -b - disc.sqrt();
            if t > 1e-6 && best.is_none_or(|h| t < h.0) {
                best = Some((t, o.add(d.mul(t)).sub(s.c).mul(1.0 / s.r), s.colour, s.reflect));
            }
        }
    }
    if d.1 < -1e-9 {
        let t = -(o.1 + 1.0) / d.1;
        if t > 1e-6 && best.is_none_or(|h| t < h.0) {
            let p = o.add(d.mul(t));
            let check = ((p.0.floor() + p.2.floor()) as i64).rem_euclid(2) as f64;
            best = Some((t, V(0.0, 1.0, 0.0), V(0.3 + 0.6 * check, 0.3 + 0.6 * check, 0.35), 0.2));
        }
    }
    best
}

fn trace(spheres: &[Sphere], o: V, d: V, depth: u32) -> V {
    let light = V(-0.5, 1.0, -0.3).norm();
    match hit(spheres, o, d) {
        None => V(0.5, 0.7, 1.0).mul(0.5 + 0.5 * d.1.max(0.0)),
        Some((t, n, colour, reflect)) => {
            let p = o.add(d.mul(t));
            let shadowed = hit(spheres, p.add(n.mul(1e-4)), light).is_some();
            let diffuse = if shadowed { 0.0 } else { n.dot(light).max(0.0) };
            let base = colour.mul(0.1 + 0.9 * diffuse);
            if depth > 0 && reflect > 0.0 {
                let r = d.sub(n.mul(2.0 * d.dot(n)));
                base.mul(1.0 - reflect)
                    .add(trace(spheres, p.add(n.mul(1e-4)), r, depth - 1).mul(reflect))
            } else {
                base
            }
        }
    }
}

fn raytrace(size: usize) -> (u64, f64) {
    let spheres = [
        Sphere { c: V(0.0, 0.0, 4.0), r: 1.0, colour: V(0.9, 0.2, 0.2), reflect: 0.3 },
        Sphere { c: V(-2.1, -0.3, 5.0), r: 0.7, colour: V(0.2, 0.9, 0.3), reflect: 0.1 },
        Sphere { c: V(1.8, -0.5, 3.2), r: 0.5, colour: V(0.2, 0.3, 0.9), reflect: 0.6 },
        Sphere { c: V(0.6, 1.4, 6.0), r: 0.9, colour: V(0.9, 0.9, 0.2), reflect: 0.0 },
    ];
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut total = 0.0;
    for py in 0..size {
        for px in 0..size {
            let x = (px as f64 + 0.5) / size as f64 * 2.0 - 1.0;
            let y = 1.0 - (py as f64 + 0.5) / size as f64 * 2.0;
            let c = trace(&spheres, V(0.0, 0.3, 0.0), V(x, y, 1.5).norm(), 2);
            for ch in [c.0, c.1, c.2] {
                total += ch;
                fnv(&mut hash, (ch.clamp(0.0, 1.0) * 255.0) as u8);
            }
        }
    }
    (hash, total)
}

fn main() {
    let size: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("argv[1] must be an image size"))
        .unwrap_or(1000);
    let (mhash, hist, mtotal) = mandelbrot(size);
    println!("mandelbrot {size}x{size} hash {mhash:016x} shade sum {mtotal:.6}");
    println!("escape histogram {hist:?}");
    let (rhash, rtotal) = raytrace(size);
    println!("raytrace {size}x{size} hash {rhash:016x} light sum {rtotal:.6}");
}
