//! What the fuzz targets (`fuzz/`) reach inside the crate, behind the cargo feature `fuzzing`
//! so that it is no part of the embedding API: the HTTP/1 request guard, the end of each
//! request as lb's client loop reads a stream, and a server's response as lb reads it.

pub use crate::pipeline::http::guard::{GuardLimits, RequestGuard, Violation};
pub use crate::pipeline::http::upstream::read_response;
pub use crate::pipeline::http::{RequestEnds, request_ends};
