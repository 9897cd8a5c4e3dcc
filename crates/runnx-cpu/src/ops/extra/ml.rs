//! The ai.onnx.ml domain: LabelEncoder, ArrayFeatureExtractor, Binarizer,
//! TreeEnsemble, LinearClassifier, LinearRegressor, Normalizer, Scaler.

use super::{tensor_from_f64, to_usize};
use crate::par::for_each_chunk_mut;
use crate::Registry;
use runnx_ir::dtype::Number;
use runnx_ir::tensor::checked_len;
use runnx_ir::{
    bail, dispatch_all, dispatch_float, dispatch_number, ensure, kernel, DType, Kernel, NodeCtx,
    Result, Tensor, Value,
};
use std::collections::HashMap;

const ML: &str = "ai.onnx.ml";

pub fn register(r: &mut Registry) {
    r.add_in(ML, "LabelEncoder", 1, label_encoder);
    r.add_in(ML, "ArrayFeatureExtractor", 1, array_feature_extractor);
    r.add_in(ML, "Binarizer", 1, binarizer);
    r.add_in(ML, "TreeEnsemble", 5, tree_ensemble);
    r.add_in(ML, "LinearClassifier", 1, linear_classifier);
    r.add_in(ML, "LinearRegressor", 1, linear_regressor);
    r.add_in(ML, "Normalizer", 1, normalizer);
    r.add_in(ML, "Scaler", 1, scaler);
}

// ---------------------------------------------------------------- LabelEncoder

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Str(String),
    Int(i64),
    /// f64 bits, with NaN and -0.0 made canonical.
    Float(u64),
}

#[derive(Clone, Copy, PartialEq)]
enum KeyKind {
    Str,
    Int,
    Float,
}

fn float_key(v: f64) -> Key {
    if v.is_nan() {
        Key::Float(f64::NAN.to_bits())
    } else if v == 0.0 {
        Key::Float(0f64.to_bits())
    } else {
        Key::Float(v.to_bits())
    }
}

fn tensor_keys(t: &Tensor) -> Result<(KeyKind, Vec<Key>)> {
    Ok(match t.dtype() {
        DType::String => (
            KeyKind::Str,
            t.as_slice::<String>()?
                .iter()
                .cloned()
                .map(Key::Str)
                .collect(),
        ),
        d if d.is_int() => (
            KeyKind::Int,
            t.to_i64_vec()?.into_iter().map(Key::Int).collect(),
        ),
        d if d.is_float() => (
            KeyKind::Float,
            t.to_f64_vec()?.into_iter().map(float_key).collect(),
        ),
        d => bail!("keys of type {d} are not supported"),
    })
}

/// One mapping: keys -> index into `values`, else `default`.
struct Encoder {
    kind: KeyKind,
    map: HashMap<Key, usize>,
    values: Tensor,
    /// One element of the values' type.
    default: Tensor,
}

impl Encoder {
    fn new(kind: KeyKind, keys: Vec<Key>, values: Tensor, default: Tensor) -> Result<Encoder> {
        ensure!(
            keys.len() == values.len(),
            "{} keys but {} values",
            keys.len(),
            values.len()
        );
        ensure!(
            default.len() == 1,
            "the default must hold one value, got shape {:?}",
            default.shape()
        );
        let default = if default.dtype() == values.dtype() {
            default
        } else {
            default.cast(values.dtype())?
        };
        let mut map = HashMap::with_capacity(keys.len());
        for (i, k) in keys.into_iter().enumerate() {
            map.entry(k).or_insert(i);
        }
        Ok(Encoder {
            kind,
            map,
            values,
            default,
        })
    }

    // Generic over every element type, strings included: clones are copies for numbers.
    #[allow(clippy::clone_on_copy)]
    fn run(&self, x: &Tensor) -> Result<Tensor> {
        let idx: Vec<Option<usize>> = match (self.kind, x.dtype()) {
            (KeyKind::Str, DType::String) => x
                .as_slice::<String>()?
                .iter()
                .map(|s| self.map.get(&Key::Str(s.clone())).copied())
                .collect(),
            (KeyKind::Int, d) if d.is_int() => x
                .to_i64_vec()?
                .into_iter()
                .map(|v| self.map.get(&Key::Int(v)).copied())
                .collect(),
            (KeyKind::Float, d) if d.is_numeric() => x
                .to_f64_vec()?
                .into_iter()
                // NaN never equals a key (as in ONNX Runtime and the reference).
                .map(|v| {
                    if v.is_nan() {
                        None
                    } else {
                        self.map.get(&float_key(v)).copied()
                    }
                })
                .collect(),
            (_, d) => bail!("input of type {d} does not match the encoder's keys"),
        };
        dispatch_all!(self.values.dtype(), T => {
            let vals = self.values.as_slice::<T>()?;
            let def = self.default.as_slice::<T>()?[0].clone();
            let out: Vec<T> = idx.iter().map(|i| i.map_or_else(|| def.clone(), |i| vals[i].clone())).collect();
            Tensor::new(x.shape().to_vec(), out)
        })
    }
}

fn label_encoder(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    // Opset 1: classes_strings maps strings to their index and back.
    if let Some(classes) = n.attr_strings_opt("classes_strings")? {
        let def_int = n.attr_int("default_int64", -1)?;
        let def_str = n.attr_str("default_string", "_Unused")?;
        let count = classes.len() as i64;
        let to_int = Encoder::new(
            KeyKind::Str,
            classes.iter().cloned().map(Key::Str).collect(),
            Tensor::vector((0..count).collect::<Vec<i64>>()),
            Tensor::scalar(def_int),
        )?;
        let to_str = Encoder::new(
            KeyKind::Int,
            (0..count).map(Key::Int).collect(),
            Tensor::vector(classes),
            Tensor::scalar(def_str),
        )?;
        return Ok(kernel(move |inputs| {
            let x = inputs.tensor(0)?;
            let enc = if x.dtype() == DType::String {
                &to_int
            } else {
                &to_str
            };
            Ok(vec![Value::Tensor(enc.run(x)?)])
        }));
    }
    let (kind, keys) = if let Some(k) = n.attr_strings_opt("keys_strings")? {
        (KeyKind::Str, k.into_iter().map(Key::Str).collect())
    } else if let Some(k) = n.attr_ints_opt("keys_int64s")? {
        (KeyKind::Int, k.into_iter().map(Key::Int).collect())
    } else if let Some(k) = n.attr_floats_opt("keys_floats")? {
        (
            KeyKind::Float,
            k.into_iter().map(|v| float_key(v as f64)).collect(),
        )
    } else if let Some(t) = n.attr_tensor_opt("keys_tensor")? {
        tensor_keys(&t)?
    } else {
        bail!("one of keys_strings, keys_int64s, keys_floats or keys_tensor is required")
    };
    let (values, default) = if let Some(v) = n.attr_strings_opt("values_strings")? {
        (
            Tensor::vector(v),
            Tensor::scalar(n.attr_str("default_string", "_Unused")?),
        )
    } else if let Some(v) = n.attr_ints_opt("values_int64s")? {
        (
            Tensor::vector(v),
            Tensor::scalar(n.attr_int("default_int64", -1)?),
        )
    } else if let Some(v) = n.attr_floats_opt("values_floats")? {
        (
            Tensor::vector(v),
            Tensor::scalar(n.attr_float("default_float", -0.0)?),
        )
    } else if let Some(v) = n.attr_tensor_opt("values_tensor")? {
        let d = match n.attr_tensor_opt("default_tensor")? {
            Some(d) => d,
            None => match v.dtype() {
                DType::String => Tensor::scalar("_Unused".to_string()),
                d if d.is_float() => tensor_from_f64(d, vec![], &[-0.0])?,
                d => tensor_from_f64(d, vec![], &[-1.0])?,
            },
        };
        let len = v.len();
        (v.reshaped(vec![len])?, d)
    } else {
        bail!("one of values_strings, values_int64s, values_floats or values_tensor is required")
    };
    let enc = Encoder::new(kind, keys, values, default)?;
    Ok(kernel(move |inputs| {
        Ok(vec![Value::Tensor(enc.run(inputs.tensor(0)?)?)])
    }))
}

// ---------------------------------------------------- ArrayFeatureExtractor, Binarizer

#[allow(clippy::clone_on_copy)]
fn array_feature_extractor(_n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    Ok(kernel(|inputs| {
        let x = inputs.tensor(0)?;
        let idx = inputs.tensor(1)?.to_i64_vec()?;
        ensure!(x.rank() >= 1, "X must have rank >= 1");
        let shape = x.shape();
        let last = shape[shape.len() - 1];
        let idx: Vec<usize> = idx
            .iter()
            .map(|&i| match usize::try_from(i) {
                Ok(u) if u < last => Ok(u),
                _ => bail!(
                    "index {} is out of range for a last dimension of {}",
                    i,
                    last
                ),
            })
            .collect::<Result<_>>()?;
        let rows = x.len().checked_div(last).unwrap_or(0);
        let out_shape = if shape.len() == 1 {
            vec![1, idx.len()]
        } else {
            let mut s = shape[..shape.len() - 1].to_vec();
            s.push(idx.len());
            s
        };
        let out = dispatch_all!(x.dtype(), T => {
            let xs = x.as_slice::<T>()?;
            let mut out: Vec<T> = Vec::with_capacity(rows * idx.len());
            for r in 0..rows {
                let row = &xs[r * last..(r + 1) * last];
                out.extend(idx.iter().map(|&i| row[i].clone()));
            }
            Tensor::new(out_shape, out)
        })?;
        Ok(vec![Value::Tensor(out)])
    }))
}

fn binarizer(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let threshold = n.attr_float("threshold", 0.0)? as f64;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let out = dispatch_number!(x.dtype(), T => {
            let v: Vec<T> = x
                .as_slice::<T>()?
                .iter()
                .map(|&e| if e.to_f64() > threshold { T::one() } else { T::zero() })
                .collect();
            Tensor::new(x.shape().to_vec(), v)
        })?;
        Ok(vec![Value::Tensor(out)])
    }))
}

// ------------------------------------------------------------------ post transforms

#[derive(Clone, Copy, PartialEq, Debug)]
enum Post {
    None,
    Softmax,
    Logistic,
    SoftmaxZero,
    Probit,
}

impl Post {
    fn from_code(c: i64) -> Result<Post> {
        Ok(match c {
            0 => Post::None,
            1 => Post::Softmax,
            2 => Post::Logistic,
            3 => Post::SoftmaxZero,
            4 => Post::Probit,
            _ => bail!("post_transform {c} is not one of 0..=4"),
        })
    }

    fn from_name(s: &str) -> Result<Post> {
        Ok(match s {
            "NONE" => Post::None,
            "SOFTMAX" => Post::Softmax,
            "LOGISTIC" => Post::Logistic,
            "SOFTMAX_ZERO" => Post::SoftmaxZero,
            "PROBIT" => Post::Probit,
            _ => bail!("unknown post_transform '{s}'"),
        })
    }

    fn apply(self, v: &mut [f64]) {
        match self {
            Post::None => {}
            Post::Logistic => v.iter_mut().for_each(|x| *x = logistic(*x)),
            Post::Probit => v.iter_mut().for_each(|x| *x = probit(*x)),
            Post::Softmax => {
                let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut s = 0.0;
                for x in v.iter_mut() {
                    *x = (*x - m).exp();
                    s += *x;
                }
                v.iter_mut().for_each(|x| *x /= s);
            }
            Post::SoftmaxZero => {
                let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let e = (-m).exp();
                let mut s = 0.0;
                for x in v.iter_mut() {
                    *x = if x.abs() > 1e-7 {
                        (*x - m).exp()
                    } else {
                        *x * e
                    };
                    s += *x;
                }
                if s == 0.0 {
                    v.iter_mut().for_each(|x| *x = 0.5);
                } else {
                    v.iter_mut().for_each(|x| *x /= s);
                }
            }
        }
    }
}

fn logistic(x: f64) -> f64 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 {
        1.0 - v
    } else {
        v
    }
}

/// sqrt(2) * erfinv(2x - 1), with the approximation ONNX Runtime uses.
fn probit(x: f64) -> f64 {
    let y = 2.0 * x - 1.0;
    let sgn = if y < 0.0 { -1.0 } else { 1.0 };
    let t = (1.0 - y) * (1.0 + y);
    if t == 0.0 {
        return 0.0;
    }
    let l = t.ln();
    let a = 2.0 / (std::f64::consts::PI * 0.147) + 0.5 * l;
    let b = l / 0.147;
    std::f64::consts::SQRT_2 * sgn * (-a + (a * a - b).sqrt()).sqrt()
}

/// Rows and columns of a [N, C] (or [C], one row) numeric input, as f64.
fn matrix_f64(x: &Tensor) -> Result<(usize, usize, Vec<f64>)> {
    ensure!(
        x.dtype().is_numeric(),
        "X must be numeric, got {}",
        x.dtype()
    );
    let (n, c) = match x.shape() {
        [c] => (1, *c),
        [n, c] => (*n, *c),
        s => bail!("X must have shape [N, C] or [C], got {:?}", s),
    };
    Ok((n, c, x.to_f64_vec()?))
}

// ------------------------------------------------------------------ TreeEnsemble

#[derive(Clone, Copy)]
enum Child {
    Node(usize),
    Leaf(usize),
}

struct TreeNode {
    feature: usize,
    mode: u8,
    split: f64,
    members: Vec<f64>,
    missing_true: bool,
    yes: Child,
    no: Child,
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Average,
    Sum,
    Min,
    Max,
}

struct Ensemble {
    nodes: Vec<TreeNode>,
    leaf_weight: Vec<f64>,
    leaf_target: Vec<usize>,
    roots: Vec<Child>,
    n_targets: usize,
    n_features: usize,
    aggregate: Aggregate,
    post: Post,
}

fn tree_ensemble(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let ints = |name: &str| n.require(name, n.attr_ints_opt(name));
    let floats =
        |name: &str| -> Result<Vec<f64>> { n.require(name, n.attr_tensor_opt(name))?.to_f64_vec() };
    let splits = floats("nodes_splits")?;
    let features = ints("nodes_featureids")?;
    let modes = n
        .require("nodes_modes", n.attr_tensor_opt("nodes_modes"))?
        .to_i64_vec()?;
    let true_ids = ints("nodes_truenodeids")?;
    let false_ids = ints("nodes_falsenodeids")?;
    let true_leafs = ints("nodes_trueleafs")?;
    let false_leafs = ints("nodes_falseleafs")?;
    let leaf_targets = ints("leaf_targetids")?;
    let leaf_weight = floats("leaf_weights")?;
    let roots = ints("tree_roots")?;
    let missing = n.attr_ints("nodes_missing_value_tracks_true", vec![])?;
    let members = match n.attr_tensor_opt("membership_values")? {
        Some(t) => t.to_f64_vec()?,
        None => vec![],
    };
    let aggregate = match n.attr_int("aggregate_function", 1)? {
        0 => Aggregate::Average,
        1 => Aggregate::Sum,
        2 => Aggregate::Min,
        3 => Aggregate::Max,
        a => bail!("aggregate_function {a} is not one of 0..=3"),
    };
    let post = Post::from_code(n.attr_int("post_transform", 0)?)?;
    let count = splits.len();
    for (name, len) in [
        ("nodes_featureids", features.len()),
        ("nodes_modes", modes.len()),
        ("nodes_truenodeids", true_ids.len()),
        ("nodes_falsenodeids", false_ids.len()),
        ("nodes_trueleafs", true_leafs.len()),
        ("nodes_falseleafs", false_leafs.len()),
    ] {
        ensure!(
            len == count,
            "{name} has {len} entries, nodes_splits has {count}"
        );
    }
    ensure!(
        missing.is_empty() || missing.len() == count,
        "nodes_missing_value_tracks_true has the wrong length"
    );
    ensure!(
        leaf_targets.len() == leaf_weight.len(),
        "leaf_targetids and leaf_weights differ in length"
    );
    let leaf_target: Vec<usize> = leaf_targets
        .iter()
        .map(|&t| to_usize(t, "leaf_targetids"))
        .collect::<Result<_>>()?;
    let n_targets = match n.attr_int_opt("n_targets")? {
        Some(t) => to_usize(t, "n_targets")?,
        None => leaf_target.iter().max().map_or(0, |m| m + 1),
    };
    ensure!(
        leaf_target.iter().all(|&t| t < n_targets),
        "a leaf target is >= n_targets ({n_targets})"
    );
    let child = |id: i64, leaf: i64| -> Result<Child> {
        let i = to_usize(id, "node id")?;
        if leaf != 0 {
            ensure!(i < leaf_weight.len(), "leaf index {} is out of range", i);
            Ok(Child::Leaf(i))
        } else {
            ensure!(i < count, "node index {} is out of range", i);
            Ok(Child::Node(i))
        }
    };
    let mut member_iter = members.into_iter();
    let mut nodes = Vec::with_capacity(count);
    let mut n_features = 0usize;
    for i in 0..count {
        let mode = u8::try_from(modes[i]).ok().filter(|&m| m <= 6);
        let Some(mode) = mode else {
            bail!("node mode {} is not one of 0..=6", modes[i])
        };
        let mut set = Vec::new();
        if mode == 6 {
            for v in member_iter.by_ref() {
                if v.is_nan() {
                    break;
                }
                set.push(v);
            }
        }
        let feature = to_usize(features[i], "nodes_featureids")?;
        n_features = n_features.max(feature + 1);
        nodes.push(TreeNode {
            feature,
            mode,
            split: splits[i],
            members: set,
            missing_true: missing.get(i).is_some_and(|&m| m != 0),
            yes: child(true_ids[i], true_leafs[i])?,
            no: child(false_ids[i], false_leafs[i])?,
        });
    }
    let roots = roots
        .iter()
        .map(|&r| {
            let r = to_usize(r, "tree_roots")?;
            ensure!(r < count, "tree root {} is out of range", r);
            // A tree that is a single leaf: both branches name the same leaf.
            Ok(
                if true_leafs[r] != 0 && false_leafs[r] != 0 && true_ids[r] == false_ids[r] {
                    child(true_ids[r], 1)?
                } else {
                    Child::Node(r)
                },
            )
        })
        .collect::<Result<Vec<_>>>()?;
    let e = Ensemble {
        nodes,
        leaf_weight,
        leaf_target,
        roots,
        n_targets,
        n_features,
        aggregate,
        post,
    };
    Ok(kernel(move |inputs| e.run(inputs.tensor(0)?)))
}

impl Ensemble {
    /// The leaf a row ends in, from `start`.
    fn leaf(&self, row: &[f64], start: Child) -> Result<usize> {
        let mut cur = start;
        for _ in 0..=self.nodes.len() {
            match cur {
                Child::Leaf(l) => return Ok(l),
                Child::Node(i) => {
                    let nd = &self.nodes[i];
                    let x = row[nd.feature];
                    let go = if x.is_nan() && nd.missing_true {
                        true
                    } else {
                        match nd.mode {
                            0 => x <= nd.split,
                            1 => x < nd.split,
                            2 => x >= nd.split,
                            3 => x > nd.split,
                            4 => x == nd.split,
                            5 => x != nd.split,
                            _ => nd.members.contains(&x),
                        }
                    };
                    cur = if go { nd.yes } else { nd.no };
                }
            }
        }
        bail!("the tree has a cycle")
    }

    fn run(&self, x: &Tensor) -> Result<Vec<Value>> {
        ensure!(
            x.dtype().is_float(),
            "X must be a float tensor, got {}",
            x.dtype()
        );
        let (rows, cols, xs) = matrix_f64(x)?;
        ensure!(
            self.n_features <= cols || rows == 0,
            "the trees read feature {} but X has {} columns",
            self.n_features.saturating_sub(1),
            cols
        );
        let nt = self.n_targets;
        let mut out = vec![0f64; checked_len(&[rows, nt])?];
        let failed = std::sync::Mutex::new(None);
        let cost = self.roots.len() * 16 + nt;
        if nt > 0 {
            for_each_chunk_mut(&mut out, nt, cost, |r, o| {
                let row = &xs[r * cols..(r + 1) * cols];
                let mut hit = vec![false; nt];
                for &root in &self.roots {
                    let leaf = match self.leaf(row, root) {
                        Ok(l) => l,
                        Err(e) => {
                            if let Ok(mut f) = failed.lock() {
                                *f = Some(e);
                            }
                            return;
                        }
                    };
                    let (t, w) = (self.leaf_target[leaf], self.leaf_weight[leaf]);
                    o[t] = match self.aggregate {
                        Aggregate::Sum | Aggregate::Average => o[t] + w,
                        Aggregate::Min if hit[t] => o[t].min(w),
                        Aggregate::Max if hit[t] => o[t].max(w),
                        Aggregate::Min | Aggregate::Max => w,
                    };
                    hit[t] = true;
                }
                if self.aggregate == Aggregate::Average && !self.roots.is_empty() {
                    let k = self.roots.len() as f64;
                    o.iter_mut().for_each(|v| *v /= k);
                }
                self.post.apply(o);
            });
        }
        if let Some(e) = failed.into_inner().ok().flatten() {
            return Err(e);
        }
        let t = dispatch_float!(x.dtype(), T => {
            let v: Vec<T> = out.iter().map(|&f| T::from_f64(f)).collect();
            Tensor::new(vec![rows, nt], v)
        })?;
        Ok(vec![Value::Tensor(t)])
    }
}

// ------------------------------------------------------------------ linear models

fn linear_scores(
    xs: &[f64],
    rows: usize,
    cols: usize,
    coef: &[f64],
    icpt: &[f64],
) -> Result<(usize, Vec<f64>)> {
    ensure!(
        cols > 0 && coef.len().is_multiple_of(cols),
        "{} coefficients do not fit {} features",
        coef.len(),
        cols
    );
    let e = coef.len() / cols;
    ensure!(
        icpt.is_empty() || icpt.len() == e,
        "{} intercepts for {} outputs",
        icpt.len(),
        e
    );
    let mut out = vec![0f64; checked_len(&[rows, e])?];
    for r in 0..rows {
        let x = &xs[r * cols..(r + 1) * cols];
        for j in 0..e {
            let w = &coef[j * cols..(j + 1) * cols];
            let s: f64 = x.iter().zip(w).map(|(a, b)| a * b).sum();
            out[r * e + j] = s + icpt.get(j).copied().unwrap_or(0.0);
        }
    }
    Ok((e, out))
}

fn linear_classifier(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let coef: Vec<f64> = n
        .require("coefficients", n.attr_floats_opt("coefficients"))?
        .into_iter()
        .map(f64::from)
        .collect();
    let icpt: Vec<f64> = n
        .attr_floats("intercepts", vec![])?
        .into_iter()
        .map(f64::from)
        .collect();
    let post = Post::from_name(&n.attr_str("post_transform", "NONE")?)?;
    let int_labels = n
        .attr_ints_opt("classlabels_ints")?
        .filter(|v| !v.is_empty());
    let str_labels = n
        .attr_strings_opt("classlabels_strings")?
        .filter(|v| !v.is_empty());
    ensure!(
        int_labels.is_none() || str_labels.is_none(),
        "only one of classlabels_ints and classlabels_strings may be given"
    );
    let n_labels = int_labels
        .as_ref()
        .map(Vec::len)
        .or(str_labels.as_ref().map(Vec::len));
    Ok(kernel(move |inputs| {
        let (rows, cols, xs) = matrix_f64(inputs.tensor(0)?)?;
        let (e, raw) = linear_scores(&xs, rows, cols, &coef, &icpt)?;
        if let Some(nl) = n_labels {
            ensure!(
                if e == 1 { nl == 2 } else { nl >= e },
                "{} class labels for {} score columns",
                nl,
                e
            );
        }
        let binary = e == 1 && n_labels == Some(2);
        // Winning class index per row, from the raw scores.
        let winners: Vec<usize> = (0..rows)
            .map(|r| {
                let s = &raw[r * e..(r + 1) * e];
                if e == 1 {
                    usize::from(s.first().is_some_and(|&v| v > 0.0))
                } else {
                    let mut best = 0;
                    for (j, &v) in s.iter().enumerate() {
                        if v > s[best] {
                            best = j;
                        }
                    }
                    best
                }
            })
            .collect();
        // Binary with one score column: ONNX Runtime reports [1 - p, p], where p is
        // the logistic of the score under LOGISTIC, the probit under PROBIT, and
        // the raw score otherwise.
        let (width, scores) = if binary {
            let mut v = Vec::with_capacity(rows * 2);
            for &s in &raw {
                let p = match post {
                    Post::Logistic => logistic(s),
                    Post::Probit => probit(s),
                    _ => s,
                };
                v.extend([1.0 - p, p]);
            }
            (2, v)
        } else {
            let mut raw = raw;
            if e > 0 {
                raw.chunks_mut(e).for_each(|row| post.apply(row));
            }
            (e, raw)
        };
        let labels = if let Some(l) = &str_labels {
            Value::Tensor(Tensor::new(
                vec![rows],
                winners.iter().map(|&w| l[w].clone()).collect::<Vec<_>>(),
            )?)
        } else if let Some(l) = &int_labels {
            Value::Tensor(Tensor::new(
                vec![rows],
                winners.iter().map(|&w| l[w]).collect::<Vec<_>>(),
            )?)
        } else {
            Value::Tensor(Tensor::new(
                vec![rows],
                winners.iter().map(|&w| w as i64).collect::<Vec<_>>(),
            )?)
        };
        let z: Vec<f32> = scores.iter().map(|&v| v as f32).collect();
        Ok(vec![
            labels,
            Value::Tensor(Tensor::new(vec![rows, width], z)?),
        ])
    }))
}

fn linear_regressor(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let coef: Vec<f64> = n
        .attr_floats("coefficients", vec![])?
        .into_iter()
        .map(f64::from)
        .collect();
    let icpt: Vec<f64> = n
        .attr_floats("intercepts", vec![])?
        .into_iter()
        .map(f64::from)
        .collect();
    let targets = to_usize(n.attr_int("targets", 1)?, "targets")?;
    let post = Post::from_name(&n.attr_str("post_transform", "NONE")?)?;
    Ok(kernel(move |inputs| {
        let (rows, cols, xs) = matrix_f64(inputs.tensor(0)?)?;
        let (e, mut scores) = linear_scores(&xs, rows, cols, &coef, &icpt)?;
        ensure!(
            e == targets,
            "coefficients give {} targets, the targets attribute says {}",
            e,
            targets
        );
        if e > 0 {
            scores.chunks_mut(e).for_each(|row| post.apply(row));
        }
        let z: Vec<f32> = scores.iter().map(|&v| v as f32).collect();
        Ok(vec![Value::Tensor(Tensor::new(vec![rows, e], z)?)])
    }))
}

fn normalizer(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let norm = n.attr_str("norm", "MAX")?;
    ensure!(
        matches!(norm.as_str(), "MAX" | "L1" | "L2"),
        "norm must be MAX, L1 or L2, got '{norm}'"
    );
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        let (rows, cols, mut xs) = matrix_f64(x)?;
        if cols > 0 {
            for row in xs.chunks_mut(cols).take(rows) {
                // As the spec and ONNX Runtime: MAX divides by the (signed) maximum,
                // L1 by the sum of magnitudes, L2 by the Euclidean norm; a zero
                // divisor leaves the row as it is.
                let d = match norm.as_str() {
                    "MAX" => row.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    "L1" => row.iter().map(|v| v.abs()).sum(),
                    _ => row.iter().map(|v| v * v).sum::<f64>().sqrt(),
                };
                if d == 0.0 {
                    continue;
                }
                row.iter_mut().for_each(|v| *v /= d);
            }
        }
        let z: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        Ok(vec![Value::Tensor(Tensor::new(x.shape().to_vec(), z)?)])
    }))
}

fn scaler(n: &NodeCtx) -> Result<Box<dyn Kernel>> {
    let offset = n.attr_floats("offset", vec![])?;
    let scale = n.attr_floats("scale", vec![])?;
    Ok(kernel(move |inputs| {
        let x = inputs.tensor(0)?;
        ensure!(
            x.dtype().is_numeric(),
            "X must be numeric, got {}",
            x.dtype()
        );
        let c = x.shape().last().copied().unwrap_or(1);
        for (name, v) in [("offset", &offset), ("scale", &scale)] {
            ensure!(
                v.len() <= 1 || v.len() == c,
                "{name} has {} values for {} features",
                v.len(),
                c
            );
        }
        let pick = |v: &[f32], j: usize, d: f32| match v.len() {
            0 => d,
            1 => v[0],
            _ => v[j],
        };
        let xs = x.to_f64_vec()?;
        let z: Vec<f32> = xs
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let j = if c == 0 { 0 } else { i % c };
                ((v - pick(&offset, j, 0.0) as f64) * pick(&scale, j, 1.0) as f64) as f32
            })
            .collect();
        Ok(vec![Value::Tensor(Tensor::new(x.shape().to_vec(), z)?)])
    }))
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{node, run};
    use super::*;
    use runnx_ir::Attribute;

    #[test]
    fn label_encoder_opset1_maps_both_ways() {
        let nd = node(
            "LabelEncoder",
            ML,
            1,
            vec![(
                "classes_strings",
                Attribute::Strings(vec![b"a".to_vec(), b"b".to_vec()]),
            )],
        );
        let x = Tensor::vector(vec!["b".to_string(), "z".to_string()]);
        let y = run(label_encoder, &nd, 1, vec![Some(x)]).unwrap();
        assert_eq!(y[0].as_slice::<i64>().unwrap(), &[1, -1]);
        let y = run(
            label_encoder,
            &nd,
            1,
            vec![Some(Tensor::vector(vec![0i64, 5]))],
        )
        .unwrap();
        assert_eq!(
            y[0].as_slice::<String>().unwrap(),
            &["a".to_string(), "_Unused".to_string()]
        );
    }

    #[test]
    fn tree_cycle_is_an_error() {
        let t = |v: Vec<f32>| Attribute::Tensor(Tensor::vector(v));
        let nd = node(
            "TreeEnsemble",
            ML,
            1,
            vec![
                ("nodes_splits", t(vec![0.0])),
                ("nodes_featureids", Attribute::Ints(vec![0])),
                ("nodes_modes", Attribute::Tensor(Tensor::vector(vec![0u8]))),
                ("nodes_truenodeids", Attribute::Ints(vec![0])),
                ("nodes_falsenodeids", Attribute::Ints(vec![0])),
                ("nodes_trueleafs", Attribute::Ints(vec![0])),
                ("nodes_falseleafs", Attribute::Ints(vec![0])),
                ("leaf_targetids", Attribute::Ints(vec![0])),
                ("leaf_weights", t(vec![1.0])),
                ("tree_roots", Attribute::Ints(vec![0])),
            ],
        );
        let x = Tensor::new(vec![1, 1], vec![1f32]).unwrap();
        assert!(run(tree_ensemble, &nd, 5, vec![Some(x)]).is_err());
    }
}
