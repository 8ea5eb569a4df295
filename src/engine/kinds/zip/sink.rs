//! A buffered, seekable sink for the archive file under the archive writer (`archive.rs`).
//!
//! The writer asks for its position at every entry, seeks back to patch a streamed entry's local
//! header with its CRC-32 and sizes once the entry ends (APPNOTE 4.3.7), and seeks back to the
//! header of an entry it takes out, writing the next one over it. Through a
//! `std::io::BufWriter<File>`, each position query or seek flushes the buffer and makes an
//! `lseek`. This sink keeps the latest bytes (up to 1 MiB) in memory and answers positions, and
//! seeks that land inside those bytes, from memory, so a patch there costs no system call and
//! the file sees large sequential writes; a write of at least the buffer's size goes straight
//! through. Seeks outside the buffered bytes (a big entry's header written long before) flush
//! and seek for real. It also cuts the file short ([`Truncate`]) when an entry taken out left
//! bytes past the archive's end.
//!
//! Owns: buffering and position bookkeeping of one writer. Must not touch: the archive's format.

use std::io::{self, Seek, SeekFrom, Write};

/// Cutting a file to a length (`std::fs::File::set_len`): an archive ends before the bytes an
/// entry taken back out (aborted) left behind.
pub trait Truncate {
    /// Makes the file `len` bytes long. The position is left as it was.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl Truncate for std::fs::File {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

impl Truncate for io::Cursor<Vec<u8>> {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let len = usize::try_from(len).map_err(io::Error::other)?;
        self.get_mut().truncate(len);
        Ok(())
    }
}

impl<T: Truncate + ?Sized> Truncate for &mut T {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        (**self).truncate(len)
    }
}

/// Buffer size used by [`ArchiveSink::new`].
const DEFAULT_SINK_BYTES: usize = 1 << 20;

/// See the module doc. `W` is the archive file (or anything `Write + Seek`).
#[derive(Debug)]
pub(crate) struct ArchiveSink<W: Write + Seek> {
    /// Taken only by `into_inner`.
    inner: Option<W>,
    /// Bytes from offset `base` of `inner` on, not yet written to it. `inner`'s own position is
    /// `base` whenever `buf` is not empty.
    buf: Vec<u8>,
    base: u64,
    /// Where the next write goes, relative to `base` (at most `buf.len()`).
    cursor: usize,
    capacity: usize,
}

impl<W: Write + Seek> ArchiveSink<W> {
    /// A sink over `inner` with a [`DEFAULT_SINK_BYTES`] buffer, starting at `inner`'s current
    /// position.
    pub fn new(inner: W) -> io::Result<Self> {
        Self::with_capacity(DEFAULT_SINK_BYTES, inner)
    }

    /// As [`ArchiveSink::new`] with a buffer of `capacity_bytes` (at least 1).
    pub fn with_capacity(capacity_bytes: usize, mut inner: W) -> io::Result<Self> {
        let base = inner.stream_position()?;
        let capacity = capacity_bytes.max(1);
        Ok(ArchiveSink {
            inner: Some(inner),
            buf: Vec::with_capacity(capacity),
            base,
            cursor: 0,
            capacity,
        })
    }

    /// The position the next write goes to, in bytes from the start of `inner`.
    pub fn position(&self) -> u64 {
        self.base + self.cursor as u64
    }

    /// Writes out the buffered bytes and returns `inner`, positioned at [`Self::position`].
    pub fn into_inner(mut self) -> io::Result<W> {
        self.flush()?;
        self.inner.take().ok_or_else(taken)
    }

    /// Writes out the buffered bytes, then cuts `inner` to `len` bytes (see [`Truncate`]).
    pub fn truncate(&mut self, len: u64) -> io::Result<()>
    where
        W: Truncate,
    {
        self.write_out()?;
        self.inner()?.truncate(len)
    }

    fn inner(&mut self) -> io::Result<&mut W> {
        self.inner.as_mut().ok_or_else(taken)
    }

    /// Writes the buffered bytes to `inner` (at `base`) and leaves `inner` positioned at the
    /// cursor, the buffer empty.
    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let (end, at) = (self.base + self.buf.len() as u64, self.position());
        let inner = self.inner.as_mut().ok_or_else(taken)?;
        inner.write_all(&self.buf)?;
        if at != end {
            inner.seek(SeekFrom::Start(at))?;
        }
        self.base = at;
        self.buf.clear();
        self.cursor = 0;
        Ok(())
    }
}

impl<W: Write + Seek> Write for ArchiveSink<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.cursor + data.len() > self.capacity {
            self.write_out()?;
            if data.len() >= self.capacity {
                // Big writes (a compressed block) go straight through.
                let n = self.inner()?.write(data)?;
                self.base += n as u64;
                return Ok(n);
            }
        }
        let end = self.cursor + data.len();
        let overlap = end.min(self.buf.len()).saturating_sub(self.cursor);
        self.buf[self.cursor..self.cursor + overlap].copy_from_slice(&data[..overlap]);
        self.buf.extend_from_slice(&data[overlap..]);
        self.cursor = end;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.inner()?.flush()
    }
}

impl<W: Write + Seek> Seek for ArchiveSink<W> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::Current(delta) => self.position().checked_add_signed(delta),
            SeekFrom::End(_) => None,
        };
        match target {
            Some(at) if at >= self.base && at <= self.base + self.buf.len() as u64 => {
                self.cursor = (at - self.base) as usize;
                Ok(at)
            }
            Some(at) => {
                self.write_out()?;
                let at = self.inner()?.seek(SeekFrom::Start(at))?;
                self.base = at;
                Ok(at)
            }
            None if matches!(pos, SeekFrom::Current(_)) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek to a negative or overflowing position",
            )),
            None => {
                self.write_out()?;
                let at = self.inner()?.seek(pos)?;
                self.base = at;
                Ok(at)
            }
        }
    }

    fn stream_position(&mut self) -> io::Result<u64> {
        Ok(self.position())
    }
}

impl<W: Write + Seek> Drop for ArchiveSink<W> {
    fn drop(&mut self) {
        // As `BufWriter`: a last best-effort write; call `flush` or `into_inner` to see errors.
        if self.inner.is_some() {
            let _ = self.write_out();
        }
    }
}

fn taken() -> io::Error {
    io::Error::other("the archive sink's writer was taken")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Runs the same random writes and seeks on a sink over a cursor and on a bare cursor.
    fn same_as_cursor(capacity: usize, seed: u64) {
        let mut sink = ArchiveSink::with_capacity(capacity, Cursor::new(Vec::new())).unwrap();
        let mut plain = Cursor::new(Vec::new());
        let mut state = seed | 1;
        let mut next = |m: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state % m
        };
        for step in 0..2000u64 {
            match next(10) {
                0..=5 => {
                    let len = match next(4) {
                        0 => next(3 * capacity as u64) as usize,
                        _ => next(40) as usize,
                    };
                    let data: Vec<u8> = (0..len).map(|i| (i as u64 + step) as u8).collect();
                    sink.write_all(&data).unwrap();
                    plain.write_all(&data).unwrap();
                }
                6 | 7 => {
                    let len = plain.get_ref().len() as u64;
                    let at = next(len + 1);
                    assert_eq!(
                        sink.seek(SeekFrom::Start(at)).unwrap(),
                        plain.seek(SeekFrom::Start(at)).unwrap()
                    );
                }
                8 => {
                    let back = -(next(30) as i64).min(plain.position() as i64);
                    assert_eq!(
                        sink.seek(SeekFrom::Current(back)).unwrap(),
                        plain.seek(SeekFrom::Current(back)).unwrap()
                    );
                }
                _ => {
                    assert_eq!(
                        sink.seek(SeekFrom::End(0)).unwrap(),
                        plain.seek(SeekFrom::End(0)).unwrap()
                    );
                }
            }
            assert_eq!(sink.stream_position().unwrap(), plain.position());
        }
        let inner = sink.into_inner().unwrap();
        assert_eq!(inner.position(), plain.position());
        assert!(inner.into_inner() == plain.into_inner(), "seed {seed}");
    }

    #[test]
    fn behaves_like_the_writer_underneath() {
        for (capacity, seed) in [(1, 1), (7, 2), (64, 3), (64, 4), (4096, 5), (100, 6)] {
            same_as_cursor(capacity, seed);
        }
    }

    #[test]
    fn seeks_inside_the_buffer_make_no_call_underneath() {
        /// Counts the calls that reach it.
        struct Counting {
            inner: Cursor<Vec<u8>>,
            writes: usize,
            seeks: usize,
        }
        impl Write for Counting {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.writes += 1;
                self.inner.write(b)
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        impl Seek for Counting {
            fn seek(&mut self, p: SeekFrom) -> io::Result<u64> {
                self.seeks += 1;
                self.inner.seek(p)
            }
        }
        let counting = Counting {
            inner: Cursor::new(Vec::new()),
            writes: 0,
            seeks: 0,
        };
        let mut sink = ArchiveSink::with_capacity(1 << 16, counting).unwrap();
        for i in 0..100u8 {
            // A header, data, then the header patched: what the zip crate does per entry.
            let start = sink.stream_position().unwrap();
            sink.write_all(&[0; 30]).unwrap();
            sink.write_all(&[i; 50]).unwrap();
            let end = sink.stream_position().unwrap();
            sink.seek(SeekFrom::Start(start + 14)).unwrap();
            sink.write_all(&[i; 12]).unwrap();
            sink.seek(SeekFrom::Start(end)).unwrap();
        }
        let inner = sink.into_inner().unwrap();
        assert_eq!(
            (inner.writes, inner.seeks),
            (1, 1),
            "one write, plus new()'s position"
        );
        let bytes = inner.inner.into_inner();
        assert_eq!(bytes.len(), 8000);
        assert_eq!(&bytes[80 * 7 + 14..80 * 7 + 26], &[7u8; 12]);
        assert_eq!(&bytes[80 * 7 + 30..80 * 8], &[7u8; 50]);
    }
}
