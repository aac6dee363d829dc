//! The file a document's URI names, so that the checker resolves the model's data paths (which
//! are relative to the model file) exactly as `mlpc check` does.

use std::path::PathBuf;

use lsp_types::Uri;

/// The path of a `file:` URI (`file:///home/me/models/xor.mlp`, percent-escapes decoded), or
/// `None` for another scheme (an unsaved `untitled:` buffer) or a path that is not UTF-8.
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    let rest = strip_prefix_ignoring_case(uri.as_str(), "file://")?;
    // What follows `file://` is an authority (empty, `localhost`, or a host: a network
    // share), then the path.
    let slash = rest.find('/')?;
    let host = percent_decode(&rest[..slash])?;
    let path = &rest[slash..];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let decoded = percent_decode(path)?;
    if host.is_empty() || host.eq_ignore_ascii_case("localhost") {
        return Some(PathBuf::from(windows_drive(&decoded)));
    }
    Some(PathBuf::from(network_share(&host, &decoded)))
}

/// `file://server/share/m.mlp`: `\\server\share\m.mlp` on Windows; elsewhere the share is
/// mounted by other means, and the path alone (`/share/m.mlp`) is the best guess.
fn network_share(host: &str, path: &str) -> String {
    if cfg!(windows) {
        format!(r"\\{host}{}", path.replace('/', r"\"))
    } else {
        path.to_string()
    }
}

fn strip_prefix_ignoring_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &text[prefix.len()..])
}

/// `/C:/models/xor.mlp` is `C:/models/xor.mlp` on Windows.
fn windows_drive(path: &str) -> &str {
    let bytes = path.as_bytes();
    let has_drive = cfg!(windows)
        && bytes.len() >= 3
        && bytes[0] == b'/'
        && bytes[1].is_ascii_alphabetic()
        && bytes[2] == b':';
    if has_drive { &path[1..] } else { path }
}

/// Decodes `%XX` escapes; `None` if the result is not UTF-8. A `%` not followed by two hex
/// digits is kept as it is.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|digits| std::str::from_utf8(digits).ok())
            .and_then(|digits| u8::from_str_radix(digits, 16).ok());
        match escaped {
            Some(byte) => {
                decoded.push(byte);
                index += 3;
            }
            None => {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8(decoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(text: &str) -> Option<PathBuf> {
        let uri: Uri = text.parse().expect("a URI");
        file_path(&uri)
    }

    #[test]
    fn file_uris_name_their_paths_with_escapes_decoded() {
        assert_eq!(
            path_of("file:///home/me/models/xor.mlp"),
            Some(PathBuf::from("/home/me/models/xor.mlp"))
        );
        assert_eq!(
            path_of("file:///home/me/my%20models/caf%C3%A9.mlp"),
            Some(PathBuf::from("/home/me/my models/café.mlp"))
        );
        assert_eq!(
            path_of("file://localhost/tmp/a.mlp"),
            Some(PathBuf::from("/tmp/a.mlp"))
        );
        assert_eq!(
            path_of("FILE:///tmp/b.mlp"),
            Some(PathBuf::from("/tmp/b.mlp"))
        );
    }

    #[test]
    fn a_network_share_keeps_its_host_on_windows() {
        let path = path_of("file://server/share/m%20x.mlp").expect("a path");
        if cfg!(windows) {
            assert_eq!(path, PathBuf::from(r"\\server\share\m x.mlp"));
        } else {
            assert_eq!(path, PathBuf::from("/share/m x.mlp"));
        }
    }

    #[test]
    fn other_schemes_and_bad_escapes_name_no_file() {
        assert_eq!(path_of("untitled:Untitled-1"), None);
        assert_eq!(path_of("file:///tmp/%FF.mlp"), None);
        assert_eq!(percent_decode("100%").as_deref(), Some("100%"));
        assert_eq!(percent_decode("%4").as_deref(), Some("%4"));
    }
}
