//! Accepting connections, which `axum::serve` leaves unbounded: at most `max_connections` open at
//! once (the rest wait in the listen backlog), a deadline for each request's head (counted from
//! the connection's start or the request's first byte) and for an idle keep-alive connection, and
//! graceful shutdown. A request being answered is never cut: the request timeout bounds it.
//!
//! hyper's own `header_read_timeout` is not used: it starts when a connection waits for a
//! request, so it would also be the keep-alive timeout, and with the auto (HTTP/1 and HTTP/2)
//! builder a connection that sends nothing is never timed out (hyper issue #3962).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// Largest request head the HTTP parser buffers (above hyper's default of about 400 KiB). Heads up
/// to this size reach the router, whose own, lower limits answer problem+json
/// (`middleware::limit_head`); past it the parser answers 431 itself, with an empty body. The
/// buffer grows only as a head arrives, and the header-read timeout bounds how long that takes.
pub const MAX_HEAD_BUFFER: usize = 1024 * 1024;

/// Most header lines the HTTP parser accepts (hyper's default is 100); same reasoning as
/// [`MAX_HEAD_BUFFER`].
pub const MAX_PARSED_HEADERS: usize = 1000;

/// How connections are limited.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// Time a request's head may take to arrive, from the connection's start or its first byte.
    pub header_read_timeout: Duration,
    /// Time a keep-alive connection may sit idle between requests.
    pub idle_timeout: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes; then stops accepting, lets every
/// connection finish its requests, and returns when all are closed.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = u32::try_from(limits.max_connections)
        .unwrap_or(u32::MAX)
        .min(u32::try_from(Semaphore::MAX_PERMITS).unwrap_or(u32::MAX))
        .max(1);
    let open = Arc::new(Semaphore::new(permits as usize));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .max_buf_size(MAX_HEAD_BUFFER)
        .max_headers(MAX_PARSED_HEADERS);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = accept(&listener, &open) => accepted,
        };
        let Some((stream, permit)) = accepted else {
            continue;
        };
        let connection = serve_connection(
            Arc::clone(&builder),
            stream,
            router.clone(),
            limits,
            stop_rx.clone(),
        );
        tokio::spawn(async move {
            connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every open connection holds a permit: all permits back means all connections closed.
    let _ = open.acquire_many(permits).await;
}

/// Waits for room under the cap, then for a connection. `None` after an accept error (too many
/// open files, a connection reset before it was accepted), logged and briefly waited out.
async fn accept(
    listener: &TcpListener,
    open: &Arc<Semaphore>,
) -> Option<(TcpStream, tokio::sync::OwnedSemaphorePermit)> {
    let permit = Arc::clone(open).acquire_owned().await.ok()?;
    match listener.accept().await {
        Ok((stream, _)) => {
            let _ = stream.set_nodelay(true);
            Some((stream, permit))
        }
        Err(error) => {
            tracing::warn!(%error, "could not accept a connection");
            tokio::time::sleep(Duration::from_millis(100)).await;
            None
        }
    }
}

async fn serve_connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    router: Router,
    limits: ConnectionLimits,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let service_activity = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
        let _answering = Answering::start(Arc::clone(&service_activity));
        let call = router.clone().oneshot(request.map(axum::body::Body::new));
        async move {
            let response = call.await;
            drop(_answering);
            response
        }
    });
    let connection = builder.serve_connection_with_upgrades(io, service);
    tokio::pin!(connection);
    let mut stopping = *stop.borrow();
    if stopping {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            () = activity.expired(limits) => return,
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_err() || *stop.borrow() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Waiting for a request's head since `since` (the connection's start, or the first byte of
    /// the next request).
    AwaitingHead { since: Instant },
    /// Answering this many requests.
    Answering { requests: usize },
    /// Kept alive with nothing to do since `since`.
    Idle { since: Instant },
}

/// A connection's phase, shared by its reads, its service and its watchdog.
#[derive(Debug)]
struct Activity(Mutex<Phase>);

impl Activity {
    fn new() -> Self {
        Activity(Mutex::new(Phase::AwaitingHead {
            since: Instant::now(),
        }))
    }

    fn update(&self, change: impl FnOnce(Phase) -> Phase) {
        let mut phase = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *phase = change(*phase);
    }

    fn phase(&self) -> Phase {
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Bytes arrived: an idle connection starts receiving its next request's head.
    fn bytes_arrived(&self) {
        self.update(|phase| match phase {
            Phase::Idle { .. } => Phase::AwaitingHead {
                since: Instant::now(),
            },
            other => other,
        });
    }

    /// Completes when the connection has waited too long for a head or sat idle too long.
    async fn expired(&self, limits: ConnectionLimits) {
        loop {
            match self.phase().deadline(limits) {
                Some(deadline) if deadline <= Instant::now() => return,
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                // Look again later: a request's answer is bounded by the request timeout.
                None => {
                    tokio::time::sleep(limits.header_read_timeout.min(limits.idle_timeout)).await;
                }
            }
        }
    }
}

impl Phase {
    /// When a connection in this phase is closed; never while it answers a request.
    fn deadline(self, limits: ConnectionLimits) -> Option<Instant> {
        match self {
            Phase::AwaitingHead { since } => Some(since + limits.header_read_timeout),
            Phase::Idle { since } => Some(since + limits.idle_timeout),
            Phase::Answering { .. } => None,
        }
    }
}

/// Marks a request as being answered for as long as it lives.
struct Answering(Arc<Activity>);

impl Answering {
    fn start(activity: Arc<Activity>) -> Self {
        activity.update(|phase| match phase {
            Phase::Answering { requests } => Phase::Answering {
                requests: requests + 1,
            },
            _ => Phase::Answering { requests: 1 },
        });
        Answering(activity)
    }
}

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.update(|phase| match phase {
            Phase::Answering { requests } if requests > 1 => Phase::Answering {
                requests: requests - 1,
            },
            _ => Phase::Idle {
                since: Instant::now(),
            },
        });
    }
}

/// The socket, telling the connection's [`Activity`] when bytes arrive.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_arrived();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        max_connections: 4,
        header_read_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
    };

    #[test]
    fn a_new_connection_must_send_its_head_within_the_header_timeout() {
        let activity = Activity::new();
        let Phase::AwaitingHead { since } = activity.phase() else {
            panic!("a new connection awaits a head");
        };
        assert_eq!(
            activity.phase().deadline(LIMITS),
            Some(since + Duration::from_secs(10))
        );
    }

    #[test]
    fn a_connection_answering_never_expires_and_idles_after_its_last_answer() {
        let activity = Arc::new(Activity::new());
        let first = Answering::start(Arc::clone(&activity));
        let second = Answering::start(Arc::clone(&activity));
        assert_eq!(activity.phase().deadline(LIMITS), None);
        drop(first);
        assert_eq!(activity.phase().deadline(LIMITS), None);
        drop(second);
        let Phase::Idle { since } = activity.phase() else {
            panic!("idle after its last answer");
        };
        assert_eq!(
            activity.phase().deadline(LIMITS),
            Some(since + Duration::from_secs(60))
        );
    }

    #[test]
    fn bytes_on_an_idle_connection_start_the_head_clock_and_later_bytes_do_not_restart_it() {
        let activity = Arc::new(Activity::new());
        drop(Answering::start(Arc::clone(&activity)));
        activity.bytes_arrived();
        let Phase::AwaitingHead { since } = activity.phase() else {
            panic!("bytes after an answer start the next head");
        };
        activity.bytes_arrived();
        assert!(matches!(activity.phase(), Phase::AwaitingHead { since: again } if again == since));
        let answering = Answering::start(Arc::clone(&activity));
        activity.bytes_arrived();
        assert!(matches!(activity.phase(), Phase::Answering { requests: 1 }));
        drop(answering);
    }
}
