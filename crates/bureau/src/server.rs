//! The HTTP server: API v1 and the console on one listener, with body limits,
//! timeouts and security headers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::service::Bureau;
use crate::{api, console};

/// Every route of the bureau.
pub fn router(app: Arc<Bureau>) -> Router {
    let timeout = Duration::from_secs(app.config().request_timeout_secs);
    // Blob bodies are streamed with an idle timeout instead: a 200 MB photo on a
    // slow link may rightly take longer than any whole-request limit.
    let blobs = Router::new()
        .route(
            "/api/v1/blobs/{sha256}",
            axum::routing::put(api::put_blob).get(api::blob_status),
        )
        .layer(DefaultBodyLimit::disable());
    let timed = api::routes()
        .merge(console::routes())
        .layer(DefaultBodyLimit::max(256 * 1024))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ));
    let security = |name, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    Router::new()
        .merge(blobs)
        .merge(timed)
        .fallback(console::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(security(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security(header::REFERRER_POLICY, "no-referrer"))
        .layer(security(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'",
        ))
        .with_state(app)
}

/// Serves until `shutdown` resolves, then lets requests in flight finish (for at
/// most 10 s). Starts the photo analysis worker first.
pub async fn serve(
    app: Arc<Bureau>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), crate::error::BureauError> {
    app.start_analysis()?;
    let header_timeout = Duration::from_secs(app.config().header_read_timeout_secs);
    let router = router(app);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            // A client that goes away mid-request is not the server's error.
            let _ = conn.await;
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(Duration::from_secs(10)) => {}
    }
    Ok(())
}
