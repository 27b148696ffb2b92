//! Live mode's data: what `zoolab play --attach` serves at `/api/live` (a running
//! ensemble's members, config and tree) and `/api/live/exec` (a console line run against
//! it), and the two requests that fetch them. No simulator here: the page only draws.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Where the play server answers with the live picture.
pub const SNAPSHOT_URL: &str = "api/live";
/// Where console lines go.
pub const EXEC_URL: &str = "api/live/exec";

/// One ensemble member as the play server's last poll saw it.
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
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

/// A JSON object's fields, read through the browser's JSON parser (no serde in the
/// bundle: these few fields are cheaper read by hand).
struct Obj(JsValue);

impl Obj {
    fn parse(text: &str) -> Result<Obj, String> {
        let v = js_sys::JSON::parse(text).map_err(js_err)?;
        if v.is_object() {
            Ok(Obj(v))
        } else {
            Err("the answer is not a JSON object".into())
        }
    }
    fn get(&self, key: &str) -> JsValue {
        js_sys::Reflect::get(&self.0, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }
    fn text(&self, key: &str) -> Option<String> {
        self.get(key).as_string()
    }
    fn string(&self, key: &str) -> Result<String, String> {
        self.text(key).ok_or_else(|| format!("`{key}` is missing or not a string"))
    }
    fn number(&self, key: &str) -> Option<f64> {
        self.get(key).as_f64()
    }
    fn flag(&self, key: &str) -> bool {
        self.get(key).as_bool().unwrap_or(false)
    }
    fn list(&self, key: &str) -> Vec<Obj> {
        let v = self.get(key);
        if !js_sys::Array::is_array(&v) {
            return Vec::new();
        }
        js_sys::Array::from(&v).iter().filter(JsValue::is_object).map(Obj).collect()
    }
}

/// Reads `/api/live`'s JSON.
pub fn decode_snapshot(text: &str) -> Result<Snapshot, String> {
    let o = Obj::parse(text)?;
    let members = o
        .list("members")
        .iter()
        .map(|m| {
            Ok(Member {
                addr: m.string("addr")?,
                id: m.number("id").ok_or("a member without an id")? as u64,
                state: m.string("state")?,
                epoch: m.number("epoch").map(|e| e as u64),
                zxid: m.text("zxid"),
                committed: m.text("committed"),
                znodes: m.number("znodes").map(|n| n as u64),
                error: m.text("error"),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let tree = o
        .list("tree")
        .iter()
        .map(|z| {
            Ok(Znode {
                path: z.string("path")?,
                data: z.text("data").unwrap_or_default(),
                children: z.number("children").unwrap_or(0.0) as i32,
                ephemeral: z.flag("ephemeral"),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Snapshot {
        polls: o.number("polls").ok_or("`polls` is missing")? as u64,
        members,
        config: o.text("config").unwrap_or_default(),
        tree,
        tree_truncated: o.flag("tree_truncated"),
        tree_error: o.text("tree_error"),
    })
}

/// Reads `/api/live/exec`'s JSON.
pub fn decode_exec(text: &str) -> Result<ExecReply, String> {
    let o = Obj::parse(text)?;
    Ok(ExecReply { command: o.string("command")?, ok: o.flag("ok"), output: o.string("output")? })
}

/// Fetches the live picture.
pub async fn fetch_snapshot() -> Result<Snapshot, String> {
    decode_snapshot(&request(SNAPSHOT_URL, None).await?)
}

/// Runs a console line on the attached ensemble.
pub async fn exec(line: &str) -> Result<ExecReply, String> {
    decode_exec(&request(EXEC_URL, Some(line)).await?)
}

/// Whether the page was opened in live mode (`/#live`).
pub fn wanted() -> bool {
    gloo::utils::window().location().hash().is_ok_and(|h| h == "#live")
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    #[wasm_bindgen_test]
    fn the_play_servers_json_is_read() {
        let text = r#"{"polls":3,"members":[
            {"addr":"h:1","id":1,"state":"leader","epoch":2,"zxid":"0x200000001","committed":"0x200000001","znodes":5,"error":null},
            {"addr":"h:2","id":2,"state":"down","epoch":null,"zxid":null,"committed":null,"znodes":null,"error":"refused"}],
            "config":"clientPort=1\nserver.1=h:3:4:participant\nversion=0\n",
            "tree":[{"path":"/","data":"","children":1,"ephemeral":false},{"path":"/e","data":"x","children":0,"ephemeral":true}],
            "tree_truncated":false,"tree_error":null}"#;
        let s = decode_snapshot(text).unwrap();
        assert_eq!(s.polls, 3);
        assert_eq!(
            (s.members[0].role(), s.members[0].epoch, s.members[0].znodes),
            ("LEADING", Some(2), Some(5))
        );
        assert_eq!((s.members[1].role(), s.members[1].error.as_deref()), ("DOWN", Some("refused")));
        assert_eq!(s.membership(), ["server.1=h:3:4:participant", "version=0"]);
        assert!(s.tree[1].ephemeral && s.tree[1].data == "x");
        let r = decode_exec(r#"{"command":"ls /","ok":true,"output":"[a]"}"#).unwrap();
        assert!(r.ok && r.output == "[a]");
        assert!(decode_snapshot("[1]").is_err());
        assert!(decode_snapshot(r#"{"members":[]}"#).unwrap_err().contains("polls"));
        assert!(decode_exec("not json").is_err());
    }
}
