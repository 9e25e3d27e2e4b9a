//! The wire format's primitives: `Writer` appends little-endian integers, length-prefixed bytes
//! and f32 arrays to one buffer; `Reader` takes them back, checking every length against what is
//! left, so a short or foreign buffer is an error naming the byte, never a panic or a huge alloc.

use crate::error::{Error, Result};
use crate::output::HeadSwitch;

// f32 arrays are copied as the machine's bytes; wasm32 and every target we build are little-endian.
const _: () = assert!(cfg!(target_endian = "little"), "the wire format copies f32 arrays as little-endian bytes");

pub(super) struct Writer {
    pub(super) buf: Vec<u8>,
}

impl Writer {
    pub(super) fn new(kind: u8, id: u32, capacity: usize) -> Self {
        let mut w = Writer { buf: Vec::with_capacity(capacity + 5) };
        w.u8(kind);
        w.u32(id);
        w
    }
    pub(super) fn u8(&mut self, x: u8) {
        self.buf.push(x);
    }
    pub(super) fn u32(&mut self, x: u32) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    pub(super) fn u64(&mut self, x: u64) {
        self.buf.extend_from_slice(&x.to_le_bytes());
    }
    pub(super) fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
    pub(super) fn str(&mut self, s: &str) {
        self.bytes(s.as_bytes());
    }
    pub(super) fn u32s(&mut self, xs: &[u32]) {
        self.u32(xs.len() as u32);
        self.buf.extend_from_slice(bytemuck::cast_slice(xs));
    }
    pub(super) fn usizes(&mut self, xs: &[usize]) {
        self.u32(xs.len() as u32);
        xs.iter().for_each(|&x| self.u32(x as u32));
    }
    pub(super) fn f32s(&mut self, xs: &[f32]) {
        self.u64(xs.len() as u64);
        self.buf.extend_from_slice(bytemuck::cast_slice(xs));
    }
    pub(super) fn switch(&mut self, s: HeadSwitch) {
        for x in [s.layer, s.inner, s.head] {
            self.u32(x as u32);
        }
    }
    pub(super) fn opt<T>(&mut self, x: Option<T>, put: impl FnOnce(&mut Self, T)) {
        self.u8(x.is_some() as u8);
        if let Some(x) = x {
            put(self, x);
        }
    }
}

pub(super) struct Reader<'a> {
    buf: &'a [u8],
    at: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(super) fn new(buf: &'a [u8], what: &'static str) -> Self {
        Reader { buf, at: 0, what }
    }
    pub(super) fn bad(&self, expected: String) -> Error {
        Error::Io(format!("{} is malformed at byte {} of {}: expected {expected}", self.what, self.at, self.buf.len()))
    }
    pub(super) fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let left = self.buf.len() - self.at;
        if n > left {
            return Err(self.bad(format!("{n} bytes of {what}, but {left} are left")));
        }
        let out = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }
    pub(super) fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1, "a byte")?[0])
    }
    pub(super) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4, "a u32")?.try_into().expect("4 bytes")))
    }
    pub(super) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8, "a u64")?.try_into().expect("8 bytes")))
    }
    /// A length that must fit in what is left, `size` bytes an element.
    pub(super) fn len(&mut self, n: u64, size: usize, what: &str) -> Result<usize> {
        let left = (self.buf.len() - self.at) / size;
        usize::try_from(n).ok().filter(|&n| n <= left).ok_or_else(|| self.bad(format!("{n} {what}, but room for {left} is left")))
    }
    pub(super) fn bytes(&mut self) -> Result<&'a [u8]> {
        let n = self.u64()?;
        let n = self.len(n, 1, "bytes")?;
        self.take(n, "bytes")
    }
    pub(super) fn string(&mut self) -> Result<String> {
        let b = self.bytes()?;
        String::from_utf8(b.to_vec()).map_err(|_| self.bad("UTF-8 text".into()))
    }
    pub(super) fn u32s(&mut self) -> Result<Vec<u32>> {
        let n = self.u32()?;
        let n = self.len(n.into(), 4, "u32s")?;
        Ok(bytemuck::pod_collect_to_vec(self.take(4 * n, "u32s")?))
    }
    pub(super) fn usizes(&mut self) -> Result<Vec<usize>> {
        Ok(self.u32s()?.into_iter().map(|x| x as usize).collect())
    }
    pub(super) fn f32s(&mut self) -> Result<Vec<f32>> {
        let n = self.u64()?;
        let n = self.len(n, 4, "floats")?;
        // pod_collect_to_vec copies into an aligned Vec<f32>: the buffer's offset may be odd.
        Ok(bytemuck::pod_collect_to_vec(self.take(4 * n, "floats")?))
    }
    pub(super) fn switch(&mut self) -> Result<HeadSwitch> {
        Ok(HeadSwitch { layer: self.u32()? as usize, inner: self.u32()? as usize, head: self.u32()? as usize })
    }
    pub(super) fn opt<T>(&mut self, get: impl FnOnce(&mut Self) -> Result<T>) -> Result<Option<T>> {
        match self.u8()? {
            0 => Ok(None),
            1 => get(self).map(Some),
            k => Err(self.bad(format!("0 (absent) or 1 (present), found {k}"))),
        }
    }
    pub(super) fn end(&self) -> Result<()> {
        match self.buf.len() - self.at {
            0 => Ok(()),
            n => Err(self.bad(format!("the end of the message, but {n} bytes follow"))),
        }
    }
}
