//! The bookkeeping of idle server connections, apart from the connections themselves: stacks
//! by [`PoolKey`], the most recently used last, each bounded and aged.
//!
//! Connections made from the balancer's own address (or a fixed `source`) can carry any
//! client's requests: one stack per server, in a short list (a VIP has few servers, and a scan
//! of it costs less than hashing an address). Connections made from a client's address
//! (`source = "client"`) can carry only that client's requests: one stack per client address
//! and server, in a map, as there are as many as the VIP has recent clients. A stack emptied
//! by a take is removed. A push drops its own stack's expired items; [`IdleStacks::expire`],
//! which the owner calls on a timer, drops every expired item and the client stacks left
//! empty, so a VIP gone quiet, or a client that went away, holds no connection for much longer
//! than the idle limit.
//!
//! Defaults: none of its own (see the parent module for the limits the VIP uses).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::time::Instant;

/// Which idle connections a request may take: those to its server and, when connections come
/// from the client's address, only those made from its client's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    /// The server's address.
    pub(crate) server: SocketAddr,
    /// The client address the connections were made from (`source = "client"`), else `None`.
    pub(crate) client: Option<IpAddr>,
}

/// Idle items (connections), each with when it went idle, the most recent last.
type Stack<C> = Vec<(C, Instant)>;

/// The idle connections of one VIP.
#[derive(Debug)]
pub(super) struct IdleStacks<C> {
    /// Connections any client may use, by server.
    shared: Vec<(SocketAddr, Stack<C>)>,
    /// Connections made from a client's address, by that address and the server.
    by_client: HashMap<(IpAddr, SocketAddr), Stack<C>>,
    max_idle: usize,
    idle_limit: Duration,
}

impl<C> IdleStacks<C> {
    /// Stacks of at most `max_idle` items, each dropped once idle `idle_limit` or longer.
    pub(super) fn new(max_idle: usize, idle_limit: Duration) -> Self {
        IdleStacks {
            shared: Vec::new(),
            by_client: HashMap::new(),
            max_idle,
            idle_limit,
        }
    }

    /// The most recently pushed item of `key`'s stack, with when it went idle.
    pub(super) fn pop(&mut self, key: PoolKey) -> Option<(C, Instant)> {
        match key.client {
            None => {
                let (_, stack) = self.shared.iter_mut().find(|(to, _)| *to == key.server)?;
                stack.pop()
            }
            Some(client) => {
                let stack = self.by_client.get_mut(&(client, key.server))?;
                let item = stack.pop();
                if stack.is_empty() {
                    self.by_client.remove(&(client, key.server));
                }
                item
            }
        }
    }

    /// Keeps `item`, idle from `now`, on `key`'s stack: that stack's expired items are dropped
    /// first and its oldest beyond `max_idle` after.
    pub(super) fn push(&mut self, key: PoolKey, item: C, now: Instant) {
        let stack = match key.client {
            None => match self.shared.iter().position(|(to, _)| *to == key.server) {
                Some(at) => &mut self.shared[at].1,
                None => {
                    self.shared.push((key.server, Vec::new()));
                    &mut self.shared.last_mut().expect("just pushed").1
                }
            },
            Some(client) => self.by_client.entry((client, key.server)).or_default(),
        };
        let limit = self.idle_limit;
        let expired = stack
            .iter()
            .take_while(|(_, since)| now.duration_since(*since) >= limit)
            .count();
        stack.drain(..expired);
        stack.push((item, now));
        if stack.len() > self.max_idle {
            stack.remove(0);
        }
    }

    /// Drops the items of servers whose address is not in `addresses`.
    pub(super) fn keep_only(&mut self, addresses: &[SocketAddr]) {
        self.shared.retain(|(to, _)| addresses.contains(to));
        self.by_client.retain(|(_, to), _| addresses.contains(to));
    }

    /// Drops every item idle `idle_limit` or longer at `now`, and the client stacks left
    /// empty; answers how many items were dropped.
    pub(super) fn expire(&mut self, now: Instant) -> usize {
        let limit = self.idle_limit;
        let mut dropped = 0;
        let mut expire = |stack: &mut Stack<C>| {
            let before = stack.len();
            stack.retain(|(_, since)| now.duration_since(*since) < limit);
            dropped += before - stack.len();
        };
        for (_, stack) in &mut self.shared {
            expire(stack);
        }
        self.by_client.retain(|_, stack| {
            expire(stack);
            !stack.is_empty()
        });
        dropped
    }

    /// Items kept, over every stack.
    #[cfg(test)]
    fn len(&self) -> usize {
        let shared: usize = self.shared.iter().map(|(_, stack)| stack.len()).sum();
        shared + self.by_client.values().map(Vec::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_secs(30);

    fn key(server: u16, client: Option<u8>) -> PoolKey {
        PoolKey {
            server: SocketAddr::from(([192, 0, 2, 11], server)),
            client: client.map(|last| IpAddr::from([198, 51, 100, last])),
        }
    }

    #[test]
    fn a_client_s_connections_go_to_that_client_only() {
        let mut stacks = IdleStacks::new(8, LIMIT);
        let now = Instant::now();
        stacks.push(key(80, Some(1)), "from 1", now);
        stacks.push(key(80, Some(2)), "from 2", now);
        stacks.push(key(80, None), "shared", now);
        assert_eq!(stacks.pop(key(80, Some(3))), None, "another client");
        assert_eq!(stacks.pop(key(81, Some(1))), None, "another server");
        assert_eq!(stacks.pop(key(80, Some(2))).map(|i| i.0), Some("from 2"));
        assert_eq!(stacks.pop(key(80, Some(2))), None);
        assert_eq!(stacks.pop(key(80, None)).map(|i| i.0), Some("shared"));
        assert_eq!(stacks.pop(key(80, Some(1))).map(|i| i.0), Some("from 1"));
        assert_eq!(stacks.len(), 0);
        assert!(stacks.by_client.is_empty(), "emptied stacks are removed");
    }

    #[test]
    fn the_most_recent_is_taken_and_the_oldest_beyond_the_bound_dropped() {
        let mut stacks = IdleStacks::new(2, LIMIT);
        let now = Instant::now();
        for client in [None, Some(1)] {
            for item in 1..=3 {
                stacks.push(key(80, client), item, now);
            }
            assert_eq!(stacks.pop(key(80, client)).map(|i| i.0), Some(3));
            assert_eq!(stacks.pop(key(80, client)).map(|i| i.0), Some(2));
            assert_eq!(stacks.pop(key(80, client)), None);
        }
    }

    #[test]
    fn expiry_drops_every_stack_s_old_items_and_the_empty_client_stacks() {
        let mut stacks = IdleStacks::new(8, LIMIT);
        let start = Instant::now();
        for client in 0..100 {
            stacks.push(key(80, Some(client)), client, start);
        }
        stacks.push(key(80, None), 250, start);
        stacks.push(key(80, Some(200)), 200, start + LIMIT / 2);
        stacks.push(key(81, None), 251, start + LIMIT / 2);
        // Before the limit, nothing expires.
        assert_eq!(stacks.expire(start + LIMIT / 2), 0);
        assert_eq!(stacks.len(), 103);
        // At the limit, whatever went idle at the start goes, shared or by client.
        assert_eq!(stacks.expire(start + LIMIT), 101);
        assert_eq!(stacks.len(), 2);
        assert_eq!(
            stacks.by_client.len(),
            1,
            "emptied client stacks are removed"
        );
        assert_eq!(stacks.pop(key(80, Some(200))).map(|i| i.0), Some(200));
        assert_eq!(stacks.pop(key(81, None)).map(|i| i.0), Some(251));
    }

    #[test]
    fn removed_servers_lose_their_connections() {
        let mut stacks = IdleStacks::new(8, LIMIT);
        let now = Instant::now();
        for client in [None, Some(1)] {
            stacks.push(key(80, client), 80, now);
            stacks.push(key(81, client), 81, now);
        }
        stacks.keep_only(&[key(81, None).server]);
        assert_eq!(stacks.len(), 2);
        assert_eq!(stacks.pop(key(80, Some(1))), None);
        assert_eq!(stacks.pop(key(81, Some(1))).map(|i| i.0), Some(81));
    }
}
