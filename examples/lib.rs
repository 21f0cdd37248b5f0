//! Shared pieces of the runnable examples: simulated OpenStack controllers that speak just
//! enough of each service's protocol for the balancer's health checks and a demo client.
//!
//! These are demo stand-ins, not test doubles: the test suite runs the balancer against real
//! redis-server, MariaDB and nginx.

pub mod sim;
