//! Random generators: RandomUniform(Like), RandomNormal(Like), Bernoulli, Multinomial.
//!
//! Each kernel owns a xoshiro256** generator. With the `seed` attribute it starts
//! from that seed (so a fresh session repeats the same sequence; each run of the
//! kernel continues the stream, as ONNX Runtime does). Without a seed it starts
//! from OS-provided randomness (std's hasher keys), the time and a counter, so
//! results differ between kernels and sessions. Streams cannot match numpy's, so
//! the official value tests of these ops are not expected to pass.

use super::{dtype_from_code, to_usize};
use crate::Registry;
use runnx_ir::dtype::Number;
use runnx_ir::tensor::checked_len;
use runnx_ir::{
    bail, dispatch_float, dispatch_number, ensure, kernel, DType, Kernel, NodeCtx, Result, Tensor,
    Value,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

pub fn register(r: &mut Registry) {
    r.add("RandomUniform", random_uniform);
    r.add("RandomNormal", random_normal);
    r.add("RandomUniformLike", random_uniform_like);
    r.add("RandomNormalLike", random_normal_like);
    r.add("Bernoulli", bernoulli);
    r.add("Multinomial", multinomial);
}

/// xoshiro256** seeded through splitmix64.
pub(crate) struct Rng {
    s: [u64; 4],
}

/// A seed that differs between calls and sessions: std's hasher keys, a counter and,
/// where there is a clock, the time (wasm32-unknown-unknown has none: `SystemTime::now`
/// panics there).
pub(crate) fn entropy_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64),
    );
    h.finish()
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    pub fn from_seed(seed: u64) -> Rng {
        let mut st = seed;
        let s = [
            splitmix(&mut st),
            splitmix(&mut st),
            splitmix(&mut st),
            splitmix(&mut st),
        ];
        Rng { s }
    }

    fn from_entropy() -> Rng {
        Rng::from_seed(entropy_seed())
    }

    fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The kernel's generator, from the optional `seed` attribute.
fn make_rng(n: &NodeCtx) -> Result<Mutex<Rng>> {
    Ok(Mutex::new(match n.attr_float_opt("seed")? {
        Some(s) => Rng::from_seed(u64::from(s.to_bits()) ^ 0x5EED_0000_0000_0000),
        None => Rng::from_entropy(),
    }))
}

fn with_rng<R>(rng: &Mutex<Rng>, f: impl FnOnce(&mut Rng) -> R) -> Result<R> {
    match rng.lock() {
        Ok(mut g) => Ok(f(&mut g)),
        Err(_) => bail!("random generator state is unavailable"),
    }
}

/// A float tensor of `shape` filled by `draw`.
fn float_tensor(
    dtype: DType,
    shape: Vec<usize>,
    rng: &Mutex<Rng>,
    draw: impl Fn(&mut Rng) -> f64,
) -> Result<Tensor> {
    let len = checked_len(&shape)?;
    let v: Vec<f64> = with_rng(rng, |r| (0..len).map(|_| draw(r)).collect())?;
    dispatch_float!(dtype, T => {
        Tensor::new(shape, v.iter().map(|&x| T::from_f64(x)).collect::<Vec<T>>())
    })
}

fn shape_attr(n: &NodeCtx) -> Result<Vec<usize>> {
    n.require("shape", n.attr_ints_opt("shape"))?
        .into_iter()
        .map(|d| to_usize(d, "shape"))
        .collect()
}

fn float_dtype(code: i64) -> Result<DType> {
    let d = dtype_from_code(code)?;
    ensure!(d.is_float(), "dtype must be a float type, got {}", d);
    Ok(d)
}

fn random_uniform(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let (low, high) = (
        n.attr_float("low", 0.0)? as f64,
        n.attr_float("high", 1.0)? as f64,
    );
    let dtype = float_dtype(n.attr_int("dtype", 1)?)?;
    let shape = shape_attr(n)?;
    let rng = make_rng(n)?;
    Ok(kernel(move |_| {
        let t = float_tensor(dtype, shape.clone(), &rng, |r| {
            low + (high - low) * r.uniform()
        })?;
        Ok(vec![Value::Tensor(t)])
    }))
}

fn random_normal(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let (mean, scale) = (
        n.attr_float("mean", 0.0)? as f64,
        n.attr_float("scale", 1.0)? as f64,
    );
    let dtype = float_dtype(n.attr_int("dtype", 1)?)?;
    let shape = shape_attr(n)?;
    let rng = make_rng(n)?;
    Ok(kernel(move |_| {
        let t = float_tensor(dtype, shape.clone(), &rng, |r| mean + scale * r.normal())?;
        Ok(vec![Value::Tensor(t)])
    }))
}

/// The output type of a *Like op: the dtype attribute, else the input's type.
fn like_dtype(code: Option<i64>, input: &Tensor) -> Result<DType> {
    match code {
        Some(c) => float_dtype(c),
        None => {
            ensure!(
                input.dtype().is_float(),
                "input is {}; give a float dtype attribute",
                input.dtype()
            );
            Ok(input.dtype())
        }
    }
}

fn random_uniform_like(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let (low, high) = (
        n.attr_float("low", 0.0)? as f64,
        n.attr_float("high", 1.0)? as f64,
    );
    let code = n.attr_int_opt("dtype")?;
    let rng = make_rng(n)?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let dtype = like_dtype(code, x)?;
        let t = float_tensor(dtype, x.shape().to_vec(), &rng, |r| {
            low + (high - low) * r.uniform()
        })?;
        Ok(vec![Value::Tensor(t)])
    }))
}

fn random_normal_like(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let (mean, scale) = (
        n.attr_float("mean", 0.0)? as f64,
        n.attr_float("scale", 1.0)? as f64,
    );
    let code = n.attr_int_opt("dtype")?;
    let rng = make_rng(n)?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let dtype = like_dtype(code, x)?;
        let t = float_tensor(dtype, x.shape().to_vec(), &rng, |r| {
            mean + scale * r.normal()
        })?;
        Ok(vec![Value::Tensor(t)])
    }))
}

fn bernoulli(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let code = n.attr_int_opt("dtype")?;
    let dtype = match code {
        Some(c) => Some(dtype_from_code(c)?),
        None => None,
    };
    let rng = make_rng(n)?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        ensure!(
            x.dtype().is_float(),
            "input must be a float tensor, got {}",
            x.dtype()
        );
        let p = x.to_f64_vec()?;
        let draws: Vec<bool> = with_rng(&rng, |r| p.iter().map(|&p| r.uniform() < p).collect())?;
        let out = dtype.unwrap_or(x.dtype());
        let t = dispatch_number!(out, T => {
                let v: Vec<T> = draws.iter().map(|&b| if b { T::one() } else { T::zero() }).collect();
            Tensor::new(x.shape().to_vec(), v)
        })?;
        Ok(vec![Value::Tensor(t)])
    }))
}

fn multinomial(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let samples = to_usize(n.attr_int("sample_size", 1)?, "sample_size")?;
    let dtype = dtype_from_code(n.attr_int("dtype", 6)?)?;
    ensure!(
        matches!(dtype, DType::I32 | DType::I64),
        "dtype must be int32 or int64, got {}",
        dtype
    );
    let rng = make_rng(n)?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        ensure!(
            x.dtype().is_float(),
            "input must be a float tensor, got {}",
            x.dtype()
        );
        let (batch, classes) = match x.shape() {
            [b, c] => (*b, *c),
            s => bail!("input must have shape [batch, classes], got {:?}", s),
        };
        ensure!(
            classes > 0 || batch == 0 || samples == 0,
            "input has no classes"
        );
        let logits = x.to_f64_vec()?;
        let mut out = Vec::with_capacity(checked_len(&[batch, samples])?);
        with_rng(&rng, |r| {
            let mut cdf = vec![0f64; classes];
            for b in 0..batch {
                let row = &logits[b * classes..(b + 1) * classes];
                let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut acc = 0.0;
                for (c, &l) in cdf.iter_mut().zip(row) {
                    let e = (l - m).exp();
                    acc += if e.is_finite() { e } else { 0.0 };
                    *c = acc;
                }
                for _ in 0..samples {
                    let u = r.uniform() * acc;
                    let k = cdf.iter().position(|&c| c > u).unwrap_or(classes - 1);
                    out.push(k as i64);
                }
            }
        })?;
        let t = Tensor::new(vec![batch, samples], out)?;
        Ok(vec![Value::Tensor(if dtype == DType::I32 {
            t.cast(DType::I32)?
        } else {
            t
        })])
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{node, run};
    use super::*;
    use runnx_ir::Attribute;

    #[test]
    fn seeded_uniform_is_in_range_and_repeatable() {
        let nd = node(
            "RandomUniform",
            "",
            0,
            vec![
                ("shape", Attribute::Ints(vec![4, 5])),
                ("low", Attribute::Float(2.0)),
                ("high", Attribute::Float(3.0)),
                ("seed", Attribute::Float(1.0)),
            ],
        );
        let a = run(random_uniform, &nd, 22, vec![]).unwrap();
        let b = run(random_uniform, &nd, 22, vec![]).unwrap();
        assert_eq!(a[0].shape(), &[4, 5]);
        assert!(a[0]
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .all(|&v| (2.0..=3.0).contains(&v)));
        assert_eq!(a[0], b[0]);
    }

    #[test]
    fn multinomial_picks_the_only_possible_class() {
        let nd = node(
            "Multinomial",
            "",
            1,
            vec![("sample_size", Attribute::Int(3))],
        );
        let x = Tensor::new(vec![1, 3], vec![f32::NEG_INFINITY, 0.0, f32::NEG_INFINITY]).unwrap();
        let y = run(multinomial, &nd, 22, vec![Some(x)]).unwrap();
        assert_eq!(y[0].as_slice::<i32>().unwrap(), &[1, 1, 1]);
    }
}
