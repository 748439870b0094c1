//! Keyset pagination: pages follow a unique, ordered key, so a page costs the same wherever it starts.

/// Which page to read: up to `limit` items after the item whose key is `after`.
#[derive(Debug, Clone)]
pub struct PageRequest<K> {
    pub after: Option<K>,
    pub limit: u64,
}

/// One page and whether more follow.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next_page: bool,
}

impl<T> Page<T> {
    /// Builds a page from a query that fetched `limit + 1` rows: the extra row only says that more follow.
    pub fn from_overfetched(mut rows: Vec<T>, limit: u64) -> Self {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        let has_next_page = rows.len() > limit;
        rows.truncate(limit);
        Self { items: rows, has_next_page }
    }
}
