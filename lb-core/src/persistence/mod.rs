//! Persistence: keeping clients on their server (source IP, cookie, last successful).
