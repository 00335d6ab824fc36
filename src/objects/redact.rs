//! What of an object store's error may be shown: the service's XML error body can echo the
//! access key id, the string signed and the signature (a `SignatureDoesNotMatch` answer), and
//! an error's text goes to the log, the database (`uploads.last_error`) and `status`. Only the
//! body's `Code` and `Message` are kept.

/// An error's text without the service's XML body, which can echo the access key id, the
/// string signed and the signature (`SignatureDoesNotMatch`): only its `Code` and `Message`
/// are kept.
pub(super) fn without_body(text: &str) -> String {
    let text = text.replace('\n', " ");
    let Some(start) = text.find('<') else {
        return text;
    };
    let element = |name: &str| {
        let open = format!("<{name}>");
        let from = text.find(&open)? + open.len();
        let len = text[from..].find(&format!("</{name}>"))?;
        Some(text[from..from + len].to_string())
    };
    let mut out = text[..start].trim_end().to_string();
    for part in [element("Code"), element("Message")].into_iter().flatten() {
        out.push(' ');
        out.push_str(&part);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_body_echoing_the_access_key_id_is_cut_to_its_code_and_message() {
        let text = "Client error with status 403 Forbidden: <?xml version=\"1.0\"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message><AWSAccessKeyId>AKIAEXAMPLEKEYID</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 x</StringToSign><SignatureProvided>abc123</SignatureProvided></Error>";
        let cut = super::without_body(text);
        assert_eq!(
            cut,
            "Client error with status 403 Forbidden: SignatureDoesNotMatch The request signature we calculated does not match"
        );
        assert!(!cut.contains("AKIA") && !cut.contains("abc123"));
        assert_eq!(
            super::without_body("connection refused"),
            "connection refused"
        );
    }
}
