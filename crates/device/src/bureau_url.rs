//! The bureau's address, and whether the tablet may talk to it. Leads, photos and
//! the bearer token travel only over https; plain http is allowed to this machine
//! itself (a bureau on 127.0.0.1 for demos and tests) and, for development only,
//! anywhere when the app is started with [`ALLOW_INSECURE_HTTP_ENV`]`=1`. The rule
//! is checked before any connection is opened: at enrolment, when the address is
//! saved, and before every sync round, so an http address stored by an older build
//! is refused too.

use std::net::IpAddr;

use reqwest::Url;

/// The environment variable the app shell reads at start-up to allow plain http to
/// any host ([`crate::Device::allow_insecure_http`]). Never set in production.
pub const ALLOW_INSECURE_HTTP_ENV: &str = "FIELDLEAD_ALLOW_INSECURE_HTTP";

/// Why the tablet will not use an address. `code()` is stable for the UI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BureauUrlError {
    #[error("区县局服务器地址“{0}”无效，应形如 https://lead.example.gov.cn")]
    Malformed(String),
    #[error("区县局服务器地址“{0}”不是 https:// 加密地址，本机不会连接它，也不会发送任何内容；请向区县局索取 https:// 开头的地址")]
    Insecure(String),
}

impl BureauUrlError {
    pub fn code(&self) -> &'static str {
        match self {
            BureauUrlError::Malformed(_) => "bureau_url_invalid",
            BureauUrlError::Insecure(_) => "bureau_url_insecure",
        }
    }
}

/// An address the tablet may send to: `https://…`, or `http://` to a loopback
/// host, or `http://` anywhere if `allow_insecure_http`. Kept without a trailing
/// slash, so `{url}/api/v1/…` is the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BureauUrl(String);

impl BureauUrl {
    pub fn parse(input: &str, allow_insecure_http: bool) -> Result<Self, BureauUrlError> {
        let text = input.trim().trim_end_matches('/');
        let malformed = || BureauUrlError::Malformed(text.to_string());
        let url = Url::parse(text).map_err(|_| malformed())?;
        // Credentials, a query or a fragment would be mangled by appending the
        // API path; a bureau address never has them.
        if !url.username().is_empty()
            || url.password().is_some()
            || url.query().is_some()
            || url.fragment().is_some()
            || text.contains(char::is_whitespace)
        {
            return Err(malformed());
        }
        let host = url.host_str().ok_or_else(malformed)?;
        match url.scheme() {
            "https" => {}
            "http" if allow_insecure_http || is_loopback(host) => {}
            "http" => return Err(BureauUrlError::Insecure(text.to_string())),
            _ => return Err(malformed()),
        }
        Ok(BureauUrl(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for BureauUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// This machine itself: 127.0.0.0/8, ::1 (also as ::ffff:127.x.x.x) and the name
/// `localhost`. `host` is the parsed URL's (IPv4 forms normalised, IPv6 in
/// brackets), so `http://127.0.0.1.example.com` is a domain, not loopback.
fn is_loopback(host: &str) -> bool {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    match bare.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => ip.is_loopback(),
        Ok(IpAddr::V6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => bare.eq_ignore_ascii_case("localhost"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_to_this_machine() {
        for ok in [
            "https://lead.yuzhong.example.gov.cn",
            "https://lead.example.gov.cn:8443/fieldlead/",
            "http://127.0.0.1:8470",
            "http://127.8.9.10",
            "http://[::1]:8470",
            "http://localhost:8470/",
            "HTTP://LOCALHOST",
            "http://[::ffff:127.0.0.1]:8470",
        ] {
            assert!(BureauUrl::parse(ok, false).is_ok(), "{ok}");
        }
        assert_eq!(
            BureauUrl::parse(" https://lead.example.gov.cn/ ", false)
                .unwrap()
                .as_str(),
            "https://lead.example.gov.cn"
        );
        for insecure in [
            "http://192.0.2.1",
            "http://lead.example.gov.cn",
            "http://10.0.0.5:8470",
            "http://0.0.0.0:8470",
            "http://[::ffff:192.0.2.1]",
            // Look like loopback but are not: domains, another IPv6 address.
            "http://127.0.0.1.example.com",
            "http://localhost.example.com",
            "http://[::2]",
        ] {
            let err = BureauUrl::parse(insecure, false).unwrap_err();
            assert_eq!(err.code(), "bureau_url_insecure", "{insecure}");
            assert!(err.to_string().contains("https://"), "{err}");
        }
        for malformed in [
            "",
            "lead.example.gov.cn",
            "ftp://lead.example.gov.cn",
            "file:///etc/passwd",
            "https://",
            "http://127.0.0.1@lead.example.gov.cn",
            "https://lead.example.gov.cn/?x=1",
            "https://lead.example.gov.cn/#top",
            "https://lead example.gov.cn",
        ] {
            assert_eq!(
                BureauUrl::parse(malformed, false).unwrap_err().code(),
                "bureau_url_invalid",
                "{malformed}"
            );
        }
    }

    #[test]
    fn the_development_switch_allows_plain_http_anywhere_and_nothing_else() {
        assert!(BureauUrl::parse("http://192.0.2.1:8470", true).is_ok());
        assert!(BureauUrl::parse("http://lead.example.gov.cn", true).is_ok());
        assert_eq!(
            BureauUrl::parse("ftp://lead.example.gov.cn", true)
                .unwrap_err()
                .code(),
            "bureau_url_invalid"
        );
    }
}
