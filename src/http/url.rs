//! URL helpers of the transport: encoding a key as one path segment.

/// Percent-encodes a key for use as one path segment.
pub fn encode_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_segment() {
        assert_eq!(super::encode_segment("a b/c+d"), "a%20b%2Fc%2Bd");
    }
}
