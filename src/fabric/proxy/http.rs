//! Just enough HTTP/1.1 to cut a client's byte stream into requests, and
//! the DynamoDB error responses the `throttle` fault answers with. The AWS
//! SDK sends one request at a time per connection with a Content-Length.

/// The longest request head the proxy waits for: a head without its blank
/// line was searched again on every read (16 MiB cost 199 s of CPU).
pub const MAX_HEAD: usize = 64 * 1024;

/// The longest body: DynamoDB's largest request (BatchWriteItem) is 16 MB.
pub const MAX_BODY: usize = 32 << 20;

/// What the start of a client's byte stream holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed {
    /// A whole request of this many bytes.
    Complete(usize),
    /// Not yet a whole request.
    Incomplete,
    /// Not a request this proxy forwards: the connection is closed.
    Invalid(&'static str),
}

/// Where the first request in `buf` ends.
pub fn request_len(buf: &[u8]) -> Framed {
    let Some(at) = buf.windows(4).take(MAX_HEAD).position(|w| w == b"\r\n\r\n") else {
        return if buf.len() >= MAX_HEAD + 3 {
            Framed::Invalid("a request head over 64 KiB")
        } else {
            Framed::Incomplete
        };
    };
    let head_end = at + 4;
    let Ok(head) = std::str::from_utf8(&buf[..head_end]) else {
        return Framed::Invalid("a request head that is not text");
    };
    let mut body = 0usize;
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if k.trim().eq_ignore_ascii_case("content-length") {
            match v.trim().parse::<usize>() {
                Ok(n) if n <= MAX_BODY => body = n,
                Ok(_) => return Framed::Invalid("a body over 32 MiB"),
                Err(_) => return Framed::Invalid("a Content-Length that is not a number"),
            }
        }
    }
    let total = head_end + body; // both bounded: no overflow
    if buf.len() >= total {
        Framed::Complete(total)
    } else {
        Framed::Incomplete
    }
}

/// The response DynamoDB gives a throttled request (`status` 400), or a
/// server error (5xx).
pub fn error_response(status: u16, n: u64) -> Vec<u8> {
    let (reason, kind, message) = if status == 400 {
        (
            "Bad Request",
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
        )
    } else {
        (
            "Internal Server Error",
            "InternalServerError",
            "Internal server error (injected by sessiondrill)",
        )
    };
    let body = format!(
        "{{\"__type\":\"com.amazonaws.dynamodb.v20120810#{kind}\",\"message\":\"{message}\"}}"
    );
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\nx-amzn-ErrorType: {kind}\r\nx-amzn-RequestId: sessiondrill-{n}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_requests_by_content_length() {
        let req = b"POST / HTTP/1.1\r\nHost: x\r\ncontent-length: 5\r\n\r\nhello";
        assert_eq!(request_len(req), Framed::Complete(req.len()));
        assert_eq!(request_len(&req[..req.len() - 1]), Framed::Incomplete);
        let mut two = req.to_vec();
        two.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(request_len(&two), Framed::Complete(req.len()));
    }

    #[test]
    fn hostile_framing_is_refused_not_overflowed_or_rescanned() {
        // 2^64 - 1: head_end + body overflowed (a panic in debug builds).
        let huge = b"POST / HTTP/1.1\r\ncontent-length: 18446744073709551615\r\n\r\n";
        assert!(matches!(request_len(huge), Framed::Invalid(_)));
        let nan = b"POST / HTTP/1.1\r\ncontent-length: lots\r\n\r\n";
        assert!(matches!(request_len(nan), Framed::Invalid(_)));
        // A head that never ends is given up at 64 KiB, not read for ever.
        let mut endless = b"POST / HTTP/1.1\r\nx: ".to_vec();
        endless.resize(MAX_HEAD - 10, b'a');
        assert_eq!(request_len(&endless), Framed::Incomplete);
        endless.resize(MAX_HEAD + 10, b'a');
        assert!(matches!(request_len(&endless), Framed::Invalid(_)));
        // The limits themselves are fine.
        let big = format!("POST / HTTP/1.1\r\ncontent-length: {MAX_BODY}\r\n\r\n");
        assert_eq!(request_len(big.as_bytes()), Framed::Incomplete);
    }

    #[test]
    fn throttle_response_has_dynamodb_shape() {
        let r = String::from_utf8(error_response(400, 7)).unwrap();
        assert!(r.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(r.contains("x-amzn-ErrorType: ProvisionedThroughputExceededException\r\n"));
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(
            v["__type"],
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"
        );
    }
}
