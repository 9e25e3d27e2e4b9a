//! A minimal PNG encoder (8-bit RGB, zlib "stored" blocks: no compression) for the matrices an
//! exported SVG embeds as images: a `T × T` heatmap is T² pixels instead of T² `<rect>`s, so the
//! model view of a long sentence stays a reasonable file. Rasterising a whole figure is the
//! browser's job (`ui::export`); this only ever encodes small matrices.

use crate::view_model::attention::colour::{heat_rgba, max_value};

/// The 8 bytes every PNG starts with.
pub const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// A `t × t` matrix as viridis pixels scaled 0 → its largest value (as the page paints it).
pub fn heat_png(m: &[f32], t: usize) -> Vec<u8> {
    let rgba = heat_rgba(m, max_value(m));
    let rgb: Vec<u8> = rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
    encode_rgb(t as u32, t as u32, &rgb)
}

/// PNG of `width × height` RGB pixels (row-major, 3 bytes each); missing pixels are black.
pub fn encode_rgb(width: u32, height: u32, rgb: &[u8]) -> Vec<u8> {
    let row = width as usize * 3;
    // Each scanline: filter type 0 (none), then the row.
    let mut raw = Vec::with_capacity((row + 1) * height as usize);
    for y in 0..height as usize {
        raw.push(0);
        let start = (y * row).min(rgb.len());
        let end = (start + row).min(rgb.len());
        raw.extend_from_slice(&rgb[start..end]);
        raw.resize(raw.len() + row - (end - start), 0);
    }
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit, RGB, deflate, adaptive filters, no interlace
    let mut out = SIGNATURE.to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of uncompressed deflate blocks (at most 65535 bytes each).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(65535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(b) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let n = b.len() as u16;
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(b);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn png_has_signature_header_and_end() {
        let png = encode_rgb(2, 3, &[255; 18]);
        assert_eq!(&png[..8], &SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 2);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 3);
        assert_eq!(&png[png.len() - 12..], &[0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xae, 0x42, 0x60, 0x82]);
        // Scanlines: 3 × (filter byte + 6) = 21 bytes in one final stored block.
        let idat = &png[33 + 8..];
        assert_eq!(&idat[..7], &[0x78, 0x01, 1, 21, 0, !21u8, 0xff]);
    }

    #[test]
    fn large_images_split_into_stored_blocks() {
        let z = zlib_stored(&vec![7u8; 70_000]);
        assert_eq!(z[2], 0, "first block is not final");
        assert_eq!(u16::from_le_bytes([z[3], z[4]]), 65535);
        let second = 2 + 5 + 65535;
        assert_eq!(z[second], 1, "second block is final");
        assert_eq!(u16::from_le_bytes([z[second + 1], z[second + 2]]), (70_000 - 65535) as u16);
        assert_eq!(heat_png(&[0.0, 1.0, 0.5, 0.25], 2)[..8], SIGNATURE);
    }
}
