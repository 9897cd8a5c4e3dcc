//! Tensor layout and indexing: reshape, transpose, concat, slice, gather, scatter, generators, sorting.

use crate::Registry;
use runnx_ir::dtype::Number;
use runnx_ir::{bail, ensure, Inputs, Result, Tensor, Value};
use std::cmp::Ordering;

mod det;
mod gather;
mod generate;
mod layout;
mod shape;
mod sort;
pub mod strided;

pub fn register(r: &mut Registry) {
    shape::register(r);
    layout::register(r);
    gather::register(r);
    generate::register(r);
    sort::register(r);
    det::register(r);
}

/// One output.
pub(crate) fn one(t: Tensor) -> Result<Vec<Value>> {
    Ok(vec![Value::Tensor(t)])
}

/// A model-controlled i64 as a usize (non-negative).
pub(crate) fn to_usize(v: i64, what: &str) -> Result<usize> {
    usize::try_from(v)
        .map_err(|_| runnx_ir::Error::invalid(format!("{what} must be non-negative, got {v}")))
}

/// An optional integer input as i64 values.
pub(crate) fn opt_ints(inputs: &Inputs, i: usize) -> Result<Option<Vec<i64>>> {
    match inputs.opt_tensor(i)? {
        None => Ok(None),
        Some(t) => Ok(Some(t.to_i64_vec()?)),
    }
}

/// A required scalar (single element) integer input.
pub(crate) fn scalar_int(inputs: &Inputs, i: usize) -> Result<i64> {
    let v = inputs.tensor(i)?.to_i64_vec()?;
    match v.as_slice() {
        [x] => Ok(*x),
        _ => bail!("input {i} must hold a single value, got {} values", v.len()),
    }
}

/// Normalise an index into `0..dim` (negative counts from the end).
#[inline]
pub(crate) fn norm_index(ix: i64, dim: usize) -> Result<usize> {
    let d = dim as i64;
    let j = if ix < 0 { ix + d } else { ix };
    ensure!(
        j >= 0 && j < d,
        "index {} is out of range for a dimension of {}",
        ix,
        dim
    );
    Ok(j as usize)
}

/// An empty vector with room for `n` elements; an error (not an abort) when the
/// allocation fails, since sizes come from the model.
pub(crate) fn alloc<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        runnx_ir::Error::invalid(format!("cannot allocate a tensor of {n} elements"))
    })?;
    Ok(v)
}

/// `n` copies of `x` (from the run's buffer pool), failing cleanly when the allocation does.
pub(crate) fn filled<T: runnx_ir::Elem>(n: usize, x: T) -> Result<Vec<T>> {
    runnx_ir::buffers::take(n, x)
}

/// Product of dimensions in a range, checked.
pub(crate) fn prod(dims: &[usize]) -> Result<usize> {
    runnx_ir::tensor::checked_len(dims)
}

/// Element arithmetic for every numeric type (and bool): wrapping for integers,
/// f32 math for f16/bf16, or/and for bool.
pub(crate) trait Arith: Number {
    fn add(self, o: Self) -> Self;
    fn mul(self, o: Self) -> Self;
    fn max_of(self, o: Self) -> Self {
        if o > self {
            o
        } else {
            self
        }
    }
    fn min_of(self, o: Self) -> Self {
        if o < self {
            o
        } else {
            self
        }
    }
}

macro_rules! arith_int {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline]
            fn add(self, o: Self) -> Self { self.wrapping_add(o) }
            #[inline]
            fn mul(self, o: Self) -> Self { self.wrapping_mul(o) }
        }
    )*};
}
arith_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! arith_float {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline]
            fn add(self, o: Self) -> Self { self + o }
            #[inline]
            fn mul(self, o: Self) -> Self { self * o }
        }
    )*};
}
arith_float!(f32, f64);

macro_rules! arith_half {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline]
            fn add(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() + o.to_f32()) }
            #[inline]
            fn mul(self, o: Self) -> Self { <$t>::from_f32(self.to_f32() * o.to_f32()) }
        }
    )*};
}
arith_half!(runnx_ir::f16, runnx_ir::bf16);

impl Arith for bool {
    fn add(self, o: Self) -> Self {
        self | o
    }
    fn mul(self, o: Self) -> Self {
        self & o
    }
}

/// A total order for sorting any element type: NaN sorts after every number.
pub(crate) trait TotalOrd {
    fn total_cmp(&self, o: &Self) -> Ordering;
}

macro_rules! total_ord_num {
    ($($t:ty),*) => {$(
        impl TotalOrd for $t {
            #[inline]
            fn total_cmp(&self, o: &Self) -> Ordering {
                match self.partial_cmp(o) {
                    Some(c) => c,
                    None => {
                        #[allow(clippy::eq_op)]
                        let (a, b) = (self != self, o != o);
                        a.cmp(&b)
                    }
                }
            }
        }
    )*};
}
total_ord_num!(
    f32,
    f64,
    runnx_ir::f16,
    runnx_ir::bf16,
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    bool
);

impl TotalOrd for String {
    fn total_cmp(&self, o: &Self) -> Ordering {
        self.cmp(o)
    }
}

#[cfg(test)]
pub(crate) mod testutil {
    use runnx_ir::{Attribute, Inputs, Kernel, Node, NodeCtx, Result, Tensor, Value};

    pub fn node(op: &str, n_in: usize, n_out: usize, attrs: Vec<(&str, Attribute)>) -> Node {
        Node {
            name: "n".into(),
            op_type: op.into(),
            domain: String::new(),
            inputs: (0..n_in).map(|i| format!("i{i}")).collect(),
            outputs: (0..n_out).map(|i| format!("o{i}")).collect(),
            attrs: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    /// Build the op's kernel from the tensor family's registry and run it.
    pub fn run(
        op: &str,
        opset: i64,
        attrs: Vec<(&str, Attribute)>,
        inputs: Vec<Option<Tensor>>,
    ) -> Result<Vec<Tensor>> {
        run_outs(op, opset, attrs, inputs, 1)
    }

    pub fn run_outs(
        op: &str,
        opset: i64,
        attrs: Vec<(&str, Attribute)>,
        inputs: Vec<Option<Tensor>>,
        n_out: usize,
    ) -> Result<Vec<Tensor>> {
        let mut r = crate::Registry::default();
        super::register(&mut r);
        let mut n = node(op, inputs.len(), n_out, attrs);
        for (name, t) in n.inputs.iter_mut().zip(&inputs) {
            if t.is_none() {
                name.clear();
            }
        }
        let ctx = NodeCtx { node: &n, opset };
        let entry = r.find("", op, opset).expect("op registered");
        let k: Box<dyn Kernel> = (entry.build)(&ctx)?;
        let vals: Vec<Option<Value>> = inputs.into_iter().map(|t| t.map(Value::Tensor)).collect();
        let refs: Vec<Option<&Value>> = vals.iter().map(|v| v.as_ref()).collect();
        let out = k.run(&Inputs::new(&refs))?;
        out.into_iter().map(|v| v.into_tensor()).collect()
    }
}

#[cfg(test)]
mod adversarial {
    use super::testutil::run;
    use runnx_ir::{Attribute, Tensor};

    fn v(x: Vec<i64>) -> Option<Tensor> {
        Some(Tensor::vector(x))
    }

    #[test]
    fn hostile_inputs_are_errors_not_panics() {
        let x = Some(Tensor::new(vec![2, 3], vec![1f32, 2., 3., 4., 5., 6.]).unwrap());
        let (mn, mx) = (i64::MIN, i64::MAX);
        // Slice with extreme starts/ends/steps.
        for (s, e, st) in [
            (mn, mx, mx),
            (mx, mn, mn),
            (mn, mn, -1),
            (0, mx, mn),
            (-1, mn, -1),
        ] {
            let _ = run(
                "Slice",
                13,
                vec![],
                vec![x.clone(), v(vec![s]), v(vec![e]), v(vec![1]), v(vec![st])],
            );
        }
        let out = run(
            "Slice",
            13,
            vec![],
            vec![x.clone(), v(vec![-1]), v(vec![mn]), v(vec![1]), v(vec![-1])],
        )
        .unwrap();
        assert_eq!(out[0].as_slice::<f32>().unwrap(), &[3., 2., 1., 6., 5., 4.]);
        // Pad with extreme pads, every mode.
        for mode in ["constant", "reflect", "edge", "wrap"] {
            for pads in [
                vec![mn, 0, mx, 0],
                vec![-5, 0, 0, 0],
                vec![0, 1 << 40, 0, 1 << 40],
                vec![-2, -3, 0, 0],
            ] {
                let attrs = vec![("mode", Attribute::String(mode.as_bytes().to_vec()))];
                let _ = run("Pad", 18, attrs, vec![x.clone(), v(pads)]);
            }
        }
        // Huge outputs fail cleanly.
        assert!(run(
            "Tile",
            13,
            vec![],
            vec![x.clone(), v(vec![1 << 20, 1 << 20])]
        )
        .is_err());
        assert!(run("Tile", 13, vec![], vec![x.clone(), v(vec![mx, mx])]).is_err());
        assert!(run(
            "Expand",
            13,
            vec![],
            vec![x.clone(), v(vec![1 << 30, 1 << 20, 3])]
        )
        .is_err());
        assert!(run(
            "ConstantOfShape",
            20,
            vec![],
            vec![v(vec![1 << 30, 1 << 30])]
        )
        .is_err());
        assert!(run("ConstantOfShape", 20, vec![], vec![v(vec![-1])]).is_err());
        assert!(run(
            "Range",
            20,
            vec![],
            vec![
                Some(Tensor::scalar(0i64)),
                Some(Tensor::scalar(mx)),
                Some(Tensor::scalar(1i64))
            ]
        )
        .is_err());
        assert!(run(
            "Range",
            20,
            vec![],
            vec![
                Some(Tensor::scalar(mn)),
                Some(Tensor::scalar(mx)),
                Some(Tensor::scalar(mx))
            ]
        )
        .is_ok());
        // Bad axes, indices, shapes.
        assert!(run("Reshape", 14, vec![], vec![x.clone(), v(vec![mx, 2])]).is_err());
        assert!(run("Reshape", 14, vec![], vec![x.clone(), v(vec![-2, 3])]).is_err());
        assert!(run(
            "Transpose",
            13,
            vec![("perm", Attribute::Ints(vec![0, 0]))],
            vec![x.clone()]
        )
        .is_err());
        assert!(run(
            "Transpose",
            13,
            vec![("perm", Attribute::Ints(vec![0]))],
            vec![x.clone()]
        )
        .is_err());
        assert!(run("Squeeze", 13, vec![], vec![x.clone(), v(vec![0])]).is_err());
        assert!(run("Unsqueeze", 13, vec![], vec![x.clone(), v(vec![mn])]).is_err());
        assert!(run(
            "Flatten",
            13,
            vec![("axis", Attribute::Int(mn))],
            vec![x.clone()]
        )
        .is_err());
        assert!(run("Split", 13, vec![], vec![x.clone(), v(vec![mx, 2])]).is_err());
        assert!(run(
            "Gather",
            13,
            vec![("axis", Attribute::Int(mx))],
            vec![x.clone(), v(vec![0])]
        )
        .is_err());
        assert!(run("GatherElements", 13, vec![], vec![x.clone(), v(vec![0])]).is_err());
        let idx2 = Some(Tensor::new(vec![1, 1], vec![mn]).unwrap());
        assert!(run("GatherND", 13, vec![], vec![x.clone(), idx2.clone()]).is_err());
        assert!(run("ScatterND", 13, vec![], vec![x.clone(), idx2, v(vec![1])]).is_err());
        assert!(run(
            "OneHot",
            11,
            vec![],
            vec![
                v(vec![mn, mx]),
                Some(Tensor::scalar(3i64)),
                Some(Tensor::vector(vec![0f32, 1.]))
            ]
        )
        .is_ok());
        assert!(run(
            "OneHot",
            11,
            vec![],
            vec![
                v(vec![1]),
                Some(Tensor::scalar(f32::NAN)),
                Some(Tensor::vector(vec![0f32, 1.]))
            ]
        )
        .is_err());
        assert!(run(
            "EyeLike",
            11,
            vec![("k", Attribute::Int(mx))],
            vec![x.clone()]
        )
        .is_ok());
        assert!(run(
            "EyeLike",
            11,
            vec![("k", Attribute::Int(mn))],
            vec![x.clone()]
        )
        .is_ok());
        assert!(run(
            "Trilu",
            14,
            vec![],
            vec![x.clone(), Some(Tensor::scalar(mn))]
        )
        .is_ok());
        assert!(run("TopK", 11, vec![], vec![x.clone(), v(vec![mx])]).is_err());
        assert!(run("TopK", 11, vec![], vec![x.clone(), v(vec![-1])]).is_err());
        assert!(run(
            "CumSum",
            14,
            vec![],
            vec![x.clone(), Some(Tensor::scalar(mn))]
        )
        .is_err());
        assert!(run(
            "DepthToSpace",
            13,
            vec![("blocksize", Attribute::Int(mx))],
            vec![x.clone()]
        )
        .is_err());
        assert!(run(
            "SpaceToDepth",
            13,
            vec![("blocksize", Attribute::Int(0))],
            vec![x.clone()]
        )
        .is_err());
        assert!(run(
            "Compress",
            11,
            vec![],
            vec![x.clone(), Some(Tensor::vector(vec![true; 9]))]
        )
        .is_err());
        assert!(run(
            "ReverseSequence",
            10,
            vec![],
            vec![x.clone(), v(vec![9, 9, 9])]
        )
        .is_err());
        assert!(run("CenterCropPad", 18, vec![], vec![x.clone(), v(vec![mn, 2])]).is_err());
        assert!(run("Det", 11, vec![], vec![x]).is_err());
    }
}
