//! A small complex FFT in f64: iterative radix-2 for powers of two, a direct DFT
//! for short odd lengths and Bluestein's chirp-z algorithm for the rest.

use std::f64::consts::PI;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct C64 {
    pub re: f64,
    pub im: f64,
}

impl C64 {
    pub const ZERO: C64 = C64 { re: 0.0, im: 0.0 };

    pub fn new(re: f64, im: f64) -> C64 {
        C64 { re, im }
    }

    fn mul(self, o: C64) -> C64 {
        C64 {
            re: self.re * o.re - self.im * o.im,
            im: self.re * o.im + self.im * o.re,
        }
    }

    fn add(self, o: C64) -> C64 {
        C64 {
            re: self.re + o.re,
            im: self.im + o.im,
        }
    }

    fn sub(self, o: C64) -> C64 {
        C64 {
            re: self.re - o.re,
            im: self.im - o.im,
        }
    }

    pub fn conj(self) -> C64 {
        C64 {
            re: self.re,
            im: -self.im,
        }
    }

    fn scale(self, s: f64) -> C64 {
        C64 {
            re: self.re * s,
            im: self.im * s,
        }
    }

    /// exp(-2 pi i num / den), with the angle reduced exactly first.
    fn twiddle(num: u128, den: u128) -> C64 {
        let r = num % den;
        let a = -2.0 * PI * (r as f64) / (den as f64);
        C64 {
            re: a.cos(),
            im: a.sin(),
        }
    }
}

enum Plan {
    Empty,
    Radix2 {
        tw: Vec<C64>,
        rev: Vec<usize>,
    },
    Direct {
        tw: Vec<C64>,
    },
    Bluestein {
        m: usize,
        inner: Box<Fft>,
        chirp: Vec<C64>,
        bfft: Vec<C64>,
    },
}

/// A planned transform of one length (forward: `X_k = sum x_j exp(-2 pi i jk/n)`;
/// inverse is unnormalised).
pub(crate) struct Fft {
    n: usize,
    plan: Plan,
}

const DIRECT_MAX: usize = 64;

impl Fft {
    pub fn new(n: usize) -> Fft {
        let plan = if n <= 1 {
            Plan::Empty
        } else if n.is_power_of_two() {
            let bits = n.trailing_zeros();
            let tw = (0..n / 2)
                .map(|k| C64::twiddle(k as u128, n as u128))
                .collect();
            let rev = (0..n)
                .map(|i| i.reverse_bits() >> (usize::BITS - bits))
                .collect();
            Plan::Radix2 { tw, rev }
        } else if n <= DIRECT_MAX {
            Plan::Direct {
                tw: (0..n).map(|k| C64::twiddle(k as u128, n as u128)).collect(),
            }
        } else {
            // w_k = exp(-pi i k^2 / n) = twiddle(k^2, 2n).
            let m = (2 * n - 1).next_power_of_two();
            let chirp: Vec<C64> = (0..n)
                .map(|k| C64::twiddle((k as u128) * (k as u128), 2 * n as u128))
                .collect();
            let inner = Box::new(Fft::new(m));
            let mut b = vec![C64::ZERO; m];
            b[0] = chirp[0].conj();
            for k in 1..n {
                b[k] = chirp[k].conj();
                b[m - k] = chirp[k].conj();
            }
            inner.forward(&mut b);
            Plan::Bluestein {
                m,
                inner,
                chirp,
                bfft: b,
            }
        };
        Fft { n, plan }
    }

    /// In-place forward transform of `data` (length `n`).
    pub fn forward(&self, data: &mut [C64]) {
        debug_assert_eq!(data.len(), self.n);
        match &self.plan {
            Plan::Empty => {}
            Plan::Radix2 { tw, rev } => {
                let n = self.n;
                for (i, &j) in rev.iter().enumerate() {
                    if i < j {
                        data.swap(i, j);
                    }
                }
                let mut len = 2;
                while len <= n {
                    let half = len / 2;
                    let step = n / len;
                    for start in (0..n).step_by(len) {
                        for j in 0..half {
                            let w = tw[j * step];
                            let a = data[start + j];
                            let b = data[start + j + half].mul(w);
                            data[start + j] = a.add(b);
                            data[start + j + half] = a.sub(b);
                        }
                    }
                    len *= 2;
                }
            }
            Plan::Direct { tw } => {
                let n = self.n;
                let input: Vec<C64> = data.to_vec();
                for (k, out) in data.iter_mut().enumerate() {
                    let mut acc = C64::ZERO;
                    let mut idx = 0usize;
                    for x in &input {
                        acc = acc.add(x.mul(tw[idx]));
                        idx += k;
                        if idx >= n {
                            idx -= n;
                        }
                    }
                    *out = acc;
                }
            }
            Plan::Bluestein {
                m,
                inner,
                chirp,
                bfft,
            } => {
                let mut a = vec![C64::ZERO; *m];
                for ((dst, x), w) in a.iter_mut().zip(data.iter()).zip(chirp) {
                    *dst = x.mul(*w);
                }
                inner.forward(&mut a);
                for (x, b) in a.iter_mut().zip(bfft) {
                    *x = x.mul(*b).conj();
                }
                // Inverse through conjugation: ifft(y) = conj(fft(conj(y))) / m.
                inner.forward(&mut a);
                let s = 1.0 / *m as f64;
                for ((out, x), w) in data.iter_mut().zip(&a).zip(chirp) {
                    *out = x.conj().scale(s).mul(*w);
                }
            }
        }
    }

    /// In-place inverse transform without the 1/n factor.
    pub fn inverse(&self, data: &mut [C64]) {
        for x in data.iter_mut() {
            *x = x.conj();
        }
        self.forward(data);
        for x in data.iter_mut() {
            *x = x.conj();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(x: &[C64]) -> Vec<C64> {
        let n = x.len();
        (0..n)
            .map(|k| {
                let mut acc = C64::ZERO;
                for (j, v) in x.iter().enumerate() {
                    let a = -2.0 * PI * ((j * k) % n) as f64 / n as f64;
                    acc = acc.add(v.mul(C64::new(a.cos(), a.sin())));
                }
                acc
            })
            .collect()
    }

    #[test]
    fn matches_naive_dft() {
        for n in [1usize, 2, 3, 5, 8, 10, 16, 63, 64, 65, 100, 128, 257] {
            let x: Vec<C64> = (0..n)
                .map(|i| C64::new((i as f64 * 0.37).sin(), (i as f64 * 1.3).cos()))
                .collect();
            let want = naive(&x);
            let f = Fft::new(n);
            let mut got = x.clone();
            f.forward(&mut got);
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a.re - b.re).abs() < 1e-9 && (a.im - b.im).abs() < 1e-9,
                    "n={n}"
                );
            }
            f.inverse(&mut got);
            for (a, b) in got.iter().zip(&x) {
                assert!(
                    (a.re / n as f64 - b.re).abs() < 1e-9 && (a.im / n as f64 - b.im).abs() < 1e-9
                );
            }
        }
    }
}
