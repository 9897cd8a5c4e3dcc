//! `TensorProto` (and sequence / optional protos) to runnx values and back.

use crate::proto::{self, TensorProto};
use crate::weights::WeightSource;
use bytes::Bytes;
use runnx_ir::dtype::Number;
use runnx_ir::{bail, bf16, dispatch_number, ensure, f16, DType, Error, Result, Tensor, Value};

/// Decode a tensor, reading external data through `weights` when the proto says so.
pub fn tensor_from_proto(tp: &TensorProto, weights: &dyn WeightSource) -> Result<Tensor> {
    let dtype = DType::from_onnx_code(tp.data_type).ok_or_else(|| {
        Error::Unsupported(format!(
            "tensor '{}' has element type {} ({})",
            tp.name,
            DType::onnx_name(tp.data_type),
            tp.data_type
        ))
    })?;
    let shape = tp
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| Error::invalid(format!("tensor '{}' has dimension {d}", tp.name)))
        })
        .collect::<Result<Vec<usize>>>()?;
    let named = |e: Error| Error::Model(format!("tensor '{}': {e}", tp.name));

    if tp.data_location == proto::DATA_LOCATION_EXTERNAL {
        let bytes = read_external(tp, weights)?;
        return Tensor::from_le_bytes(dtype, shape, bytes).map_err(named);
    }
    if !tp.raw_data.is_empty() {
        return Tensor::from_le_bytes(dtype, shape, tp.raw_data.clone()).map_err(named);
    }
    typed_fields(tp, dtype, shape).map_err(named)
}

fn read_external(tp: &TensorProto, weights: &dyn WeightSource) -> Result<Bytes> {
    let mut location = None;
    let mut offset = 0u64;
    let mut length = None;
    for e in &tp.external_data {
        let num = || {
            e.value.parse::<u64>().map_err(|_| {
                Error::Model(format!(
                    "tensor '{}': external_data {} = '{}' is not a number",
                    tp.name, e.key, e.value
                ))
            })
        };
        match e.key.as_str() {
            "location" => location = Some(e.value.as_str()),
            "offset" => offset = num()?,
            "length" => length = Some(num()?),
            _ => {}
        }
    }
    let location = location.ok_or_else(|| {
        Error::Model(format!(
            "tensor '{}' is external but has no location",
            tp.name
        ))
    })?;
    weights.read(location, offset, length)
}

/// Values stored in the typed repeated fields (`float_data`, `int32_data`, ...).
fn typed_fields(tp: &TensorProto, dtype: DType, shape: Vec<usize>) -> Result<Tensor> {
    fn from_i32<T: Number>(v: &[i32]) -> Vec<T> {
        v.iter().map(|&x| T::from_i128(x as i128)).collect()
    }
    match dtype {
        DType::F32 => Tensor::new(shape, tp.float_data.clone()),
        DType::F64 => Tensor::new(shape, tp.double_data.clone()),
        DType::I64 => Tensor::new(shape, tp.int64_data.clone()),
        DType::U64 => Tensor::new(shape, tp.uint64_data.clone()),
        DType::U32 => Tensor::new(
            shape,
            tp.uint64_data
                .iter()
                .map(|&x| x as u32)
                .collect::<Vec<u32>>(),
        ),
        DType::I32 => Tensor::new(shape, tp.int32_data.clone()),
        DType::I16 => Tensor::new(shape, from_i32::<i16>(&tp.int32_data)),
        DType::I8 => Tensor::new(shape, from_i32::<i8>(&tp.int32_data)),
        DType::U16 => Tensor::new(shape, from_i32::<u16>(&tp.int32_data)),
        DType::U8 => Tensor::new(shape, from_i32::<u8>(&tp.int32_data)),
        DType::Bool => Tensor::new(
            shape,
            tp.int32_data.iter().map(|&x| x != 0).collect::<Vec<bool>>(),
        ),
        // Half types are stored as their bit patterns in int32_data.
        DType::F16 => Tensor::new(
            shape,
            tp.int32_data
                .iter()
                .map(|&x| f16::from_bits(x as u16))
                .collect::<Vec<_>>(),
        ),
        DType::BF16 => Tensor::new(
            shape,
            tp.int32_data
                .iter()
                .map(|&x| bf16::from_bits(x as u16))
                .collect::<Vec<_>>(),
        ),
        DType::String => {
            let strings = tp
                .string_data
                .iter()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .collect::<Vec<String>>();
            Tensor::new(shape, strings)
        }
    }
}

/// Encode a tensor as a `TensorProto` with `raw_data` (strings in `string_data`).
pub fn tensor_to_proto(name: &str, t: &Tensor) -> Result<TensorProto> {
    let mut tp = TensorProto {
        name: name.to_string(),
        dims: t.shape().iter().map(|&d| d as i64).collect(),
        data_type: t.dtype().onnx_code(),
        ..Default::default()
    };
    if t.dtype() == DType::String {
        tp.string_data = t
            .as_slice::<String>()?
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        return Ok(tp);
    }
    if t.dtype() == DType::Bool {
        tp.raw_data = t
            .as_slice::<bool>()?
            .iter()
            .map(|&b| b as u8)
            .collect::<Vec<u8>>()
            .into();
        return Ok(tp);
    }
    let raw: Vec<u8> = dispatch_number!(t.dtype(), T => {
        bytemuck_bytes(t.as_slice::<T>()?)
    });
    tp.raw_data = raw.into();
    Ok(tp)
}

fn bytemuck_bytes<T: Copy + 'static>(v: &[T]) -> Vec<u8> {
    // SAFETY: T is one of the plain numeric element types (no padding, any bit
    // pattern valid as bytes); the byte slice lives no longer than `v`.
    let bytes =
        unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) };
    bytes.to_vec()
}

/// Decode a `SequenceProto` into a sequence value.
pub fn sequence_from_proto(sp: &proto::SequenceProto, weights: &dyn WeightSource) -> Result<Value> {
    let mut items = Vec::new();
    for t in &sp.tensor_values {
        items.push(Value::Tensor(tensor_from_proto(t, weights)?));
    }
    for s in &sp.sequence_values {
        items.push(sequence_from_proto(s, weights)?);
    }
    for o in &sp.optional_values {
        items.push(optional_from_proto(o, weights)?);
    }
    ensure!(
        sp.sparse_tensor_values.is_empty(),
        "sequences of sparse tensors are not supported"
    );
    Ok(Value::Sequence(items))
}

/// Decode an `OptionalProto` into an optional value.
pub fn optional_from_proto(op: &proto::OptionalProto, weights: &dyn WeightSource) -> Result<Value> {
    use proto::value_elem_type as k;
    let inner = match op.elem_type {
        k::TENSOR => op
            .tensor_value
            .as_ref()
            .map(|t| tensor_from_proto(t, weights).map(Value::Tensor)),
        k::SEQUENCE => op
            .sequence_value
            .as_ref()
            .map(|s| sequence_from_proto(s, weights)),
        k::OPTIONAL => op
            .optional_value
            .as_ref()
            .map(|o| optional_from_proto(o, weights)),
        0 => None,
        other => bail!("optional of element kind {other} is not supported"),
    };
    Ok(Value::Optional(inner.transpose()?.map(Box::new)))
}

/// Dense tensor from a `SparseTensorProto` (COO indices, linear or per-dimension).
pub fn sparse_to_dense(
    sp: &proto::SparseTensorProto,
    weights: &dyn WeightSource,
) -> Result<Tensor> {
    let values = sp
        .values
        .as_ref()
        .ok_or_else(|| Error::invalid("sparse tensor without values"))?;
    let values = tensor_from_proto(values, weights)?;
    let shape = sp
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| Error::invalid(format!("sparse tensor dimension {d}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let len = runnx_ir::tensor::checked_len(&shape)?;
    let nnz = values.len();
    let indices = match &sp.indices {
        Some(i) => tensor_from_proto(i, weights)?.to_i64_vec()?,
        None => vec![],
    };
    let linear: Vec<usize> = if indices.len() == nnz {
        indices.iter().map(|&i| i as usize).collect()
    } else if indices.len() == nnz * shape.len() {
        indices
            .chunks(shape.len().max(1))
            .map(|idx| {
                idx.iter().zip(&shape).fold(0usize, |acc, (&i, &d)| {
                    acc.wrapping_mul(d).wrapping_add(i as usize)
                })
            })
            .collect()
    } else {
        bail!(
            "sparse tensor has {} indices for {} values",
            indices.len(),
            nnz
        )
    };
    ensure!(
        linear.iter().all(|&i| i < len),
        "sparse tensor index out of range"
    );
    dispatch_number!(values.dtype(), T => {
        let src = values.as_slice::<T>()?;
        let mut out = vec![T::default(); len];
        for (&i, v) in linear.iter().zip(src) {
            out[i] = *v;
        }
        Tensor::new(shape, out)
    })
}
