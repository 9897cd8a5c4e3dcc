//! Tensors across the JavaScript boundary.
//!
//! In: a numeric feed arrives as a `Uint8Array` view of the caller's TypedArray memory and
//! becomes a runnx tensor over that memory without a copy (`Bytes::from_owner` keeps the
//! JS reference alive; napi-rs releases it on the JS thread wherever the last owner drops).
//! Booleans are the exception: runnx stores `bool`, so they are converted (one byte each).
//!
//! Out: an output tensor's vector is handed to JavaScript as an external ArrayBuffer
//! (freed when V8 collects it). `Tensor::into_vec` copies only when the storage is shared
//! (a constant of the plan) or a view (of the model buffer or of a feed), so JavaScript
//! never receives writable memory that the engine still reads.

use bytes::Bytes;
use napi::bindgen_prelude::{Either, Uint8Array};
use runnx_core::{DType, Error, Tensor, Value};

/// A feed as the JavaScript layer sends it.
#[napi(object)]
pub struct Feed {
    pub name: String,
    /// onnxruntime's type name (`float32`, `int64`, ...).
    #[napi(js_name = "type")]
    pub kind: String,
    pub dims: Vec<f64>,
    /// The bytes of the TypedArray (numeric and bool), or the strings.
    pub data: Either<Uint8Array, Vec<String>>,
}

/// An output as the JavaScript layer receives it.
#[napi(object)]
pub struct Output {
    pub name: String,
    #[napi(js_name = "type")]
    pub kind: String,
    pub dims: Vec<f64>,
    pub data: Either<Uint8Array, Vec<String>>,
}

/// onnxruntime-js's name of an element type (`Tensor.Type`); bfloat16 has none there.
pub fn js_type(dtype: DType) -> Option<&'static str> {
    Some(match dtype {
        DType::F32 => "float32",
        DType::U8 => "uint8",
        DType::I8 => "int8",
        DType::U16 => "uint16",
        DType::I16 => "int16",
        DType::I32 => "int32",
        DType::I64 => "int64",
        DType::String => "string",
        DType::Bool => "bool",
        DType::F16 => "float16",
        DType::F64 => "float64",
        DType::U32 => "uint32",
        DType::U64 => "uint64",
        DType::BF16 => return None,
    })
}

fn dtype_of(name: &str) -> Option<DType> {
    DType::ALL.into_iter().find(|&d| js_type(d) == Some(name))
}

/// Dims from JavaScript numbers: non-negative integers only.
fn shape_of(input: &str, dims: &[f64]) -> Result<Vec<usize>, Error> {
    dims.iter()
        .map(|&d| {
            if d >= 0.0 && d.fract() == 0.0 && d <= (1u64 << 53) as f64 {
                Ok(d as usize)
            } else {
                Err(Error::Input(format!(
                    "input '{input}': dims must be non-negative integers, got {dims:?}"
                )))
            }
        })
        .collect()
}

/// A JavaScript feed as an engine value (no copy for numeric data).
pub fn feed_to_value(feed: Feed) -> Result<(String, Value), Error> {
    let name = feed.name;
    let dtype = dtype_of(&feed.kind).ok_or_else(|| {
        Error::Input(format!(
            "input '{name}': unknown tensor type '{}'",
            feed.kind
        ))
    })?;
    let shape = shape_of(&name, &feed.dims)?;
    let count = runnx_core::ir::tensor::checked_len(&shape)
        .map_err(|e| Error::Input(format!("input '{name}': {e}")))?;
    let length_error = |got: usize| {
        Error::Input(format!(
            "input '{name}': dims {shape:?} need {count} elements, the data has {got}"
        ))
    };
    let tensor = match (dtype, feed.data) {
        (DType::String, Either::B(strings)) => {
            if strings.len() != count {
                return Err(length_error(strings.len()));
            }
            Tensor::new(shape, strings)?
        }
        (DType::String, Either::A(_)) | (_, Either::B(_)) => {
            return Err(Error::Input(format!(
                "input '{name}': data does not match type '{}'",
                feed.kind
            )))
        }
        (_, Either::A(bytes)) => {
            let size = dtype.size();
            if bytes.len() % size != 0 || bytes.len() / size != count {
                return Err(length_error(bytes.len() / size));
            }
            if dtype == DType::Bool {
                Tensor::new(shape, bytes.iter().map(|&b| b != 0).collect::<Vec<bool>>())?
            } else {
                // TypedArrays are aligned to their element size, so this is a view.
                Tensor::from_le_bytes(dtype, shape, Bytes::from_owner(bytes))?
            }
        }
    };
    Ok((name, Value::Tensor(tensor)))
}

/// An engine output as a JavaScript output record.
pub fn value_to_output(name: String, value: Value) -> Result<Output, Error> {
    let tensor = match value {
        Value::Tensor(t) => t,
        other => {
            return Err(Error::Unsupported(format!(
                "output '{name}' is a {}; only tensor outputs can be returned to JavaScript",
                other.kind()
            )))
        }
    };
    let dtype = tensor.dtype();
    let kind = js_type(dtype).ok_or_else(|| no_js_type(&name, dtype))?;
    let dims = tensor.shape().iter().map(|&d| d as f64).collect();
    let data = match dtype {
        DType::String => Either::B(tensor.into_vec::<String>()?),
        DType::F32 => Either::A(external(tensor.into_vec::<f32>()?)),
        DType::U8 => Either::A(external(tensor.into_vec::<u8>()?)),
        DType::I8 => Either::A(external(tensor.into_vec::<i8>()?)),
        DType::U16 => Either::A(external(tensor.into_vec::<u16>()?)),
        DType::I16 => Either::A(external(tensor.into_vec::<i16>()?)),
        DType::I32 => Either::A(external(tensor.into_vec::<i32>()?)),
        DType::I64 => Either::A(external(tensor.into_vec::<i64>()?)),
        DType::Bool => Either::A(external(tensor.into_vec::<bool>()?)),
        DType::F16 => Either::A(external(tensor.into_vec::<half::f16>()?)),
        DType::F64 => Either::A(external(tensor.into_vec::<f64>()?)),
        DType::U32 => Either::A(external(tensor.into_vec::<u32>()?)),
        DType::U64 => Either::A(external(tensor.into_vec::<u64>()?)),
        DType::BF16 => return Err(no_js_type(&name, dtype)),
    };
    Ok(Output {
        name,
        kind: kind.to_string(),
        dims,
        data,
    })
}

fn no_js_type(name: &str, dtype: DType) -> Error {
    Error::Unsupported(format!(
        "output '{name}' is {dtype}, which has no JavaScript tensor type"
    ))
}

/// The bytes of `data` as a Uint8Array that owns the vector (freed by V8's finalizer).
fn external<T: bytemuck::NoUninit + 'static>(data: Vec<T>) -> Uint8Array {
    if data.is_empty() {
        return Uint8Array::new(Vec::new());
    }
    let len = std::mem::size_of_val(data.as_slice());
    let ptr = bytemuck::cast_slice::<T, u8>(&data).as_ptr() as *mut u8;
    // SAFETY: `ptr..ptr+len` is the vector's heap buffer; the vector moves into the
    // finalizer, so the buffer lives (and is not moved) until V8 releases the ArrayBuffer.
    unsafe { Uint8Array::with_external_data(ptr, len, move |_, _| drop(data)) }
}
