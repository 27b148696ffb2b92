//! Live mode's data: what `zoolab play --attach` serves (docs/server.md has the JSON) —
//! `/api/live?after=N` (a running ensemble's members, config, agreement, role changes, the
//! console's session and its lines after N), `/api/live/tree` (one member's tree as it
//! serves it), `/api/live/compare` (two members' trees and digests) and `/api/live/exec`
//! (a console line) — and the requests that fetch them.
//!
//! The JSON is parsed by the browser (`JSON.parse`) and kept as JavaScript objects; the
//! views read the fields they draw through the small typed accessors below. No serde in
//! the bundle, and no Rust copy of every field: the bundle stays small. No simulator
//! here: the page only draws.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// A parsed JSON value (an object, or `undefined` where a field is missing).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Obj(JsValue);

impl Obj {
    /// Parses a JSON object.
    pub fn parse(text: &str) -> Result<Obj, String> {
        let v = js_sys::JSON::parse(text).map_err(js_err)?;
        if v.is_object() && !js_sys::Array::is_array(&v) {
            Ok(Obj(v))
        } else {
            Err("the answer is not a JSON object".into())
        }
    }
    fn get(&self, key: &str) -> JsValue {
        if !self.0.is_object() {
            return JsValue::UNDEFINED;
        }
        js_sys::Reflect::get(&self.0, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
    }
    /// A string field.
    pub fn text(&self, key: &str) -> Option<String> {
        self.get(key).as_string()
    }
    /// A string field, empty when missing.
    pub fn str(&self, key: &str) -> String {
        self.text(key).unwrap_or_default()
    }
    /// A number field.
    pub fn num(&self, key: &str) -> Option<u64> {
        self.get(key).as_f64().map(|n| n as u64)
    }
    /// A boolean field (`None`: missing or null).
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).as_bool()
    }
    /// A boolean field, false when missing.
    pub fn flag(&self, key: &str) -> bool {
        self.bool(key).unwrap_or(false)
    }
    /// An object field.
    pub fn obj(&self, key: &str) -> Obj {
        Obj(self.get(key))
    }
    /// A field as shown: a string, a number, or `—` when null or missing.
    pub fn show(&self, key: &str) -> String {
        let v = self.get(key);
        v.as_string().or_else(|| v.as_f64().map(|n| n.to_string())).unwrap_or_else(|| "—".into())
    }
    fn array(&self, key: &str) -> Vec<JsValue> {
        let v = self.get(key);
        if js_sys::Array::is_array(&v) {
            js_sys::Array::from(&v).iter().collect()
        } else {
            Vec::new()
        }
    }
    /// A list of objects.
    pub fn list(&self, key: &str) -> Vec<Obj> {
        self.array(key).into_iter().filter(JsValue::is_object).map(Obj).collect()
    }
    /// A list of strings.
    pub fn strings(&self, key: &str) -> Vec<String> {
        self.array(key).into_iter().filter_map(|s| s.as_string()).collect()
    }
}

/// One ensemble member as the play server's last poll saw it (`members[i]`: index, addr,
/// id, state, epoch, zxid, committed, lag, znodes, connections, outstanding, latency,
/// watches, followers, digest, config_version, down_for_ms, error, …).
#[derive(Clone, Debug, PartialEq)]
pub struct Member(pub Obj);

impl Member {
    /// Its place in `--attach` (what the tree requests take).
    pub fn index(&self) -> usize {
        self.0.num("index").unwrap_or(0) as usize
    }
    /// leader, follower, observer, standalone, looking, down or unknown.
    pub fn state(&self) -> String {
        self.0.str("state")
    }
    /// The role word the simulator's cards use (`data-role`).
    pub fn role(&self) -> &'static str {
        match self.state().as_str() {
            "leader" => "LEADING",
            "follower" => "FOLLOWING",
            "observer" => "OBSERVING",
            "standalone" => "STANDALONE",
            "looking" => "LOOKING",
            "down" => "DOWN",
            _ => "UNKNOWN",
        }
    }
    /// Whether it serves clients.
    pub fn serving(&self) -> bool {
        matches!(self.state().as_str(), "leader" | "follower" | "observer" | "standalone")
    }
    /// `s1`, `s2`, … (its server id).
    pub fn name(&self) -> String {
        format!("s{}", self.0.num("id").unwrap_or(0))
    }
}

/// The live picture (`/api/live`): polls, poll_ms, members, config, agreement, diverged,
/// history, session, and the console's lines after the cursor asked (lines, missed, next).
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot(pub Obj);

impl Snapshot {
    /// The members.
    pub fn members(&self) -> Vec<Member> {
        self.0.list("members").into_iter().map(Member).collect()
    }
    /// The configuration's `server.N` lines and version, without the local settings.
    pub fn membership(&self) -> String {
        let config = self.0.str("config");
        let lines: Vec<&str> =
            config.lines().filter(|l| l.starts_with("server.") || l.starts_with("version=")).collect();
        lines.join("\n")
    }
    /// The member to show first: the leader, else the first that serves.
    pub fn default_member(&self) -> Option<usize> {
        let ms = self.members();
        let m = ms.iter().find(|m| m.state() == "leader").or_else(|| ms.iter().find(|m| m.serving()));
        m.map(Member::index)
    }
    /// The console's new lines (seq, at, kind, text, ok, output).
    pub fn lines(&self) -> Vec<Obj> {
        self.0.list("lines")
    }
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

/// Reads `/api/live`'s JSON.
pub fn decode_snapshot(text: &str) -> Result<Snapshot, String> {
    let o = Obj::parse(text)?;
    o.num("polls").ok_or("`polls` is missing")?;
    Ok(Snapshot(o))
}

/// Fetches a JSON object.
async fn fetch(url: &str) -> Result<Obj, String> {
    Obj::parse(&request(url, None).await?)
}

/// Fetches the live picture and the console's lines after `after`.
pub async fn fetch_snapshot(after: u64) -> Result<Snapshot, String> {
    decode_snapshot(&request(&format!("api/live?after={after}"), None).await?)
}

/// Fetches member `member`'s tree from `root` (member, root, zxid, nodes [path, data,
/// bytes, children, ephemeral, version, mzxid], truncated, limit, error).
pub async fn fetch_tree(member: usize, root: &str) -> Result<Obj, String> {
    fetch(&format!("api/live/tree?member={member}&root={}", String::from(js_sys::encode_uri_component(root))))
        .await
}

/// Compares members `a` and `b` from `root` (names, same, verdict, digest, digest_same,
/// only_a, only_b, differ [path, a, b], more, error).
pub async fn fetch_compare(a: usize, b: usize, root: &str) -> Result<Obj, String> {
    fetch(&format!("api/live/compare?a={a}&b={b}&root={}", String::from(js_sys::encode_uri_component(root))))
        .await
}

/// Runs a console line on the attached ensemble (its answer arrives in the log).
pub async fn exec(line: &str) -> Result<(), String> {
    request("api/live/exec", Some(line)).await.map(drop)
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::*;

    #[wasm_bindgen_test]
    fn the_play_servers_json_is_read() {
        let text = r#"{"polls":3,"poll_ms":500,"members":[
            {"index":0,"addr":"h:1","id":1,"state":"leader","epoch":2,"zxid":"0x200000001","committed":"0x200000001","lag":0,"znodes":5,
             "connections":2,"outstanding":0,"latency":"0/0.1/3","watches":1,"ephemerals":0,"followers":"1/1","digest":"7",
             "config_version":"0","version":"3.8.0","down_for_ms":null,"error":null},
            {"index":1,"addr":"h:2","id":2,"state":"down","epoch":null,"zxid":null,"committed":null,"lag":null,"znodes":null,
             "connections":null,"outstanding":null,"latency":null,"watches":null,"ephemerals":null,"followers":null,"digest":null,
             "config_version":null,"version":null,"down_for_ms":1500,"error":"refused"}],
            "config":"clientPort=1\nserver.1=h:3:4:participant\nversion=0\n","agreement":"1 serving members at zxid 0x200000001",
            "diverged":false,"history":["17:00:01 s2 follower → down: refused"],
            "session":{"id":"0x1","addr":"h:1","state":"CONNECTED","watches":["data /a"],"watch_count":1,"timeout_ms":10000,"error":null},
            "lines":[{"seq":4,"at":"17:00:00","kind":"event","text":"WATCHER::WatchedEvent state:SyncConnected type:NodeDataChanged path:/a","ok":true,"output":""}],
            "missed":2,"next":4}"#;
        let s = decode_snapshot(text).unwrap();
        assert_eq!((s.0.num("polls"), s.0.num("next"), s.0.num("missed")), (Some(3), Some(4), Some(2)));
        let ms = s.members();
        let m = &ms[0];
        assert_eq!((m.role(), m.name().as_str(), m.index(), m.serving()), ("LEADING", "s1", 0, true));
        assert_eq!(
            (m.0.show("epoch"), m.0.show("latency"), m.0.show("connections")),
            ("2".into(), "0/0.1/3".into(), "2".into())
        );
        let d = &ms[1];
        assert_eq!(
            (d.role(), d.0.text("error").as_deref(), d.0.num("down_for_ms"), d.index()),
            ("DOWN", Some("refused"), Some(1500), 1)
        );
        assert_eq!(d.0.show("zxid"), "—");
        assert_eq!(s.membership(), "server.1=h:3:4:participant\nversion=0");
        assert_eq!(s.default_member(), Some(0));
        assert_eq!(s.0.obj("session").strings("watches"), ["data /a"]);
        let lines = s.lines();
        assert_eq!((lines[0].num("seq"), lines[0].str("kind").as_str()), (Some(4), "event"));
        assert_eq!(s.0.strings("history").len(), 1);
        assert!(decode_snapshot("[1]").is_err());
        assert!(decode_snapshot(r#"{"members":[]}"#).unwrap_err().contains("polls"));
        assert!(decode_snapshot("not json").is_err());
        // A tree and a comparison are read the same way.
        let t = Obj::parse(
            r#"{"member":1,"nodes":[{"path":"/e","ephemeral":true,"version":3}],"truncated":true}"#,
        )
        .unwrap();
        let z = &t.list("nodes")[0];
        assert!(z.flag("ephemeral") && z.show("version") == "3" && t.flag("truncated"));
        let c = Obj::parse(r#"{"names":["s1","s2"],"digest_same":null,"differ":[{"path":"/y"}]}"#).unwrap();
        assert_eq!(
            (c.strings("names").len(), c.bool("digest_same"), c.list("differ")[0].str("path").as_str()),
            (2, None, "/y")
        );
    }
}
