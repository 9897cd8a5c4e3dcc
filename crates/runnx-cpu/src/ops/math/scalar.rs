//! Per-element arithmetic for every numeric type, with ONNX/numpy semantics and
//! no panics (integer overflow wraps, integer division by zero gives 0).

use runnx_ir::dtype::Number;

/// Arithmetic shared by the binary ops. Floats use IEEE semantics; integers wrap.
pub trait Arith: Number {
    fn add(self, b: Self) -> Self;
    fn sub(self, b: Self) -> Self;
    fn mul(self, b: Self) -> Self;
    fn div(self, b: Self) -> Self;
    /// Remainder with the sign of the dividend (C fmod).
    fn fmod(self, b: Self) -> Self;
    /// Remainder with the sign of the divisor (Python/numpy mod).
    fn pymod(self, b: Self) -> Self;
    /// Maximum; NaN if either is NaN.
    fn max_(self, b: Self) -> Self;
    fn min_(self, b: Self) -> Self;
    fn neg(self) -> Self;
    fn abs_(self) -> Self;
}

macro_rules! arith_int {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)]
            fn add(self, b: Self) -> Self { self.wrapping_add(b) }
            #[inline(always)]
            fn sub(self, b: Self) -> Self { self.wrapping_sub(b) }
            #[inline(always)]
            fn mul(self, b: Self) -> Self { self.wrapping_mul(b) }
            #[inline(always)]
            fn div(self, b: Self) -> Self { if b == 0 { 0 } else { self.wrapping_div(b) } }
            #[inline(always)]
            fn fmod(self, b: Self) -> Self { if b == 0 { 0 } else { self.wrapping_rem(b) } }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn pymod(self, b: Self) -> Self {
                if b == 0 {
                    return 0;
                }
                let r = self.wrapping_rem(b);
                if r != 0 && ((r < 0) != (b < 0)) { r.wrapping_add(b) } else { r }
            }
            #[inline(always)]
            fn max_(self, b: Self) -> Self { if self > b { self } else { b } }
            #[inline(always)]
            fn min_(self, b: Self) -> Self { if self < b { self } else { b } }
            #[inline(always)]
            fn neg(self) -> Self { (0 as $t).wrapping_sub(self) }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn abs_(self) -> Self { if self < 0 { (0 as $t).wrapping_sub(self) } else { self } }
        }
    )*};
}
arith_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! arith_float {
    ($($t:ty),*) => {$(
        impl Arith for $t {
            #[inline(always)]
            fn add(self, b: Self) -> Self { self + b }
            #[inline(always)]
            fn sub(self, b: Self) -> Self { self - b }
            #[inline(always)]
            fn mul(self, b: Self) -> Self { self * b }
            #[inline(always)]
            fn div(self, b: Self) -> Self { self / b }
            #[inline(always)]
            fn fmod(self, b: Self) -> Self { self % b }
            #[inline(always)]
            fn pymod(self, b: Self) -> Self {
                let r = self % b;
                if r != 0.0 && ((r < 0.0) != (b < 0.0)) { r + b } else { r }
            }
            #[inline(always)]
            fn max_(self, b: Self) -> Self {
                let m = if self > b { self } else { b };
                if self.is_nan() { self } else { m }
            }
            #[inline(always)]
            fn min_(self, b: Self) -> Self {
                let m = if self < b { self } else { b };
                if self.is_nan() { self } else { m }
            }
            #[inline(always)]
            fn neg(self) -> Self { -self }
            #[inline(always)]
            fn abs_(self) -> Self { self.abs() }
        }
    )*};
}
arith_float!(f32, f64);

/// Integer power with wrapping; negative exponents give the truncated result
/// (0 unless the base is 1 or -1).
pub trait IntPow: Number {
    fn ipow(self, e: i64) -> Self;
}

macro_rules! int_pow {
    ($($t:ty),*) => {$(
        impl IntPow for $t {
            #[allow(unused_comparisons)]
            fn ipow(self, e: i64) -> Self {
                if e < 0 {
                    return if self == 1 {
                        1
                    } else if self < 0 && self == (0 as $t).wrapping_sub(1) {
                        if e % 2 == 0 { 1 } else { self }
                    } else {
                        0
                    };
                }
                let (mut base, mut e, mut acc) = (self, e as u64, 1 as $t);
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
        }
    )*};
}
int_pow!(i8, i16, i32, i64, u8, u16, u32, u64);

/// Bit operations of the integer types.
pub trait Bits:
    Number
    + std::ops::BitAnd<Output = Self>
    + std::ops::BitOr<Output = Self>
    + std::ops::BitXor<Output = Self>
    + std::ops::Not<Output = Self>
{
    fn shl(self, b: Self) -> Self;
    fn shr(self, b: Self) -> Self;
}

macro_rules! bits {
    ($($t:ty),*) => {$(
        impl Bits for $t {
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn shl(self, b: Self) -> Self {
                if b < 0 || b as u64 >= <$t>::BITS as u64 { 0 } else { self << (b as u32) }
            }
            #[inline(always)]
            #[allow(unused_comparisons)]
            fn shr(self, b: Self) -> Self {
                if b < 0 || b as u64 >= <$t>::BITS as u64 { 0 } else { self >> (b as u32) }
            }
        }
    )*};
}
bits!(i8, i16, i32, i64, u8, u16, u32, u64);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_semantics() {
        assert_eq!(Arith::div(7i32, 0), 0);
        assert_eq!(Arith::div(i32::MIN, -1), i32::MIN);
        assert_eq!(Arith::div(-7i32, 2), -3);
        assert_eq!((-7i32).pymod(3), 2);
        assert_eq!(7i32.pymod(-3), -2);
        assert_eq!((-7i32).fmod(3), -1);
        assert_eq!(5u8.pymod(0), 0);
        assert_eq!((-5.5f32).pymod(2.0), 0.5);
        assert_eq!(2i32.ipow(10), 1024);
        assert_eq!((-1i64).ipow(-3), -1);
        assert_eq!(2i64.ipow(-1), 0);
        assert_eq!(3u8.ipow(i64::MAX), 3u8.ipow(i64::MAX));
        assert_eq!(1u8.shl(9), 0);
        assert!(f32::NAN.max_(1.0).is_nan() && 1.0f32.max_(f32::NAN).is_nan());
        assert_eq!(i8::MIN.abs_(), i8::MIN);
    }
}
