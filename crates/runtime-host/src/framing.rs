//! Length-prefixed frames with a size limit checked before allocation.

use std::io::{ErrorKind, Read, Write};

use thiserror::Error;

use crate::protocol::Frame;

/// The largest frame either side sends or accepts.
pub const MAX_FRAME_SIZE: usize = 32 << 20;

/// Why a frame could not be read or written.
#[derive(Debug, Error)]
pub enum FrameError {
    /// The peer closed the connection.
    #[error("connection closed")]
    Closed,
    /// The declared length is over [`MAX_FRAME_SIZE`]: the stream cannot be resynchronised.
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The frame's bytes do not decode (the stream is still in sync).
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// The socket failed or timed out.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes one frame.
pub fn write_frame<W: Write>(writer: &mut W, frame: &Frame) -> Result<(), FrameError> {
    let bytes = atoll_types::encode(frame);
    if bytes.len() > MAX_FRAME_SIZE {
        return Err(FrameError::TooLarge(bytes.len()));
    }
    writer.write_all(&(bytes.len() as u32).to_be_bytes())?;
    writer.write_all(&bytes)?;
    writer.flush()?;
    Ok(())
}

/// Reads one frame.
pub fn read_frame<R: Read>(reader: &mut R) -> Result<Frame, FrameError> {
    let mut length = [0u8; 4];
    match reader.read_exact(&mut length) {
        Ok(()) => {}
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let length = u32::from_be_bytes(length) as usize;
    if length > MAX_FRAME_SIZE {
        return Err(FrameError::TooLarge(length));
    }
    let mut bytes = vec![0u8; length];
    reader.read_exact(&mut bytes).map_err(|e| match e.kind() {
        ErrorKind::UnexpectedEof => FrameError::Closed,
        _ => e.into(),
    })?;
    atoll_types::decode(&bytes, MAX_FRAME_SIZE).map_err(|e| FrameError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::HostRequest;

    #[test]
    fn round_trip_and_limits() {
        let frame = Frame::HostRequest { id: 7, request: HostRequest::Abort };
        let mut buffer = Vec::new();
        write_frame(&mut buffer, &frame).expect("write");
        assert_eq!(read_frame(&mut buffer.as_slice()).expect("read"), frame);

        let huge = ((MAX_FRAME_SIZE + 1) as u32).to_be_bytes();
        assert!(matches!(read_frame(&mut huge.as_slice()), Err(FrameError::TooLarge(_))));
        let mut garbage = 3u32.to_be_bytes().to_vec();
        garbage.extend_from_slice(&[0xff, 0xff, 0xff]);
        assert!(matches!(read_frame(&mut garbage.as_slice()), Err(FrameError::Malformed(_))));
        assert!(matches!(read_frame(&mut [0u8, 0].as_slice()), Err(FrameError::Closed)));
        let truncated = [0u8, 0, 0, 9, 1];
        assert!(matches!(read_frame(&mut truncated.as_slice()), Err(FrameError::Closed)));
    }
}
