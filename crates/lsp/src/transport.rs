//! The connection to an editor over standard input and output, which outlives a bad message.
//!
//! Messages are framed as the protocol says (`Content-Length: N`, a blank line, N bytes of
//! JSON). lsp-server's own stdio transport ends the session at the first payload that is not
//! a JSON-RPC message (and at a header it cannot read), so one malformed message from an
//! editor or a script would stop every later diagnostic. Here such a message is reported on
//! standard error (where editors log a server's words) and skipped, and reading goes on with
//! the next header. The server itself sees a [`Connection`] like any other
//! (lsp-server's in-memory pair: this module copies messages between its other end and the
//! process's standard streams).

use std::io::{self, BufRead, Write};
use std::thread::{self, JoinHandle};

use lsp_server::{Connection, Message};

/// The threads that carry messages between the server and the standard streams.
pub struct Threads {
    reader: JoinHandle<()>,
    writer: JoinHandle<io::Result<()>>,
}

impl Threads {
    /// Waits until every message the server sent is written, and reports a failed write.
    pub fn join(self) -> io::Result<()> {
        // The reader may wait on input forever (the editor keeps the pipe open): it is not
        // waited for.
        drop(self.reader);
        self.writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")))
    }
}

/// A connection over standard input and output, and its threads.
pub fn stdio() -> (Connection, Threads) {
    let (server, client) = Connection::memory();
    let Connection { sender, receiver } = client;
    let writer = thread::Builder::new()
        .name("mlpc-lsp-writer".into())
        .spawn(move || {
            let mut stdout = io::stdout().lock();
            for message in receiver {
                message.write(&mut stdout)?;
                stdout.flush()?;
            }
            Ok(())
        })
        .expect("a thread to write messages");
    let reader = thread::Builder::new()
        .name("mlpc-lsp-reader".into())
        .spawn(move || {
            let mut stdin = io::stdin().lock();
            for message in Messages::new(&mut stdin) {
                let exit = matches!(&message, Message::Notification(notification) if notification.method == "exit");
                if sender.send(message).is_err() || exit {
                    break;
                }
            }
        })
        .expect("a thread to read messages");
    (server, Threads { reader, writer })
}

/// The messages read from a stream, in order; what cannot be read is reported on standard
/// error and skipped. Ends with the stream.
pub struct Messages<'a, R: BufRead> {
    input: &'a mut R,
}

impl<'a, R: BufRead> Messages<'a, R> {
    /// Messages from `input`.
    pub fn new(input: &'a mut R) -> Self {
        Messages { input }
    }
}

impl<R: BufRead> Iterator for Messages<'_, R> {
    type Item = Message;

    fn next(&mut self) -> Option<Message> {
        loop {
            match read_payload(self.input) {
                Ok(None) => return None,
                Ok(Some(payload)) => match serde_json::from_slice::<Message>(&payload) {
                    Ok(message) => return Some(message),
                    Err(error) => eprintln!(
                        "mlpc lsp: skipped a message that is not JSON-RPC ({error}): {}",
                        shortened(&String::from_utf8_lossy(&payload))
                    ),
                },
                Err(Unreadable::Header(line)) => eprintln!(
                    "mlpc lsp: skipped a line that is not a message header: {}",
                    shortened(&line)
                ),
                Err(Unreadable::Input(error)) => {
                    eprintln!("mlpc lsp: standard input cannot be read: {error}");
                    return None;
                }
            }
        }
    }
}

/// Why no payload was read.
enum Unreadable {
    /// A header line that is not `Name: value` (or a blank line before any `Content-Length`).
    Header(String),
    /// The stream failed (or ended inside a payload).
    Input(io::Error),
}

/// The largest payload read (a larger one is skipped): far above any document's.
const MOST_BYTES: usize = 1 << 30;

/// The header that gives a payload's length.
const LENGTH_HEADER: &str = "content-length:";

/// The next message's payload: its headers read up to the blank line, then `Content-Length`
/// bytes. `None` at the end of the stream.
///
/// After something unreadable (a bad header, or a payload whose length was wrong) the stream
/// is resynchronised on the next `Content-Length` header, found even where it is glued to
/// the end of a payload with no line break (as editors write a body, then the next header).
fn read_payload(input: &mut impl BufRead) -> Result<Option<Vec<u8>>, Unreadable> {
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line).map_err(Unreadable::Input)? == 0 {
            return Ok(None);
        }
        // A header line, or the header at the end of whatever came before it.
        let header = match line.to_ascii_lowercase().rfind(LENGTH_HEADER) {
            Some(start) if length.is_none() => &line[start..],
            Some(_) | None => line.as_str(),
        };
        let header = header.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            match length {
                Some(_) => break,
                None => return Err(Unreadable::Header(line.clone())),
            }
        }
        let Some((name, value)) = header.split_once(':') else {
            return Err(Unreadable::Header(line.clone()));
        };
        if name.trim().eq_ignore_ascii_case("Content-Length") {
            match value.trim().parse::<usize>() {
                Ok(parsed) if parsed <= MOST_BYTES => length = Some(parsed),
                Ok(_) | Err(_) => return Err(Unreadable::Header(line.clone())),
            }
        }
    }
    let mut payload = vec![0; length.unwrap_or(0)];
    input.read_exact(&mut payload).map_err(Unreadable::Input)?;
    Ok(Some(payload))
}

/// At most 200 characters of `text`, for a log line.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(200) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(payload: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{payload}", payload.len())
    }

    /// The methods of the messages read from `stream`, in order.
    fn methods(stream: &str) -> Vec<String> {
        let mut input = stream.as_bytes();
        Messages::new(&mut input)
            .map(|message| match message {
                Message::Notification(notification) => notification.method,
                Message::Request(request) => request.method,
                Message::Response(_) => "response".into(),
            })
            .collect()
    }

    /// A malformed payload and a stray line are skipped; the messages around them arrive.
    #[test]
    fn bad_messages_are_skipped_and_reading_goes_on() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let exit = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let stream = format!(
            "{}{}garbage line\r\n{}{}",
            framed(good),
            framed("{not json"),
            framed(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#),
            framed(exit)
        );
        assert_eq!(methods(&stream), ["initialized", "shutdown", "exit"]);
    }

    /// A bad length header loses that message only: the body after it (which ends with no
    /// line break, the next header glued to it) is skipped and the next message read, as is
    /// one after a length past any document's.
    #[test]
    fn a_bad_length_loses_one_message_only() {
        let body = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let shutdown = r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#;
        let exit = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        for bad in [
            "Content-Length: abc",
            "Content-Length: 18446744073709551615",
        ] {
            let stream = format!("{bad}\r\n\r\n{body}{}{}", framed(shutdown), framed(exit));
            assert_eq!(methods(&stream), ["shutdown", "exit"], "{bad}");
        }
    }

    /// Headers are read case-blind, with or without the space, and other headers ignored.
    #[test]
    fn headers_are_read_as_the_protocol_allows() {
        let payload = r#"{"jsonrpc":"2.0","method":"exit"}"#;
        let stream = format!(
            "content-length:{}\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{payload}",
            payload.len()
        );
        let mut input = stream.as_bytes();
        assert_eq!(Messages::new(&mut input).count(), 1);
    }
}
