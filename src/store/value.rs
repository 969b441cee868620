//! Session values carry their version so a read can be checked against the
//! ledger: `v<version>|<session>|<padding>` padded to the configured size.

pub fn encode(session: u64, version: u64, bytes: usize) -> String {
    let mut s = format!("v{version}|{session}|");
    let pad = bytes.saturating_sub(s.len());
    s.extend(std::iter::repeat_n('x', pad));
    s
}

/// The version in a stored value; `None` when the value is not ours.
pub fn version_of(value: &str) -> Option<u64> {
    value.strip_prefix('v')?.split('|').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trip_and_size() {
        let v = super::encode(42, 7, 64);
        assert_eq!(v.len(), 64);
        assert_eq!(super::version_of(&v), Some(7));
        assert_eq!(super::version_of("garbage"), None);
        // Too small a size still keeps the header intact.
        assert_eq!(
            super::version_of(&super::encode(1, 123456, 4)),
            Some(123456)
        );
    }
}
