//! Relay cursor connections over keyset pages: forward paging with `first` and `after`.

use async_graphql::{
    OutputType,
    connection::{Connection, Edge, OpaqueCursor},
};
use infra::{
    ServiceError,
    pagination::{Page, PageRequest},
};
use serde::{Serialize, de::DeserializeOwned};

use super::error::to_graphql;

/// Page size when a client does not say.
pub const DEFAULT_PAGE_SIZE: i32 = 20;

/// The largest page a client may ask for; set from configuration at start-up.
#[derive(Clone, Copy)]
pub struct MaxPageSize(pub usize);

/// Checks `first` and decodes `after`, refusing bad values with `BAD_USER_INPUT`.
pub fn page_request<K: Serialize + DeserializeOwned>(
    first: Option<i32>,
    after: Option<String>,
    max: MaxPageSize,
) -> async_graphql::Result<PageRequest<K>> {
    let first = first.unwrap_or(DEFAULT_PAGE_SIZE);
    let limit = usize::try_from(first)
        .ok()
        .filter(|n| (1..=max.0).contains(n))
        .ok_or_else(|| to_graphql(ServiceError::bad_input("first", format!("must be between 1 and {}", max.0))))?;
    let after = match after {
        None => None,
        Some(cursor) => {
            let decoded = <OpaqueCursor<K> as async_graphql::connection::CursorType>::decode_cursor(&cursor)
                .map_err(|_| to_graphql(ServiceError::bad_input("after", "is not a cursor from this list")))?;
            Some(decoded.0)
        }
    };
    Ok(PageRequest { after, limit: limit as u64 })
}

/// A connection from a page, each edge's cursor being the row's key.
pub fn connection<K, T, N>(
    page: Page<T>,
    had_cursor: bool,
    key: impl Fn(&T) -> K,
    node: impl Fn(T) -> N,
) -> Connection<OpaqueCursor<K>, N>
where
    K: Serialize + DeserializeOwned + Send + Sync,
    N: OutputType,
{
    let mut connection = Connection::new(had_cursor, page.has_next_page);
    connection.edges.extend(page.items.into_iter().map(|item| Edge::new(OpaqueCursor(key(&item)), node(item))));
    connection
}
