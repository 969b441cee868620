//! Just enough HTTP/1.1 to cut a client's byte stream into requests, and
//! the DynamoDB error responses the `throttle` fault answers with. The AWS
//! SDK sends one request at a time per connection with a Content-Length.

/// If `buf` starts with a complete request, its length in bytes.
pub fn request_len(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let body = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())
                .flatten()
        })
        .unwrap_or(0);
    (buf.len() >= head_end + body).then_some(head_end + body)
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
        assert_eq!(request_len(req), Some(req.len()));
        assert_eq!(request_len(&req[..req.len() - 1]), None);
        let mut two = req.to_vec();
        two.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(request_len(&two), Some(req.len()));
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
