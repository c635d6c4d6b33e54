//! lib0 v1 primitives: a bounds-checked, allocation-free reader and the few writers the encoders need.

use super::bounds_error::BoundsError;

/// Largest integer a JavaScript peer can represent exactly (`Number.MAX_SAFE_INTEGER`).
pub(crate) const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// A lib0 varint never needs more than 8 bytes to carry 53 bits; anything longer is overlong.
const MAX_VARINT_BYTES: usize = 8;

/// A cursor over untrusted bytes. Every read checks what remains first, so no read can panic.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Fails with [`BoundsError::TrailingBytes`] unless every byte has been consumed.
    pub(crate) fn finish(&self) -> Result<(), BoundsError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(BoundsError::TrailingBytes { extra }),
        }
    }

    pub(crate) fn read_u8(&mut self) -> Result<u8, BoundsError> {
        let byte = *self.buf.get(self.pos).ok_or(BoundsError::Truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    pub(crate) fn read_exact(&mut self, len: usize) -> Result<&'a [u8], BoundsError> {
        if len > self.remaining() {
            return Err(BoundsError::Truncated);
        }
        let slice = self
            .buf
            .get(self.pos..self.pos + len)
            .ok_or(BoundsError::Truncated)?;
        self.pos += len;
        Ok(slice)
    }

    /// Unsigned LEB128 as lib0 writes it, limited to the 53 bits a JavaScript peer can produce.
    pub(crate) fn read_varuint(&mut self) -> Result<u64, BoundsError> {
        let mut value: u64 = 0;
        for index in 0..MAX_VARINT_BYTES {
            let byte = self.read_u8()?;
            value |= u64::from(byte & 0x7f) << (7 * index);
            if byte & 0x80 == 0 {
                return if value > MAX_SAFE_INTEGER {
                    Err(BoundsError::OverlongVarint)
                } else {
                    Ok(value)
                };
            }
        }
        Err(BoundsError::OverlongVarint)
    }

    /// A varuint for a field yrs stores as `u32`: larger values would silently wrap there.
    pub(crate) fn read_varuint_u32(&mut self, field: &'static str) -> Result<u32, BoundsError> {
        let value = self.read_varuint()?;
        u32::try_from(value).map_err(|_| BoundsError::OutOfRange { field, value })
    }

    /// lib0's signed varint (sign in bit 6 of the first byte); only its shape matters here.
    pub(crate) fn skip_varint(&mut self) -> Result<(), BoundsError> {
        let first = self.read_u8()?;
        let mut magnitude = u64::from(first & 0x3f);
        if first & 0x80 == 0 {
            return Ok(());
        }
        let mut shift = 6;
        for _ in 1..MAX_VARINT_BYTES {
            let byte = self.read_u8()?;
            magnitude |= u64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return if magnitude > MAX_SAFE_INTEGER {
                    Err(BoundsError::OverlongVarint)
                } else {
                    Ok(())
                };
            }
        }
        Err(BoundsError::OverlongVarint)
    }

    /// A varuint count of elements that each occupy at least `min_element_bytes` bytes, checked
    /// against what remains so that a decoder pre-sizing a collection by it stays proportional
    /// to the input.
    pub(crate) fn read_count(
        &mut self,
        what: &'static str,
        min_element_bytes: u64,
    ) -> Result<u32, BoundsError> {
        let count = self.read_varuint()?;
        let needed = count.saturating_mul(min_element_bytes);
        let remaining = u64::try_from(self.remaining()).unwrap_or(u64::MAX);
        if needed > remaining {
            return Err(BoundsError::CountExceedsInput {
                what,
                count,
                remaining: self.remaining(),
            });
        }
        u32::try_from(count).map_err(|_| BoundsError::OutOfRange {
            field: what,
            value: count,
        })
    }

    /// A varuint length followed by that many bytes.
    pub(crate) fn read_var_bytes(&mut self) -> Result<&'a [u8], BoundsError> {
        let len = self.read_varuint()?;
        let remaining = self.remaining();
        match usize::try_from(len) {
            Ok(len) if len <= remaining && u32::try_from(len).is_ok() => self.read_exact(len),
            _ => Err(BoundsError::LengthExceedsInput { len, remaining }),
        }
    }

    pub(crate) fn read_string(&mut self) -> Result<&'a str, BoundsError> {
        let bytes = self.read_var_bytes()?;
        std::str::from_utf8(bytes).map_err(|_| BoundsError::InvalidUtf8)
    }
}

pub(crate) fn write_varuint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

pub(crate) fn write_var_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_varuint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}
