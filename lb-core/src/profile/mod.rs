//! The built-in OpenStack profile: VIP address and controllers to the 23 VIPs.
