//! Lot photos. A venue may have no internet, so a photo lives in the
//! replicated state like everything else: the operator uploads it to any
//! node, it is committed through Raft, and every node serves it.
//!
//! Only the common web formats are taken, recognised by their leading
//! bytes (the declared type must match what the bytes are), and each photo
//! is capped at [`MAX_IMAGE_BYTES`]: photos for phones on venue Wi-Fi should
//! be small, and every node keeps every photo in memory.

use serde::{Deserialize, Serialize};

/// The largest photo accepted, in bytes.
pub const MAX_IMAGE_BYTES: usize = 256 * 1024;

/// A photo format browsers show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl ImageKind {
    /// Every kind, for messages.
    pub const ALL: [ImageKind; 4] = [
        ImageKind::Jpeg,
        ImageKind::Png,
        ImageKind::Webp,
        ImageKind::Gif,
    ];

    /// Its MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Webp => "image/webp",
            ImageKind::Gif => "image/gif",
        }
    }

    /// The kind a MIME type names (parameters ignored), if accepted.
    pub fn from_mime(mime: &str) -> Option<ImageKind> {
        let base = mime.split(';').next().unwrap_or("").trim();
        Self::ALL
            .into_iter()
            .find(|k| k.mime().eq_ignore_ascii_case(base))
    }

    /// What the leading bytes say the data is.
    pub fn sniff(bytes: &[u8]) -> Option<ImageKind> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            Some(ImageKind::Jpeg)
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageKind::Png)
        } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageKind::Webp)
        } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
            Some(ImageKind::Gif)
        } else {
            None
        }
    }
}

/// A photo to set on a lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LotImage {
    pub kind: ImageKind,
    pub bytes: Vec<u8>,
}

impl LotImage {
    /// A photo whose bytes are what `kind` says, of 1..=[`MAX_IMAGE_BYTES`]
    /// bytes; otherwise why not.
    pub fn check(&self) -> Result<(), String> {
        if self.bytes.is_empty() || self.bytes.len() > MAX_IMAGE_BYTES {
            return Err(format!(
                "a photo must have 1 to {MAX_IMAGE_BYTES} bytes, not {}",
                self.bytes.len()
            ));
        }
        match ImageKind::sniff(&self.bytes) {
            Some(k) if k == self.kind => Ok(()),
            Some(k) => Err(format!(
                "the data is {} but was sent as {}",
                k.mime(),
                self.kind.mime()
            )),
            None => Err("the data is not a JPEG, PNG, WebP or GIF image".into()),
        }
    }
}

/// Which photo a lot has: enough to name and serve it without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageRef {
    pub kind: ImageKind,
    /// The log index that set it (its version, for caches).
    pub index: u64,
    pub bytes: u32,
}

impl ImageRef {
    /// Where every node serves it; the version changes with each upload.
    pub fn url(&self, lot: super::LotId) -> String {
        format!("/api/v1/lots/{}/image?v={}", lot.0, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_recognised_by_their_bytes() {
        assert_eq!(
            ImageKind::sniff(b"\xFF\xD8\xFF\xE0rest"),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(
            ImageKind::sniff(b"\x89PNG\r\n\x1a\nrest"),
            Some(ImageKind::Png)
        );
        assert_eq!(
            ImageKind::sniff(b"RIFF\0\0\0\0WEBPVP8 "),
            Some(ImageKind::Webp)
        );
        assert_eq!(ImageKind::sniff(b"GIF89a.."), Some(ImageKind::Gif));
        assert_eq!(ImageKind::sniff(b"<html>"), None);
        assert_eq!(ImageKind::from_mime("image/PNG; q=1"), Some(ImageKind::Png));
        assert_eq!(ImageKind::from_mime("text/html"), None);
    }

    #[test]
    fn a_photo_must_be_what_it_says_and_small() {
        let png = |bytes: Vec<u8>| LotImage {
            kind: ImageKind::Png,
            bytes,
        };
        let mut ok = b"\x89PNG\r\n\x1a\n".to_vec();
        ok.extend([0u8; 100]);
        assert!(png(ok.clone()).check().is_ok());
        assert!(png(b"\xFF\xD8\xFF\xE0".to_vec())
            .check()
            .unwrap_err()
            .contains("image/jpeg"));
        assert!(png(Vec::new()).check().is_err());
        ok.resize(MAX_IMAGE_BYTES + 1, 0);
        assert!(png(ok).check().is_err());
    }
}
