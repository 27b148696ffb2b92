//! `zoolab play`: a static file server for the playground.

use anyhow::{bail, Context, Result};
use axum::Router;
use std::path::{Path, PathBuf};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// Where the playground's files are when no `--www` is given: `./www` if it holds a
/// built playground, else the repository's `www/` next to this crate.
fn default_www() -> PathBuf {
    let here = PathBuf::from("www");
    if here.join("index.html").is_file() {
        return here;
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("www")
}

/// Checks that `www` holds a built playground (and, with `live`, live mode's bundle),
/// with a message that says how to build it.
pub fn check_built(www: &Path, live: bool) -> Result<()> {
    if !www.join("index.html").is_file() {
        bail!("{} has no index.html: pass --www with the playground's folder", www.display());
    }
    let bundles: &[&str] =
        if live { &["zoolab_web_bg.wasm", "zoolab_live_bg.wasm"] } else { &["zoolab_web_bg.wasm"] };
    for bundle in bundles {
        if !www.join("pkg").join(bundle).is_file() {
            bail!("the playground is not built ({} has no pkg/{bundle}): run `make play`", www.display());
        }
    }
    Ok(())
}

/// Serves the playground until the process is stopped; with `attach` (a list of
/// `host:clientPort`), also polls that ensemble and serves it to the page's live mode
/// (`/#live`, see [`crate::attach`]).
pub fn run(host: &str, port: u16, www: Option<PathBuf>, attach: Option<&str>) -> Result<()> {
    let www = www.unwrap_or_else(default_www);
    check_built(&www, attach.is_some())?;
    let attach = attach.map(crate::attach::parse_members).transpose()?.map(crate::attach::Attach::new);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((host, port)).await.with_context(|| {
            format!("cannot listen on {host}:{port} (is another playground running? try --port)")
        })?;
        let addr = listener.local_addr()?;
        let mut app = Router::new();
        if let Some(a) = &attach {
            tokio::spawn(a.clone().poll_forever());
            app = app.merge(a.router());
        }
        let app = app.fallback_service(ServeDir::new(&www)).layer(SetResponseHeaderLayer::overriding(
            axum::http::header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-cache"),
        ));
        println!("zoolab playground: http://{addr}/  (serving {}; Ctrl-C to stop)", www.display());
        if attach.is_some() {
            // On stderr: callers (the e2e harness) read stdout's first line only.
            eprintln!("zoolab playground: attached; the live ensemble is at http://{addr}/#live");
        }
        axum::serve(listener, app).await.context("serving the playground")
    })
}
