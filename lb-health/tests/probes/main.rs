//! The check codecs fed real server bytes (captured from Redis 7.0 and MariaDB 10.11), in
//! every chunking, and garbage.

mod conversation;
mod garbage;
mod http;
mod mysql;
mod redis;
mod script;
mod tcp;
