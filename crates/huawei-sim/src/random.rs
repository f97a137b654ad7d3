//! Randomness for the simulator's ids, tokens and account numbers (OpenSSL's CSPRNG).

use openssl::error::ErrorStack;

/// `n` random bytes as lowercase hex.
pub fn hex(n: usize) -> Result<String, ErrorStack> {
    let mut buf = vec![0u8; n];
    openssl::rand::rand_bytes(&mut buf)?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// An unguessable token for cookies, RelayState and form steps (256 bits).
pub fn token() -> Result<String, ErrorStack> {
    hex(32)
}

/// An ID like Huawei's: `_` and 36 characters of `[a-z0-9]`.
pub fn huawei_style_id() -> Result<String, ErrorStack> {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut buf = [0u8; 36];
    openssl::rand::rand_bytes(&mut buf)?;
    let chars = buf
        .iter()
        .filter_map(|b| ALPHABET.get(usize::from(*b) % ALPHABET.len()))
        .map(|b| char::from(*b));
    Ok(std::iter::once('_').chain(chars).collect())
}
