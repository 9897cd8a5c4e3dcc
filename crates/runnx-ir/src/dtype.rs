//! Element types: the ONNX data type codes and the Rust types that carry them.

use crate::tensor::Storage;
use half::{bf16, f16};
use std::fmt::Debug;

/// The element type of a tensor. Codes follow ONNX's `TensorProto.DataType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    U8,
    I8,
    U16,
    I16,
    I32,
    I64,
    String,
    Bool,
    F16,
    F64,
    U32,
    U64,
    BF16,
}

impl DType {
    pub const ALL: [DType; 14] = [
        DType::F32,
        DType::U8,
        DType::I8,
        DType::U16,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::String,
        DType::Bool,
        DType::F16,
        DType::F64,
        DType::U32,
        DType::U64,
        DType::BF16,
    ];

    /// The ONNX `TensorProto.DataType` code.
    pub fn onnx_code(self) -> i32 {
        match self {
            DType::F32 => 1,
            DType::U8 => 2,
            DType::I8 => 3,
            DType::U16 => 4,
            DType::I16 => 5,
            DType::I32 => 6,
            DType::I64 => 7,
            DType::String => 8,
            DType::Bool => 9,
            DType::F16 => 10,
            DType::F64 => 11,
            DType::U32 => 12,
            DType::U64 => 13,
            DType::BF16 => 16,
        }
    }

    pub fn from_onnx_code(code: i32) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.onnx_code() == code)
    }

    /// Name of an ONNX type code, including the ones runnx does not support.
    pub fn onnx_name(code: i32) -> &'static str {
        const NAMES: [&str; 27] = [
            "undefined",
            "float",
            "uint8",
            "int8",
            "uint16",
            "int16",
            "int32",
            "int64",
            "string",
            "bool",
            "float16",
            "double",
            "uint32",
            "uint64",
            "complex64",
            "complex128",
            "bfloat16",
            "float8e4m3fn",
            "float8e4m3fnuz",
            "float8e5m2",
            "float8e5m2fnuz",
            "uint4",
            "int4",
            "float4e2m1",
            "float8e8m0",
            "uint2",
            "int2",
        ];
        usize::try_from(code)
            .ok()
            .and_then(|i| NAMES.get(i))
            .copied()
            .unwrap_or("unknown")
    }

    pub fn name(self) -> &'static str {
        DType::onnx_name(self.onnx_code())
    }

    /// Bytes per element (0 for strings, whose size is not fixed).
    pub fn size(self) -> usize {
        match self {
            DType::U8 | DType::I8 | DType::Bool => 1,
            DType::U16 | DType::I16 | DType::F16 | DType::BF16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
            DType::String => 0,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::F32 | DType::F64 | DType::F16 | DType::BF16)
    }

    pub fn is_int(self) -> bool {
        matches!(
            self,
            DType::U8
                | DType::I8
                | DType::U16
                | DType::I16
                | DType::I32
                | DType::I64
                | DType::U32
                | DType::U64
        )
    }

    pub fn is_signed(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64) || self.is_float()
    }

    pub fn is_numeric(self) -> bool {
        self.is_float() || self.is_int()
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A Rust type that can be the element of a tensor.
pub trait Elem: Clone + Default + Send + Sync + Debug + PartialEq + 'static {
    const DTYPE: DType;
    #[doc(hidden)]
    fn wrap(v: Vec<Self>) -> Storage;
    #[doc(hidden)]
    fn slice(s: &Storage) -> Option<&[Self]>;
    #[doc(hidden)]
    fn slice_mut(s: &mut Storage) -> Option<&mut [Self]>;
    #[doc(hidden)]
    fn unwrap(s: Storage) -> Result<Vec<Self>, Storage>;
}

/// A numeric element, convertible to and from the widest types so that casts and
/// generic kernels can be written once.
pub trait Number: Elem + Copy + PartialOrd {
    const IS_FLOAT: bool;
    fn to_f64(self) -> f64;
    fn to_i128(self) -> i128;
    /// Float to this type: saturating for integers (NaN becomes 0), rounding for floats.
    fn from_f64(v: f64) -> Self;
    /// Integer to this type: two's complement wrapping for integers.
    fn from_i128(v: i128) -> Self;
    fn zero() -> Self;
    fn one() -> Self;
    /// Read one element from its little-endian bytes (`size` bytes, any alignment).
    fn read_le(b: &[u8]) -> Self;
}

macro_rules! elem_pod {
    ($t:ty, $variant:ident) => {
        impl Elem for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(v: Vec<Self>) -> Storage {
                Storage::$variant(v)
            }
            fn slice(s: &Storage) -> Option<&[Self]> {
                match s {
                    Storage::$variant(v) => Some(v),
                    Storage::Mapped(b) => bytemuck::try_cast_slice(b).ok(),
                    _ => None,
                }
            }
            fn slice_mut(s: &mut Storage) -> Option<&mut [Self]> {
                match s {
                    Storage::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn unwrap(s: Storage) -> Result<Vec<Self>, Storage> {
                match s {
                    Storage::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
        }
    };
}

macro_rules! number_int {
    ($t:ty, $variant:ident) => {
        elem_pod!($t, $variant);
        impl Number for $t {
            const IS_FLOAT: bool = false;
            fn to_f64(self) -> f64 {
                self as f64
            }
            fn to_i128(self) -> i128 {
                self as i128
            }
            fn from_f64(v: f64) -> Self {
                v as Self
            }
            fn from_i128(v: i128) -> Self {
                v as Self
            }
            fn zero() -> Self {
                0
            }
            fn one() -> Self {
                1
            }
            fn read_le(b: &[u8]) -> Self {
                bytemuck::pod_read_unaligned(b)
            }
        }
    };
}

number_int!(u8, U8);
number_int!(i8, I8);
number_int!(u16, U16);
number_int!(i16, I16);
number_int!(i32, I32);
number_int!(i64, I64);
number_int!(u32, U32);
number_int!(u64, U64);

macro_rules! number_float {
    ($t:ty, $variant:ident, $to:expr, $from:expr) => {
        elem_pod!($t, $variant);
        impl Number for $t {
            const IS_FLOAT: bool = true;
            fn to_f64(self) -> f64 {
                $to(self)
            }
            fn to_i128(self) -> i128 {
                $to(self) as i128
            }
            fn from_f64(v: f64) -> Self {
                $from(v)
            }
            fn from_i128(v: i128) -> Self {
                $from(v as f64)
            }
            fn zero() -> Self {
                $from(0.0)
            }
            fn one() -> Self {
                $from(1.0)
            }
            fn read_le(b: &[u8]) -> Self {
                bytemuck::pod_read_unaligned(b)
            }
        }
    };
}

number_float!(f32, F32, |x: f32| x as f64, |v: f64| v as f32);
number_float!(f64, F64, |x: f64| x, |v: f64| v);
number_float!(f16, F16, |x: f16| x.to_f64(), f16::from_f64);
number_float!(bf16, BF16, |x: bf16| x.to_f64(), bf16::from_f64);

impl Elem for bool {
    const DTYPE: DType = DType::Bool;
    fn wrap(v: Vec<Self>) -> Storage {
        Storage::Bool(v)
    }
    fn slice(s: &Storage) -> Option<&[Self]> {
        match s {
            Storage::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn slice_mut(s: &mut Storage) -> Option<&mut [Self]> {
        match s {
            Storage::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn unwrap(s: Storage) -> Result<Vec<Self>, Storage> {
        match s {
            Storage::Bool(v) => Ok(v),
            other => Err(other),
        }
    }
}

impl Number for bool {
    const IS_FLOAT: bool = false;
    fn to_f64(self) -> f64 {
        self as u8 as f64
    }
    fn to_i128(self) -> i128 {
        self as i128
    }
    fn from_f64(v: f64) -> Self {
        v != 0.0
    }
    fn from_i128(v: i128) -> Self {
        v != 0
    }
    fn zero() -> Self {
        false
    }
    fn one() -> Self {
        true
    }
    fn read_le(b: &[u8]) -> Self {
        b.first().is_some_and(|&x| x != 0)
    }
}

impl Elem for String {
    const DTYPE: DType = DType::String;
    fn wrap(v: Vec<Self>) -> Storage {
        Storage::Str(v)
    }
    fn slice(s: &Storage) -> Option<&[Self]> {
        match s {
            Storage::Str(v) => Some(v),
            _ => None,
        }
    }
    fn slice_mut(s: &mut Storage) -> Option<&mut [Self]> {
        match s {
            Storage::Str(v) => Some(v),
            _ => None,
        }
    }
    fn unwrap(s: Storage) -> Result<Vec<Self>, Storage> {
        match s {
            Storage::Str(v) => Ok(v),
            other => Err(other),
        }
    }
}

/// Run `$body` with `$T` bound to the Rust type of `$dtype`, for every type
/// (strings included). Evaluates to the body's value.
#[macro_export]
macro_rules! dispatch_all {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::String => { type $T = String; $body }
            other => $crate::dispatch_number!(other, $T => $body),
        }
    };
}

/// Like `dispatch_all!` for the numeric types and bool (no strings; a string
/// dtype makes the whole expression an `Err(Error::Invalid)` early return).
#[macro_export]
macro_rules! dispatch_number {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::F16 => {
                type $T = $crate::f16;
                $body
            }
            $crate::DType::BF16 => {
                type $T = $crate::bf16;
                $body
            }
            $crate::DType::I8 => {
                type $T = i8;
                $body
            }
            $crate::DType::I16 => {
                type $T = i16;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::U16 => {
                type $T = u16;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::DType::String => $crate::bail!("string tensors are not supported here"),
        }
    };
}

/// Like `dispatch_number!` for the float types only.
#[macro_export]
macro_rules! dispatch_float {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            $crate::DType::F16 => {
                type $T = $crate::f16;
                $body
            }
            $crate::DType::BF16 => {
                type $T = $crate::bf16;
                $body
            }
            other => $crate::bail!("expected a float tensor, got {}", other),
        }
    };
}

/// Like `dispatch_number!` for the integer types only.
#[macro_export]
macro_rules! dispatch_int {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::I8 => {
                type $T = i8;
                $body
            }
            $crate::DType::I16 => {
                type $T = i16;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::U16 => {
                type $T = u16;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            other => $crate::bail!("expected an integer tensor, got {}", other),
        }
    };
}
