//! JSON-RPC over stdio with Content-Length framing, forgiving of bad input: a body that is
//! not JSON gets a parse error (-32700), one that is not a JSON-RPC message an invalid-request
//! error (-32600), and the server reads on.

use lsp_server::{Connection, Message};
use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub struct Threads {
    writer: JoinHandle<()>,
}

impl Threads {
    /// Waits until everything the server sent is written.
    pub fn finish(self) {
        let _ = self.writer.join();
    }
}

fn write_frame(out: &Mutex<std::io::Stdout>, body: &str) {
    let Ok(stdout) = out.lock() else { return };
    let mut w = stdout.lock();
    let _ = write!(w, "Content-Length: {}\r\n\r\n{body}", body.len());
    let _ = w.flush();
}

fn error(id: serde_json::Value, code: i32, message: &str) -> String {
    serde_json::json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
        .to_string()
}

/// One framed body: `Ok(None)` at the end of input; `Err` for a header block without a
/// usable Content-Length (the body, if any, cannot be found).
fn read_frame(r: &mut impl BufRead) -> std::io::Result<Option<Result<Vec<u8>, String>>> {
    let mut len: Option<usize> = None;
    let mut saw_header = false;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            if !saw_header {
                continue;
            }
            break;
        }
        saw_header = true;
        if let Some((k, v)) = l.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok();
        }
    }
    let Some(len) = len.filter(|n| *n <= 64 * 1024 * 1024) else {
        return Ok(Some(Err("missing or bad Content-Length header".into())));
    };
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(Some(Ok(body)))
}

pub fn stdio() -> (Connection, Threads) {
    let (server, client) = Connection::memory();
    let out = Arc::new(Mutex::new(std::io::stdout()));
    let to_server = client.sender;
    let from_server = client.receiver;
    let out_r = out.clone();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        while let Ok(Some(frame)) = read_frame(&mut input) {
            let body = match frame {
                Ok(b) => b,
                Err(e) => {
                    write_frame(&out_r, &error(serde_json::Value::Null, -32700, &e));
                    continue;
                }
            };
            // One pass for a good message; a second only to say what is wrong with a bad one.
            if let Ok(m) = serde_json::from_slice::<Message>(&body) {
                if to_server.send(m).is_err() {
                    break;
                }
                continue;
            }
            match serde_json::from_slice::<serde_json::Value>(&body) {
                Ok(v) => {
                    let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
                    write_frame(&out_r, &error(id, -32600, "not a JSON-RPC message"));
                }
                Err(e) => write_frame(
                    &out_r,
                    &error(
                        serde_json::Value::Null,
                        -32700,
                        &format!("parse error: {e}"),
                    ),
                ),
            }
        }
        // End of input: the server sees its channel close.
    });
    let writer = std::thread::spawn(move || {
        let timing = super::timing();
        for m in from_server {
            let t = std::time::Instant::now();
            if let Ok(body) = serde_json::to_string(&m) {
                write_frame(&out, &body);
                if timing {
                    eprintln!("wrote {} bytes in {:?}", body.len(), t.elapsed());
                }
            }
        }
    });
    (server, Threads { writer })
}
