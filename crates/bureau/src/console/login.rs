//! Logging in and out.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect};
use axum::Form;
use minijinja::context;
use serde::Deserialize;

use super::{
    cookie, render, set_cookie, NoFields, PageResult, Posted, LOGIN_CSRF_COOKIE, SESSION_COOKIE,
};
use crate::api::blocking;
use crate::error::BureauError;
use crate::secrets::{constant_time_eq, new_token};
use crate::service::Bureau;

// Every field defaults, so a request without a session is sent to the login page
// rather than refused for a missing field.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

pub(crate) async fn page(State(app): State<Arc<Bureau>>) -> PageResult {
    let csrf = new_token();
    let mut resp = render(
        "login.html",
        context! { csrf => csrf, error => None::<String> },
    )?
    .into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, LOGIN_CSRF_COOKIE, &csrf, Some(3600)),
    );
    Ok(resp)
}

pub(crate) async fn login(
    State(app): State<Arc<Bureau>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> PageResult {
    // Double-submit token: a page on another site cannot read our cookie.
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) {
        return Err(BureauError::Csrf.into());
    }
    let from = crate::server::client_ip(&app.config().trusted_proxies, peer.ip(), &headers);
    let result = match app.password_slot().await {
        Ok(slot) => {
            let a = Arc::clone(&app);
            blocking(move || {
                let _slot = slot;
                a.login(&form.username, &form.password, from)
            })
            .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok((token, _csrf, _user)) => {
            let mut resp = Redirect::to("/").into_response();
            let age = i64::from(app.config().session_hours) * 3600;
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&app, SESSION_COOKIE, &token, Some(age)),
            );
            resp.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(&app, LOGIN_CSRF_COOKIE, "", Some(0)),
            );
            Ok(resp)
        }
        Err(
            e @ (BureauError::BadCredentials | BureauError::RateLimited { .. } | BureauError::Busy),
        ) => {
            let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED);
            let page = render(
                "login.html",
                context! { csrf => expected, error => Some(e.to_string()) },
            )?;
            Ok((status, page).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

pub(crate) async fn logout(
    State(app): State<Arc<Bureau>>,
    Posted(s, NoFields {}): Posted<NoFields>,
) -> PageResult {
    let token = s.token;
    let a = Arc::clone(&app);
    blocking(move || a.logout(&token)).await?;
    let mut resp = Redirect::to("/login").into_response();
    resp.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, SESSION_COOKIE, "", Some(0)),
    );
    Ok(resp)
}
