//! Baseline (a) of `bench/run`: the HTTP ceiling.
//!
//! A bare hyper 1.x server on a multi-thread tokio runtime, configured like
//! didgate's transport (HTTP/1.1, keep-alive, `TCP_NODELAY`), that reads the
//! whole request body and answers every request with one fixed XML reply of
//! a given size (by default the size of a typical `ANVEO.AREAS.LIST` reply).
//! No parsing, no authentication, no database, no logging: whatever didgate
//! does on top of this is the cost of being didgate.
//!
//! ```text
//! cargo run --release --example bare_hyper -- 127.0.0.1:18081 [REPLY_BYTES]
//! ```

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The reply size when none is given: about what `ANVEO.AREAS.LIST` of one
/// US state (eight areas, two rate plans each) weighs.
const DEFAULT_REPLY_BYTES: usize = 3000;

/// One `AREA` element with two rate plans, as didgate writes them.
const AREA: &str = concat!(
    "<AREA AREA_ID=\"us-ca-415\" AREA_NAME=\"San Francisco\" AREA_CODE=\"415\" ",
    "DID_TYPE=\"GEOGRAPHIC\" COUNTRY_ID=\"US\" STATE_ID=\"US-CA\" STOCK=\"1000\">",
    "<RATE_PLAN RATE_PLAN_ID=\"SU\" RATE_PLAN_NAME=\"Service Unlimited\" MONTHLY100=\"149\" SETUP100=\"249\"/>",
    "<RATE_PLAN RATE_PLAN_ID=\"PPM\" RATE_PLAN_NAME=\"Pay Per Minute\" MONTHLY100=\"99\" SETUP100=\"0\"/>",
    "</AREA>"
);

/// A well-formed `RESPONSE` of exactly `size` bytes (or the smallest one
/// possible if `size` is smaller): whole `AREA` elements, then spaces.
fn reply_of_size(size: usize) -> Bytes {
    let head =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<RESPONSE><RESULT>SUCCESS</RESULT><AREAS>";
    let tail = "</AREAS></RESPONSE>\n";
    let mut body = String::with_capacity(size.max(head.len() + tail.len()));
    body.push_str(head);
    while body.len() + AREA.len() + tail.len() <= size {
        body.push_str(AREA);
    }
    while body.len() + tail.len() < size {
        body.push(' ');
    }
    body.push_str(tail);
    Bytes::from(body)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr: SocketAddr = args
        .next()
        .unwrap_or_else(|| "127.0.0.1:18081".to_owned())
        .parse()?;
    let size = match args.next() {
        Some(s) => s.parse()?,
        None => DEFAULT_REPLY_BYTES,
    };
    let reply = reply_of_size(size);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(addr, reply))
}

async fn serve(addr: SocketAddr, reply: Bytes) -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind(addr).await?;
    eprintln!(
        "bare_hyper listening on {} ({} byte replies)",
        listener.local_addr()?,
        reply.len()
    );
    let mut http = http1::Builder::new();
    http.keep_alive(true);
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let reply = reply.clone();
        let conn = http.serve_connection(
            TokioIo::new(stream),
            service_fn(move |req| respond(req, reply.clone())),
        );
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

async fn respond(
    req: Request<Incoming>,
    reply: Bytes,
) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the body, as didgate must before it can parse the envelope.
    let _body = req.into_body().collect().await.map(|b| b.to_bytes());
    let mut response = Response::new(Full::new(reply));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=UTF-8"),
    );
    Ok(response)
}
