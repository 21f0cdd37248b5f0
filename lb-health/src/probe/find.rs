//! Finding a needle in bytes that arrive piecewise without rescanning what was searched.

/// The end of the first occurrence of `needle` in `haystack`, knowing that
/// `haystack[..searched]` was already searched without success. An empty needle is found at 0.
pub(super) fn find_end(haystack: &[u8], needle: &[u8], searched: usize) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    let from = searched
        .saturating_sub(needle.len() - 1)
        .min(haystack.len());
    haystack[from..]
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at + needle.len())
}

#[cfg(test)]
mod tests {
    use super::find_end;

    #[test]
    fn finds_a_needle_across_the_searched_boundary() {
        let haystack = b"xxrole:master\r\n";
        assert_eq!(find_end(haystack, b"role:master", 0), Some(13));
        assert_eq!(find_end(haystack, b"role:master", 5), Some(13));
        assert_eq!(find_end(haystack, b"role:master", 12), Some(13));
        assert_eq!(find_end(haystack, b"role:slave", 0), None);
        assert_eq!(find_end(b"ab", b"abc", 0), None);
        assert_eq!(find_end(b"", b"", 0), Some(0));
    }
}
