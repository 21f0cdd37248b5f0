//! A headless Chromium driven through chromedriver with the W3C WebDriver protocol, over a
//! minimal blocking HTTP/1.1 client: enough to open a page, find elements by CSS selector,
//! read what they show, type, click and take a screenshot.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::process::Process;
use super::{EVENT_TIMEOUT, free_port, local};

/// The key W3C WebDriver names element references with.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session.
pub struct Browser {
    driver: SocketAddr,
    session: String,
    _chromedriver: Process,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a profile in `dir`.
    pub fn start(dir: &Path) -> Browser {
        let port = free_port();
        let mut command = Command::new("chromedriver");
        command.arg(format!("--port={port}"));
        let chromedriver = Process::spawn("chromedriver", command);
        chromedriver.wait_for("started successfully", EVENT_TIMEOUT);
        let driver = local(port);
        let profile = dir.join("chromium-profile");
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1400,900",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        }}});
        let created = request(driver, "POST", "/session", Some(&capabilities));
        let session = created["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {created}"))
            .to_owned();
        Browser {
            driver,
            session,
            _chromedriver: chromedriver,
        }
    }

    /// Opens `url`.
    pub fn open(&self, url: &str) {
        self.command("POST", "/url", Some(&json!({ "url": url })));
    }

    /// The element matching `selector`, if there is one now.
    pub fn find(&self, selector: &str) -> Option<String> {
        let body = json!({ "using": "css selector", "value": selector });
        let found = request(self.driver, "POST", &self.path("/element"), Some(&body));
        found[ELEMENT].as_str().map(str::to_owned)
    }

    /// The text `selector` shows, as a person sees it (`innerText`: empty when hidden);
    /// `None` when no element matches. Read in one step, as the page redraws itself.
    pub fn text(&self, selector: &str) -> Option<String> {
        let script =
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;";
        let body = json!({ "script": script, "args": [selector] });
        let text = self.command("POST", "/execute/sync", Some(&body));
        text.as_str().map(str::to_owned)
    }

    /// Whether `selector` matches an element shown on screen.
    pub fn displayed(&self, selector: &str) -> bool {
        self.on_element(selector, |element| {
            self.try_command("GET", &format!("/element/{element}/displayed"), None)
        }) == Value::Bool(true)
    }

    /// Waits until `selector` shows `expected`, at most [`EVENT_TIMEOUT`]; panics with what it
    /// showed otherwise. Polls every 100 ms, as WebDriver clients do: the protocol announces
    /// no redraw.
    pub fn wait_text(&self, selector: &str, expected: &str) {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            let shown = self.text(selector);
            if shown.as_deref() == Some(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{selector} shows {shown:?}, not {expected:?}, after {EVENT_TIMEOUT:?}"
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Clicks `selector`.
    pub fn click(&self, selector: &str) {
        self.on_element(selector, |element| {
            self.try_command(
                "POST",
                &format!("/element/{element}/click"),
                Some(&json!({})),
            )
        });
    }

    /// Types `text` into `selector`.
    pub fn type_into(&self, selector: &str, text: &str) {
        self.on_element(selector, |element| {
            let body = json!({ "text": text });
            self.try_command("POST", &format!("/element/{element}/value"), Some(&body))
        });
    }

    /// Runs `action` on the element `selector` matches, finding it again if the page
    /// replaced it in between (the status page redraws every refresh).
    fn on_element(&self, selector: &str, action: impl Fn(&str) -> Result<Value, Value>) -> Value {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            let element = self
                .find(selector)
                .unwrap_or_else(|| panic!("no {selector}"));
            match action(&element) {
                Ok(value) => return value,
                Err(error) if error["error"] == "stale element reference" => {
                    assert!(Instant::now() < deadline, "{selector} stays stale");
                }
                Err(error) => panic!("{selector}: {error}"),
            }
        }
    }

    /// Saves a PNG screenshot of the page to `path`.
    pub fn screenshot(&self, path: &Path) {
        let encoded = self.command("GET", "/screenshot", None);
        std::fs::write(path, base64(encoded.as_str().expect("base64 PNG"))).unwrap();
    }

    fn path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    fn command(&self, method: &str, rest: &str, body: Option<&Value>) -> Value {
        self.try_command(method, rest, body)
            .unwrap_or_else(|error| panic!("{method} {rest}: {error}"))
    }

    fn try_command(&self, method: &str, rest: &str, body: Option<&Value>) -> Result<Value, Value> {
        let answer = request(self.driver, method, &self.path(rest), body);
        match answer.get("error") {
            Some(_) => Err(answer),
            None => Ok(answer),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        request(self.driver, "DELETE", &self.path(""), None);
    }
}

/// One WebDriver request; returns the answer's `value`.
fn request(driver: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Value {
    let body = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect(driver).expect("connect to chromedriver");
    stream.set_read_timeout(Some(EVENT_TIMEOUT)).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {driver}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    // chromedriver keeps the connection open: read the head, then Content-Length bytes.
    let mut response = Vec::new();
    let mut byte = [0u8; 1];
    while !response.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).expect("an HTTP response head");
        response.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&response).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .expect("chromedriver answers with a Content-Length");
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).expect("the whole body");
    let answer: Value = serde_json::from_slice(&body).expect("a JSON answer");
    answer["value"].clone()
}

fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> = text
        .bytes()
        .filter(|&c| c != b'=' && !c.is_ascii_whitespace())
        .map(value)
        .collect();
    digits
        .chunks(4)
        .flat_map(|chunk| {
            let bits = chunk.iter().fold(0u32, |acc, &d| (acc << 6) | u32::from(d))
                << (6 * (4 - chunk.len()));
            let bytes = bits.to_be_bytes();
            bytes[1..chunk.len()].to_vec()
        })
        .collect()
}
