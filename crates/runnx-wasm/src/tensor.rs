//! Values across the boundary, in onnxruntime's JavaScript shapes: a tensor is
//! `{ type, data, dims }` with `type` one of onnxruntime's names ('float32',
//! 'int64', 'bool', 'float16', ...) and `data` the typed array onnxruntime uses for
//! it (BigInt64Array for int64, Uint8Array for bool, Uint16Array or Float16Array
//! for float16, an array of strings for string). A sequence is an array of values,
//! an empty optional is `null`.

use bytes::Bytes;
use js_sys::{Array, Reflect, Uint8Array};
use runnx_core::ir::graph::TypeInfo;
use runnx_core::{DType, Error, Result, Tensor, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Each element type: onnxruntime's name, and the typed arrays that may hold it
/// (the first one is used for outputs).
const TYPES: [(DType, &str, &[&str]); 13] = [
    (DType::F32, "float32", &["Float32Array"]),
    (DType::F64, "float64", &["Float64Array"]),
    (DType::F16, "float16", &["Uint16Array", "Float16Array"]),
    (DType::BF16, "bfloat16", &["Uint16Array"]),
    (DType::I8, "int8", &["Int8Array"]),
    (DType::U8, "uint8", &["Uint8Array", "Uint8ClampedArray"]),
    (DType::I16, "int16", &["Int16Array"]),
    (DType::U16, "uint16", &["Uint16Array"]),
    (DType::I32, "int32", &["Int32Array"]),
    (DType::U32, "uint32", &["Uint32Array"]),
    (DType::I64, "int64", &["BigInt64Array"]),
    (DType::U64, "uint64", &["BigUint64Array"]),
    (DType::Bool, "bool", &["Uint8Array"]),
];

/// onnxruntime's name of an element type.
pub fn type_name(dt: DType) -> &'static str {
    if dt == DType::String {
        return "string";
    }
    TYPES.iter().find(|t| t.0 == dt).map_or("unknown", |t| t.1)
}

fn dtype_of(name: &str) -> Option<DType> {
    if name == "string" {
        return Some(DType::String);
    }
    TYPES.iter().find(|t| t.1 == name).map(|t| t.0)
}

fn typed_arrays(dt: DType) -> &'static [&'static str] {
    TYPES.iter().find(|t| t.0 == dt).map_or(&[], |t| t.2)
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn bad(what: impl std::fmt::Display) -> Error {
    Error::Input(what.to_string())
}

/// A JavaScript value as the value type `ty` declares (`what` names it in errors).
pub fn from_js(v: &JsValue, ty: &TypeInfo, what: &str) -> Result<Value> {
    match ty {
        TypeInfo::Optional(inner) => {
            if v.is_null() || v.is_undefined() {
                Ok(Value::Optional(None))
            } else {
                Ok(Value::Optional(Some(Box::new(from_js(v, inner, what)?))))
            }
        }
        TypeInfo::Sequence(item) => {
            let arr = v
                .dyn_ref::<Array>()
                .ok_or_else(|| bad(format!("{what}: expected an array (a sequence)")))?;
            arr.iter()
                .enumerate()
                .map(|(i, x)| from_js(&x, item, &format!("{what}[{i}]")))
                .collect::<Result<Vec<_>>>()
                .map(Value::Sequence)
        }
        TypeInfo::Tensor { .. } => tensor_from_js(v, what).map(Value::Tensor),
        other => Err(Error::Unsupported(format!(
            "{what}: values of type {other} cannot be passed from JavaScript"
        ))),
    }
}

/// `{ type, data, dims }` to a tensor; the type, the typed array and the element
/// count must agree.
pub fn tensor_from_js(v: &JsValue, what: &str) -> Result<Tensor> {
    if !v.is_object() {
        return Err(bad(format!(
            "{what}: expected a tensor {{ type, data, dims }}"
        )));
    }
    let type_str = get(v, "type")
        .as_string()
        .ok_or_else(|| bad(format!("{what}: the tensor has no 'type' string")))?;
    let dt = dtype_of(&type_str)
        .ok_or_else(|| bad(format!("{what}: unknown tensor type '{type_str}'")))?;
    let dims_js = get(v, "dims");
    let dims_arr = dims_js
        .dyn_ref::<Array>()
        .ok_or_else(|| bad(format!("{what}: 'dims' must be an array of sizes")))?;
    let shape = dims_arr
        .iter()
        .map(|d| {
            d.as_f64()
                .filter(|x| *x >= 0.0 && x.fract() == 0.0 && *x <= u32::MAX as f64)
                .map(|x| x as usize)
                .ok_or_else(|| bad(format!("{what}: bad dimension {d:?} in 'dims'")))
        })
        .collect::<Result<Vec<usize>>>()?;
    let len = runnx_core::ir::tensor::checked_len(&shape)?;
    let data = get(v, "data");
    if dt == DType::String {
        let arr = data
            .dyn_ref::<Array>()
            .ok_or_else(|| bad(format!("{what}: string data must be an array of strings")))?;
        let strings = arr
            .iter()
            .map(|s| {
                s.as_string()
                    .ok_or_else(|| bad(format!("{what}: string data holds a non-string")))
            })
            .collect::<Result<Vec<String>>>()?;
        return Tensor::new(shape, strings).map_err(|e| bad(format!("{what}: {e}")));
    }
    let ctor = get(&get(&data, "constructor"), "name")
        .as_string()
        .unwrap_or_default();
    let allowed = typed_arrays(dt);
    if !allowed.contains(&ctor.as_str()) {
        return Err(bad(format!(
            "{what}: '{type_str}' data must be a {}, got {}",
            allowed.join(" or "),
            if ctor.is_empty() {
                "no typed array"
            } else {
                &ctor
            }
        )));
    }
    let byte_len = get(&data, "byteLength").as_f64().unwrap_or(0.0) as usize;
    if byte_len != len.saturating_mul(dt.size()) {
        return Err(bad(format!(
            "{what}: dims {shape:?} need {len} elements, the data has {}",
            byte_len / dt.size().max(1)
        )));
    }
    let offset = get(&data, "byteOffset").as_f64().unwrap_or(0.0) as u32;
    let view =
        Uint8Array::new_with_byte_offset_and_length(&get(&data, "buffer"), offset, byte_len as u32);
    let mut bytes = vec![0u8; byte_len];
    view.copy_to(&mut bytes);
    Tensor::from_le_bytes(dt, shape, Bytes::from(bytes))
}

/// A value as JavaScript sees it (see the module comment).
pub fn to_js(v: &Value) -> Result<JsValue> {
    match v {
        Value::Tensor(t) => tensor_to_js(t),
        Value::Sequence(items) => {
            let arr = Array::new();
            for item in items {
                arr.push(&to_js(item)?);
            }
            Ok(arr.into())
        }
        Value::Optional(None) => Ok(JsValue::NULL),
        Value::Optional(Some(inner)) => to_js(inner),
    }
}

pub fn tensor_to_js(t: &Tensor) -> Result<JsValue> {
    let dims = Array::new();
    for &d in t.shape() {
        dims.push(&JsValue::from_f64(d as f64));
    }
    let data: JsValue = if t.dtype() == DType::String {
        let arr = Array::new();
        for s in t.as_slice::<String>()? {
            arr.push(&JsValue::from_str(s));
        }
        arr.into()
    } else {
        typed_array(t)?
    };
    let obj = js_sys::Object::new();
    for (k, v) in [
        ("type", JsValue::from_str(type_name(t.dtype()))),
        ("data", data),
        ("dims", dims.into()),
    ] {
        Reflect::set(&obj, &JsValue::from_str(k), &v).map_err(|_| bad("cannot build a tensor"))?;
    }
    Ok(obj.into())
}

/// The tensor's elements copied into a new typed array of onnxruntime's kind.
fn typed_array(t: &Tensor) -> Result<JsValue> {
    let bools;
    let bytes: &[u8] = match t.dtype() {
        DType::Bool => {
            bools = t
                .as_slice::<bool>()?
                .iter()
                .map(|&b| u8::from(b))
                .collect::<Vec<u8>>();
            &bools
        }
        dt => {
            runnx_core::ir::dispatch_number!(dt, T => bytemuck::cast_slice::<T, u8>(t.as_slice::<T>()?))
        }
    };
    let buffer = js_sys::ArrayBuffer::new(bytes.len() as u32);
    Uint8Array::new(&buffer).copy_from(bytes);
    let name = typed_arrays(t.dtype()).first().copied().unwrap_or_default();
    let b = &buffer;
    Ok(match name {
        "Float32Array" => js_sys::Float32Array::new(b).into(),
        "Float64Array" => js_sys::Float64Array::new(b).into(),
        "Int8Array" => js_sys::Int8Array::new(b).into(),
        "Uint8Array" => Uint8Array::new(b).into(),
        "Int16Array" => js_sys::Int16Array::new(b).into(),
        "Uint16Array" => js_sys::Uint16Array::new(b).into(),
        "Int32Array" => js_sys::Int32Array::new(b).into(),
        "Uint32Array" => js_sys::Uint32Array::new(b).into(),
        "BigInt64Array" => js_sys::BigInt64Array::new(b).into(),
        "BigUint64Array" => js_sys::BigUint64Array::new(b).into(),
        _ => return Err(bad(format!("no typed array holds {}", t.dtype()))),
    })
}
