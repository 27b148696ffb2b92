//! Live mode's data: what `zoolab play --attach` serves at `/api/live` (a running
//! ensemble's members, config and tree) and `/api/live/exec` (a console line run against
//! it), and the two requests that fetch them. No simulator here: the page only draws.

use serde::Deserialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Where the play server answers with the live picture.
pub const SNAPSHOT_URL: &str = "api/live";
/// Where console lines go.
pub const EXEC_URL: &str = "api/live/exec";

/// One ensemble member as the play server's last poll saw it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Member {
    /// Its client port's address.
    pub addr: String,
    /// Its server id.
    pub id: u64,
    /// leader, follower, observer, standalone, looking, down or unknown.
    pub state: String,
    /// Its current epoch.
    pub epoch: Option<u64>,
    /// Its last zxid (hexadecimal).
    pub zxid: Option<String>,
    /// Its last committed zxid (hexadecimal), when the server reports it.
    pub committed: Option<String>,
    /// Its znode count.
    pub znodes: Option<u64>,
    /// Why it could not be asked.
    pub error: Option<String>,
}

impl Member {
    /// The role word the simulator's cards use (`data-role`).
    pub fn role(&self) -> &'static str {
        match self.state.as_str() {
            "leader" => "LEADING",
            "follower" => "FOLLOWING",
            "observer" => "OBSERVING",
            "standalone" => "STANDALONE",
            "looking" => "LOOKING",
            "down" => "DOWN",
            _ => "UNKNOWN",
        }
    }
}

/// One znode of the live tree.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Znode {
    /// Its path.
    pub path: String,
    /// Its data as text (cut when long).
    pub data: String,
    /// How many children it has.
    pub children: i32,
    /// Whether a session owns it.
    pub ephemeral: bool,
}

/// The live picture.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Snapshot {
    /// Polls done so far.
    pub polls: u64,
    /// The members.
    pub members: Vec<Member>,
    /// A serving member's `conf`.
    pub config: String,
    /// The tree, depth first.
    pub tree: Vec<Znode>,
    /// Whether the tree was cut at the play server's limit.
    pub tree_truncated: bool,
    /// Why the tree could not be read.
    pub tree_error: Option<String>,
}

impl Snapshot {
    /// The configuration's `server.N` lines and version, without the local settings.
    pub fn membership(&self) -> Vec<&str> {
        self.config.lines().filter(|l| l.starts_with("server.") || l.starts_with("version=")).collect()
    }
}

/// A console line's result.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ExecReply {
    /// The line.
    pub command: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// The output or the error.
    pub output: String,
}

fn js_err(e: JsValue) -> String {
    e.as_string().or_else(|| js_sys::JSON::stringify(&e).ok().map(String::from)).unwrap_or_else(|| "?".into())
}

async fn request(url: &str, body: Option<&str>) -> Result<String, String> {
    let window = gloo::utils::window();
    let promise = match body {
        None => window.fetch_with_str(url),
        Some(b) => {
            let init = web_sys::RequestInit::new();
            init.set_method("POST");
            init.set_body(&JsValue::from_str(b));
            window.fetch_with_str_and_init(url, &init)
        }
    };
    let resp: web_sys::Response =
        JsFuture::from(promise).await.map_err(js_err)?.dyn_into().map_err(js_err)?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let text = JsFuture::from(resp.text().map_err(js_err)?).await.map_err(js_err)?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

/// Parses a JSON answer into `T` (through the browser's JSON parser).
pub fn decode<T: for<'de> Deserialize<'de>>(text: &str) -> Result<T, String> {
    let value = js_sys::JSON::parse(text).map_err(js_err)?;
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}

/// Fetches the live picture.
pub async fn fetch_snapshot() -> Result<Snapshot, String> {
    decode(&request(SNAPSHOT_URL, None).await?)
}

/// Runs a console line on the attached ensemble.
pub async fn exec(line: &str) -> Result<ExecReply, String> {
    decode(&request(EXEC_URL, Some(line)).await?)
}

/// Whether the page was opened in live mode (`/#live`).
pub fn wanted() -> bool {
    gloo::utils::window().location().hash().is_ok_and(|h| h == "#live")
}
