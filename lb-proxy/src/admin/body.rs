//! Request bodies of the admin API: JSON objects of at most [`MAX_BODY`] bytes, read into
//! the request's own type; a body that is too large or is not what the route expects is
//! refused with 400 and what was wrong.

use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;

/// The largest request body read.
pub(super) const MAX_BODY: usize = 64 * 1024;

/// Reads `body` as JSON of type `T`; the error says why not, for a 400.
pub(super) async fn read<T: DeserializeOwned>(body: Incoming) -> Result<T, String> {
    let bytes = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map_err(|error| format!("cannot read the request body: {error}"))?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|error| format!("bad request body: {error}"))
}
