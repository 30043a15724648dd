//! Typed errors: each refusal has a stable code for the UI and a Chinese message that
//! says what the sampler should do.

use std::io;
use std::path::PathBuf;

use fieldlead_domain::Sha256;

use crate::sniff::Format;

/// A failure of the content-addressed store itself.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("证据存储{action}失败（{path}）：{source}。请检查设备存储空间和权限后重试")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("证据存储中找不到文件 {0}，请重新导入该照片")]
    Missing(Sha256),
}

impl StoreError {
    /// Stable machine-readable code, for the UI and the API.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "store_io",
            StoreError::Missing(_) => "blob_missing",
        }
    }

    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }
}

/// Why a photo was refused. A refused photo leaves nothing in the store.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("无法读取文件 {what}：{source}。请确认文件存在、可以打开后重试")]
    Unreadable {
        what: String,
        #[source]
        source: io::Error,
    },
    #[error("文件是空的（0 字节），请重新拍摄或选择正确的照片文件")]
    Empty,
    #[error("文件过大（超过 {} MB 的上限），请用相机的常规画质重新拍摄", .max / 1_048_576)]
    TooLarge { bytes: u64, max: u64 },
    #[error("该文件不是可识别的照片（支持 JPEG、PNG、WebP、HEIC），请选择相机或手机拍摄的照片")]
    NotAnImage,
    #[error("文件扩展名“.{extension}”与实际格式 {actual} 不符，请选择未改名的原始照片文件")]
    ExtensionMismatch { extension: String, actual: Format },
    #[error("照片文件不完整（拷贝或保存时中断），请重新拷贝原始文件或重新拍摄")]
    Truncated,
    #[error("图片声明尺寸 {width}×{height} 与文件大小（{bytes} 字节）严重不符，疑似恶意构造的文件，已拒收；请使用相机拍摄的原始照片")]
    DecompressionBomb { width: u32, height: u32, bytes: u64 },
    #[error(
        "图片像素过多（{width}×{height}，上限 {max_pixels} 像素），请用相机的常规分辨率重新拍摄"
    )]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("照片已损坏，无法解码（{detail}），请重新拷贝原始文件或重新拍摄")]
    Corrupt { detail: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntakeError {
    /// Stable machine-readable code, for the UI and the API.
    pub fn code(&self) -> &'static str {
        match self {
            IntakeError::Unreadable { .. } => "unreadable",
            IntakeError::Empty => "empty",
            IntakeError::TooLarge { .. } => "too_large",
            IntakeError::NotAnImage => "not_an_image",
            IntakeError::ExtensionMismatch { .. } => "extension_mismatch",
            IntakeError::Truncated => "truncated",
            IntakeError::DecompressionBomb { .. } => "decompression_bomb",
            IntakeError::TooManyPixels { .. } => "too_many_pixels",
            IntakeError::Corrupt { .. } => "corrupt",
            IntakeError::Store(e) => e.code(),
        }
    }
}
