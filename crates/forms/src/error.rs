//! The one error type of the crate. The UI and the bureau tell errors apart by
//! [`FormError::code`]; the message is Chinese and says what to do.

use fieldlead_domain::ErrorCode;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum FormError {
    /// No font with Chinese glyphs was found: rendering would print boxes (tofu).
    #[error(
        "未找到中文字体，无法生成表格（否则中文会显示为方框）。请安装 Noto CJK 字体（Debian 软件包 fonts-noto-cjk），\
         或在配置中指定含中文字体的目录。已查找：{}",
        display_dirs(.searched)
    )]
    NoCjkFont { searched: Vec<PathBuf> },

    /// The record is not a terminated sampling, so it is not a lead and has no transfer form.
    #[error("该记录不是终止抽样，不构成违法线索，不能生成产品违法线索移交表")]
    NotALead,

    /// The bureau's template folder or one of its files could not be read.
    #[error("无法读取模板目录 {path}：{source}")]
    TemplateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A template failed to compile: a syntax error or a bad field reference.
    #[error("模板 {template} 有误，请修改模板后重试：{message}")]
    Template { template: String, message: String },

    /// The configured form-number pattern is malformed.
    #[error("编号格式“{pattern}”有误：{reason}")]
    FormNumberPattern { pattern: String, reason: String },

    /// A value does not fit the form-number pattern (e.g. sequence 0).
    #[error("无法生成编号：{0}")]
    FormNumber(String),

    /// A lead-list row is invalid (e.g. a negative amount).
    #[error("清单第 {row} 行有误：{reason}")]
    ListRow { row: usize, reason: String },

    /// A notice (附件1 to 附件5) lacks what it cannot be printed without, or holds a
    /// value no document may hold. `field` names the [`NoticeData`](crate::NoticeData)
    /// field as a path (`product.report_no`, `agency.name`, `seal.number`), for
    /// the form to point at.
    #[error("无法生成文书：{reason}")]
    Notice { field: &'static str, reason: String },

    /// The PDF writer failed.
    #[error("生成 PDF 失败：{0}")]
    Pdf(String),

    /// The QR code could not be built (data too long).
    #[error("无法生成二维码：{0}")]
    QrCode(String),

    /// The .xlsx writer failed.
    #[error("生成 Excel 文件失败：{0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

impl FormError {
    /// A stable, machine-readable code, never translated.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            FormError::NoCjkFont { .. } => ErrorCode::NoCjkFont,
            FormError::NotALead => ErrorCode::NotALead,
            FormError::TemplateDir { .. } => ErrorCode::TemplateDir,
            FormError::Template { .. } => ErrorCode::Template,
            FormError::FormNumberPattern { .. } => ErrorCode::FormNumberPattern,
            FormError::FormNumber(_) => ErrorCode::FormNumber,
            FormError::ListRow { .. } => ErrorCode::ListRow,
            FormError::Notice { .. } => ErrorCode::NoticeField,
            FormError::Pdf(_) => ErrorCode::Pdf,
            FormError::QrCode(_) => ErrorCode::QrCode,
            FormError::Xlsx(_) => ErrorCode::Xlsx,
        }
    }

    /// [`FormError::error_code`] as the UI receives it.
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }
}

fn display_dirs(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "（无）".to_string();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join("、")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_threads_and_into_anyhow() {
        // The bureau renders in a worker thread and the CLI wraps errors in anyhow.
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<FormError>();
    }

    #[test]
    fn no_cjk_font_says_what_to_install_and_where_it_looked() {
        let e = FormError::NoCjkFont {
            searched: vec![PathBuf::from("/opt/fonts")],
        };
        assert_eq!(e.code(), "no_cjk_font");
        let msg = e.to_string();
        assert!(
            msg.contains("fonts-noto-cjk") && msg.contains("/opt/fonts"),
            "{msg}"
        );
    }
}
