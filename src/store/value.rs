//! Session values carry their version so a read can be checked against the
//! ledger: `v<version>|<session>|<padding>` padded to the configured size.
//!
//! A session kept by read-modify-write updates (`*-update` strategies)
//! also carries one token per update that reached it:
//! `v<version>|<session>|t<token>,<token>,…|<padding>` — the token of an
//! update is its version, so an acknowledged update missing from a later
//! value is a lost update ([`crate::check::updates`]).

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

/// The update tokens a value carries; `None` when it carries none (not a
/// value written by updates, or not ours). A malformed token list is
/// `None` too: it proves nothing about any update.
pub fn tokens_of(value: &str) -> Option<Vec<u64>> {
    let list = value.split('|').nth(2)?.strip_prefix('t')?;
    list.split(',').map(|t| t.parse().ok()).collect()
}

/// The value an update writes: `base` (what [`encode`] made of the update:
/// its version, session and size) with the tokens of `old` (what the
/// update read; `None`: nothing) and its own version as a token. `None`
/// when `base` is not versioned or `old` carries no tokens (not a session
/// kept by updates: writing over it would erase what it holds unseen).
pub fn with_token(base: &str, old: Option<&str>) -> Option<String> {
    let version = version_of(base)?;
    let session = base.split('|').nth(1)?;
    let mut tokens = match old {
        Some(o) => tokens_of(o)?,
        None => Vec::new(),
    };
    tokens.push(version);
    Some(compose(version, session, &tokens, base.len()))
}

/// A value with `tokens`, padded to `bytes`.
pub fn compose(version: u64, session: &str, tokens: &[u64], bytes: usize) -> String {
    use std::fmt::Write;
    let mut s = format!("v{version}|{session}|t");
    for (i, t) in tokens.iter().enumerate() {
        let _ = write!(s, "{}{t}", if i == 0 { "" } else { "," });
    }
    s.push('|');
    let pad = bytes.saturating_sub(s.len());
    s.extend(std::iter::repeat_n('x', pad));
    s
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

    #[test]
    fn updates_carry_every_token_they_read_and_their_own() {
        let first = super::with_token(&super::encode(42, 1, 64), None).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(super::version_of(&first), Some(1));
        assert_eq!(super::tokens_of(&first), Some(vec![1]));
        let second = super::with_token(&super::encode(42, 3, 64), Some(&first)).unwrap();
        assert_eq!(super::version_of(&second), Some(3));
        assert_eq!(super::tokens_of(&second), Some(vec![1, 3]));
        // Plain values carry none, with or without padding.
        assert_eq!(super::tokens_of(&super::encode(42, 3, 64)), None);
        assert_eq!(super::tokens_of(&super::encode(42, 3, 0)), None);
        assert_eq!(super::tokens_of("v1|2|t1,x|"), None);
        // An update never writes over a value without tokens.
        assert_eq!(
            super::with_token(&super::encode(42, 4, 64), Some("v1|2|t1,x|")),
            None
        );
        // Longer than the size: never cut.
        let many: Vec<u64> = (1..100).collect();
        let v = super::compose(100, "42", &many, 64);
        assert_eq!(super::tokens_of(&v), Some(many));
    }
}
