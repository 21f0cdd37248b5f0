//! The status page (`GET /`): one self-contained HTML page, in the spirit of HAProxy's stats
//! page but easier to read. Every VIP is a table of its servers with state, weight, sessions
//! (open and total), connection rate, bytes and the checks' detail; the page polls
//! `/api/vips` every [`REFRESH`](self) (2 s) and computes rates from successive polls. Once an
//! operator enters the admin token (kept in the tab's session storage only), each server row
//! gets `ready`, `drain` and `maintenance` buttons that call
//! `PUT /api/vips/{vip}/servers/{server}/state`.

/// The page, with its style and script inline (no other request than the API's).
pub(super) const STATUS_PAGE: &str = include_str!("status.html");
