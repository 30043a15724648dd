//! The HTTP server: API v1 and the console on one listener, with body limits,
//! timeouts and security headers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use std::net::IpAddr;

use axum::extract::{ConnectInfo, DefaultBodyLimit, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;

use crate::error::BureauError;
use crate::service::Bureau;
use crate::{api, console};

/// The client's address: the connection's, unless that is a trusted reverse proxy,
/// in which case the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy (entries further left are whatever the client chose to send).
pub fn client_ip(trusted: &[IpAddr], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map_while(|part| part.trim().parse::<IpAddr>().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// At most `max_concurrent_requests` requests are served at once; the next is
/// answered 503 at once rather than queued, so a flood cannot pile up memory or
/// threads, and a tablet retries later with backoff.
async fn limit_concurrency(
    State(slots): State<Arc<tokio::sync::Semaphore>>,
    req: Request,
    next: Next,
) -> Response {
    match slots.try_acquire_owned() {
        Ok(permit) => {
            let resp = next.run(req).await;
            // Held until the handler is done; a streamed body may outlive it, but its
            // work is bounded by the blob store's reads.
            drop(permit);
            resp
        }
        Err(_) => api::ApiError(BureauError::Busy).into_response(),
    }
}

/// Every route of the bureau.
pub fn router(app: Arc<Bureau>) -> Router {
    let slots = Arc::new(tokio::sync::Semaphore::new(
        app.config().max_concurrent_requests as usize,
    ));
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
        .layer(axum::middleware::from_fn_with_state(slots, limit_concurrency))
        .with_state(app)
}

/// At start and every hour after: deletes abandoned partial uploads and spent
/// shared counters, and queues again the photos whose analysis claim ran out
/// (an instance died at it).
fn start_sweeper(app: Arc<Bureau>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        let mut first = true;
        loop {
            tick.tick().await;
            let a = Arc::clone(&app);
            match tokio::task::spawn_blocking(move || a.sweep_partials()).await {
                Ok(Ok(n)) if n > 0 => {
                    tracing::info!(removed = n, "abandoned partial uploads removed")
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "sweeping partial uploads failed"),
                _ => {}
            }
            let a = Arc::clone(&app);
            let spent = tokio::task::spawn_blocking(move || {
                a.storage().prune_counters(crate::ratelimit::now_ms())
            });
            if let Ok(Err(e)) = spent.await {
                tracing::warn!(error = %e, "pruning spent counters failed");
            }
            // At start the analysis worker queued them all itself.
            if !std::mem::take(&mut first) {
                let a = Arc::clone(&app);
                if let Ok(Err(e)) = tokio::task::spawn_blocking(move || a.requeue_analysis()).await
                {
                    tracing::warn!(error = %e, "queueing unanalysed photos failed");
                }
            }
        }
    })
}

/// Serves until `shutdown` resolves, then lets requests in flight finish (for at
/// most 10 s). Starts the photo analysis worker first.
pub async fn serve(
    app: Arc<Bureau>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), crate::error::BureauError> {
    // Background work holds the bureau (and so the data folder's lock) until
    // aborted at shutdown.
    let workers = [app.start_analysis()?, start_sweeper(Arc::clone(&app))];
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
    for w in workers {
        w.abort();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 203.0.113.9".parse().unwrap());
        // From the proxy: the address the proxy saw, not what the client wrote.
        assert_eq!(
            client_ip(&[proxy], proxy, &h),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        // From anyone else: the header is the client's own claim, ignored.
        let direct: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(client_ip(&[proxy], direct, &h), direct);
        assert_eq!(client_ip(&[], proxy, &h), proxy);
        // A proxy with no header, or a garbled one, counts as the client.
        assert_eq!(client_ip(&[proxy], proxy, &HeaderMap::new()), proxy);
    }
}
