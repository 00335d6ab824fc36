//! A real S3 server on loopback for the destination tests: `moto_server` (PyPI
//! `moto[server]`) started by the test on a port it chose, killed when dropped. Its bucket is
//! created with versioning on, so a second write to a key shows as a second version. The
//! test reads it over plain HTTP (moto does not check signatures): the versions of every key,
//! an object's bytes, an object put behind the daemon's back.

use std::collections::BTreeMap;
use std::time::Duration;

use super::wait_for;

/// A free loopback port: bound, read and released (moto binds it itself, possibly later).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    listener.local_addr().expect("local address").port()
}

/// A running `moto_server`.
pub struct Moto {
    child: tokio::process::Child,
    pub port: u16,
    http: reqwest::Client,
}

impl Moto {
    /// Starts `moto_server` on `port` and waits until it answers. Fails, saying how to install
    /// it, when it is not on the PATH.
    pub async fn start(port: u16) -> Moto {
        let child = tokio::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("moto_server cannot be started ({e}): install it with pip install 'moto[server]'")
            });
        let moto = Moto {
            child,
            port,
            http: reqwest::Client::new(),
        };
        wait_for("moto_server to answer", Duration::from_secs(60), || async {
            moto.http.get(moto.url("")).send().await.is_ok()
        })
        .await;
        moto
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.endpoint())
    }

    /// Creates `bucket` with versioning on.
    pub async fn versioned_bucket(&self, bucket: &str) {
        let made = self
            .http
            .put(self.url(bucket))
            .send()
            .await
            .expect("create bucket");
        assert!(
            made.status().is_success(),
            "create bucket: {}",
            made.status()
        );
        let body = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        let on = self
            .http
            .put(self.url(&format!("{bucket}?versioning")))
            .body(body)
            .send()
            .await
            .expect("enable versioning");
        assert!(on.status().is_success(), "versioning: {}", on.status());
    }

    /// Every key of `bucket` with how many versions it has.
    pub async fn versions(&self, bucket: &str) -> BTreeMap<String, usize> {
        let xml = self
            .http
            .get(self.url(&format!("{bucket}?versions")))
            .send()
            .await
            .expect("list versions")
            .text()
            .await
            .expect("versions body");
        let mut counts = BTreeMap::new();
        for version in xml.split("<Version>").skip(1) {
            let key = between(version, "<Key>", "</Key>").expect("a version's key");
            *counts.entry(key.replace("&amp;", "&")).or_insert(0) += 1;
        }
        counts
    }

    /// A signed client of `bucket` (objects are private: moto refuses anonymous reads).
    fn store(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_endpoint(self.endpoint())
            .with_allow_http(true)
            .with_access_key_id("AKIDTESTREADER")
            .with_secret_access_key("reader")
            .build()
            .expect("an S3 client")
    }

    /// The current bytes of `key`.
    pub async fn get(&self, bucket: &str, key: &str) -> Vec<u8> {
        use object_store::ObjectStore;
        let path = object_store::path::Path::from(key);
        let got = self.store(bucket).get(&path).await;
        let got = got.unwrap_or_else(|e| panic!("get {key}: {e}"));
        got.bytes().await.expect("object bytes").to_vec()
    }

    /// Puts `bytes` at `key` (as another writer would).
    pub async fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        use object_store::ObjectStore;
        let path = object_store::path::Path::from(key);
        let payload = object_store::PutPayload::from(bytes.to_vec());
        let put = self.store(bucket).put(&path, payload).await;
        put.unwrap_or_else(|e| panic!("put {key}: {e}"));
    }

    /// Removes `key` (an operator clearing the way).
    pub async fn delete(&self, bucket: &str, key: &str) {
        use object_store::ObjectStore;
        let path = object_store::path::Path::from(key);
        let deleted = self.store(bucket).delete(&path).await;
        deleted.unwrap_or_else(|e| panic!("delete {key}: {e}"));
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = text.find(open)? + open.len();
    let end = start + text[start..].find(close)?;
    Some(&text[start..end])
}

/// The `[destinations.archive]` table for a bucket at `port`, and its reports' setting.
pub fn archive_destination(port: u16, bucket: &str) -> String {
    format!(
        "[destinations.archive]\nurl = \"s3://{bucket}/gcore\"\nendpoint = \"http://127.0.0.1:{port}\"\nregion = \"us-east-1\"\n"
    )
}
