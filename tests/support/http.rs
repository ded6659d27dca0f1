//! Plain HTTP requests a case makes itself (to read a peer's documents).

use std::time::Duration;

use serde_json::Value;

/// A client that never uses a proxy and never follows a redirect.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .expect("reqwest client")
}

/// `GET url`, which must answer 200 with JSON.
pub fn get_json(url: &str) -> Value {
    let resp = client()
        .get(url)
        .send()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"));
    assert_eq!(resp.status(), 200, "GET {url}");
    serde_json::from_str(&resp.text().expect("body")).expect("JSON body")
}
