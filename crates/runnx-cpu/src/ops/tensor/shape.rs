//! Ops that only change the shape (no copy): Identity, Reshape, Flatten, Squeeze,
//! Unsqueeze, plus Shape, Size and Dropout (inference).

use super::{one, opt_ints, prod, to_usize};
use crate::ops::util;
use crate::Registry;
use runnx_ir::{
    bail, dispatch_float, ensure, kernel, Inputs, Kernel, NodeCtx, Result, Tensor, Value,
};

pub fn register(r: &mut Registry) {
    r.add("Identity", identity);
    r.add("Reshape", reshape);
    r.add("Flatten", flatten);
    r.add("Squeeze", squeeze);
    r.add("Unsqueeze", unsqueeze);
    r.add("Shape", shape);
    r.add("Size", size);
    r.add("Dropout", dropout);
}

fn identity(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    // Any value: tensors, sequences, optionals.
    Ok(kernel(|inputs: &Inputs| Ok(vec![inputs.value(0)?.clone()])))
}

/// The output shape of Reshape: 0 copies the input dimension (unless allowzero), -1 is inferred.
pub(crate) fn reshape_shape(input: &[usize], spec: &[i64], allowzero: bool) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 => {
                ensure!(
                    infer.is_none(),
                    "reshape shape {:?} has more than one -1",
                    spec
                );
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => match input.get(i) {
                Some(&v) => out.push(v),
                None => bail!(
                    "reshape shape {:?}: 0 at position {} but the input has rank {}",
                    spec,
                    i,
                    input.len()
                ),
            },
            d if d >= 0 => out.push(to_usize(d, "reshape dimension")?),
            d => bail!("invalid reshape dimension {}", d),
        }
    }
    let total = prod(input)?;
    if let Some(i) = infer {
        ensure!(
            !(allowzero && spec.contains(&0)),
            "reshape shape {:?} mixes -1 with 0 under allowzero",
            spec
        );
        let known = prod(&out)?;
        ensure!(
            known != 0 && total % known == 0,
            "cannot reshape {:?} to {:?}: {} elements",
            input,
            spec,
            total
        );
        out[i] = total / known;
    }
    ensure!(
        prod(&out)? == total,
        "cannot reshape {:?} to {:?}",
        input,
        spec
    );
    Ok(out)
}

fn reshape(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let allowzero = n.attr_int("allowzero", 0)? != 0;
    if n.opset < 5 {
        let spec = n.require("shape", n.attr_ints_opt("shape"))?;
        return Ok(kernel(move |inputs: &Inputs| {
            let x = inputs.tensor(0)?;
            one(x.reshaped(reshape_shape(x.shape(), &spec, false)?)?)
        }));
    }
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let spec = inputs.tensor(1)?.to_i64_vec()?;
        one(x.reshaped(reshape_shape(x.shape(), &spec, allowzero)?)?)
    }))
}

fn flatten(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let axis = n.attr_int("axis", 1)?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let r = x.rank() as i64;
        ensure!(
            axis >= -r && axis <= r,
            "flatten axis {} out of range for rank {}",
            axis,
            r
        );
        let a = if axis < 0 { axis + r } else { axis } as usize;
        let outer = prod(&x.shape()[..a])?;
        let inner = prod(&x.shape()[a..])?;
        one(x.reshaped(vec![outer, inner])?)
    }))
}

fn squeeze(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let attr_axes = if n.opset < 13 {
        n.attr_ints_opt("axes")?
    } else {
        None
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let axes = match &attr_axes {
            Some(a) => Some(a.clone()),
            None => opt_ints(inputs, 1)?,
        };
        let shape = x.shape();
        let out: Vec<usize> = match axes {
            None => shape.iter().copied().filter(|&d| d != 1).collect(),
            Some(axes) => {
                let axes = util::axes(&axes, shape.len())?;
                for &a in &axes {
                    ensure!(
                        shape[a] == 1,
                        "cannot squeeze axis {} of size {}",
                        a,
                        shape[a]
                    );
                }
                shape
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !axes.contains(i))
                    .map(|(_, &d)| d)
                    .collect()
            }
        };
        one(x.reshaped(out)?)
    }))
}

fn unsqueeze(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let attr_axes = if n.opset < 13 {
        Some(n.require("axes", n.attr_ints_opt("axes"))?)
    } else {
        None
    };
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let axes = match &attr_axes {
            Some(a) => a.clone(),
            None => inputs.tensor(1)?.to_i64_vec()?,
        };
        let rank = x.rank() + axes.len();
        let axes = util::axes(&axes, rank)?;
        let mut out = Vec::with_capacity(rank);
        let mut it = x.shape().iter();
        for i in 0..rank {
            if axes.contains(&i) {
                out.push(1);
            } else {
                match it.next() {
                    Some(&d) => out.push(d),
                    None => bail!("unsqueeze axes inconsistent with rank"),
                }
            }
        }
        one(x.reshaped(out)?)
    }))
}

fn shape(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let start = n.attr_int("start", 0)?;
    let end = n.attr_int_opt("end")?;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let r = x.rank() as i64;
        let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
        let s = clamp(start);
        let e = clamp(end.unwrap_or(r));
        let dims: Vec<i64> = if s < e {
            x.shape()[s..e].iter().map(|&d| d as i64).collect()
        } else {
            vec![]
        };
        one(Tensor::vector(dims))
    }))
}

fn size(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs: &Inputs| {
        one(Tensor::scalar(inputs.tensor(0)?.len() as i64))
    }))
}

/// A small deterministic generator (splitmix64) for Dropout in training mode.
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn dropout(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let opset = n.opset;
    let attr_ratio = n.attr_float("ratio", 0.5)?;
    let seed = n.attr_int_opt("seed")?;
    let want_mask = n.output_count() > 1;
    Ok(kernel(move |inputs: &Inputs| {
        let x = inputs.tensor(0)?;
        let (ratio, training) = if opset >= 12 {
            let ratio = match inputs.opt_tensor(1)? {
                Some(t) => {
                    let v = t.to_f64_vec()?;
                    ensure!(v.len() == 1, "dropout ratio must be a scalar");
                    v[0]
                }
                None => 0.5,
            };
            let training = match inputs.opt_tensor(2)? {
                Some(t) => t.scalar_value::<bool>()?,
                None => false,
            };
            (ratio, training)
        } else {
            (attr_ratio as f64, false)
        };
        if !training || ratio == 0.0 {
            let mut out = vec![Value::Tensor(x.clone())];
            if want_mask {
                let mask = if opset >= 10 {
                    Tensor::new(x.shape().to_vec(), vec![true; x.len()])?
                } else {
                    Tensor::new(x.shape().to_vec(), vec![true; x.len()])?.cast(x.dtype())?
                };
                out.push(Value::Tensor(mask));
            }
            return Ok(out);
        }
        ensure!(
            (0.0..=1.0).contains(&ratio),
            "dropout ratio must be in [0, 1], got {}",
            ratio
        );
        let seed = seed.map_or_else(crate::ops::extra::random::entropy_seed, |s| s as u64);
        let mut rng = SplitMix(seed);
        let mask: Vec<bool> = (0..x.len()).map(|_| rng.next_f64() >= ratio).collect();
        let scale = if ratio < 1.0 {
            1.0 / (1.0 - ratio)
        } else {
            0.0
        };
        let y = dispatch_float!(x.dtype(), T => {
            let xs = x.as_slice::<T>()?;
            let v: Vec<T> = xs
                .iter()
                .zip(&mask)
                .map(|(&a, &m)| {
                    use runnx_ir::dtype::Number;
                    if m { T::from_f64(a.to_f64() * scale) } else { T::zero() }
                })
                .collect();
            Tensor::new(x.shape().to_vec(), v)
        })?;
        let mut out = vec![Value::Tensor(y)];
        if want_mask {
            out.push(Value::Tensor(Tensor::new(x.shape().to_vec(), mask)?));
        }
        Ok(out)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tensor::testutil::run;
    use runnx_ir::Attribute;

    #[test]
    fn reshape_rules() {
        assert_eq!(
            reshape_shape(&[2, 3, 4], &[0, -1], false).unwrap(),
            vec![2, 12]
        );
        assert_eq!(reshape_shape(&[0, 3], &[3, 0], true).unwrap(), vec![3, 0]);
        assert!(reshape_shape(&[2, 3], &[-1, -1], false).is_err());
        assert!(reshape_shape(&[2, 3], &[5], false).is_err());
        assert!(reshape_shape(&[2, 3], &[0, 0, 0], false).is_err());
        assert!(reshape_shape(&[0, 3], &[-1, 0], true).is_err());
    }

    #[test]
    fn reshape_does_not_copy_and_works_on_strings() {
        let x = Tensor::new(
            vec![2, 2],
            vec!["a".to_string(), "b".into(), "c".into(), "d".into()],
        )
        .unwrap();
        let out = run(
            "Reshape",
            14,
            vec![],
            vec![Some(x), Some(Tensor::vector(vec![4i64]))],
        )
        .unwrap();
        assert_eq!(out[0].shape(), &[4]);
        let out = run(
            "Unsqueeze",
            11,
            vec![("axes", Attribute::Ints(vec![0, -1]))],
            vec![Some(out[0].clone())],
        )
        .unwrap();
        assert_eq!(out[0].shape(), &[1, 4, 1]);
    }

    #[test]
    fn dropout_training_is_seeded() {
        let x = Tensor::vector(vec![1.0f32; 64]);
        let go = || {
            crate::ops::tensor::testutil::run_outs(
                "Dropout",
                13,
                vec![("seed", Attribute::Int(7))],
                vec![
                    Some(x.clone()),
                    Some(Tensor::scalar(0.5f32)),
                    Some(Tensor::scalar(true)),
                ],
                2,
            )
            .unwrap()
        };
        let (a, b) = (go(), go());
        assert_eq!(a[0], b[0]);
        let y = a[0].as_slice::<f32>().unwrap();
        assert!(y.iter().all(|&v| v == 0.0 || v == 2.0));
    }
}
