//! Per-client rate limiting: a token bucket per IPv4 address or IPv6 /64 (one host's
//! usual allocation: per-address buckets would give an IPv6 client billions), refilled
//! continuously. A request costs one token plus one per KiB of body, so a batch of a
//! thousand transactions costs what its work costs.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;

/// Most client addresses tracked; beyond that, full buckets are forgotten.
const MAX_TRACKED: usize = 10_000;

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The shared limiter (`per_second = 0` turns it off).
#[derive(Clone)]
pub(crate) struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<IpAddr, Bucket>>>,
}

impl RateLimiter {
    pub(crate) fn new(per_second: u32, burst: u32) -> Self {
        Self {
            per_second: f64::from(per_second),
            burst: f64::from(burst.max(per_second).max(1)),
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes one token for `ip`; false if its bucket is empty.
    #[cfg(test)]
    fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        self.allow_cost(ip, 1.0, now)
    }

    /// Takes `cost` tokens from `ip`'s bucket; false if it holds fewer.
    fn allow_cost(&self, ip: IpAddr, cost: f64, now: Instant) -> bool {
        if self.per_second <= 0.0 {
            return true;
        }
        let client = client_of(ip);
        let Ok(mut buckets) = self.buckets.lock() else { return true };
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&client) {
            let (rate, burst) = (self.per_second, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.updated).as_secs_f64() * rate < burst
            });
            // Still full of active clients: forget half of them at once, so eviction stays
            // amortised O(1) per request whatever the number of clients.
            if buckets.len() >= MAX_TRACKED {
                let forget: Vec<IpAddr> = buckets.keys().take(MAX_TRACKED / 2).copied().collect();
                for key in forget {
                    buckets.remove(&key);
                }
            }
        }
        let bucket = buckets.entry(client).or_insert(Bucket { tokens: self.burst, updated: now });
        let elapsed = now.duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_second).min(self.burst);
        bucket.updated = now;
        let cost = cost.min(self.burst);
        if bucket.tokens >= cost {
            bucket.tokens -= cost;
            true
        } else {
            false
        }
    }
}

/// The bucket a client address falls in: itself for IPv4, its /64 for IPv6.
fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut octets = v6.octets();
                octets[8..].fill(0);
                IpAddr::V6(octets.into())
            }
        },
    }
}

/// What a request costs: one token, plus one per KiB of declared body.
fn cost_of(request: &Request) -> f64 {
    let length = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    1.0 + (length / 1024) as f64
}

/// The middleware: 429 with a JSON error once a client IP's bucket is empty.
pub(crate) async fn limit(
    State(limiter): State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    if let Some(ip) = ip {
        if !limiter.allow_cost(ip, cost_of(&request), Instant::now()) {
            return ApiError::rate_limited().into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(10, 20);
        let ip: IpAddr = [127, 0, 0, 1].into();
        let start = Instant::now();
        assert_eq!((0..25).filter(|_| limiter.allow(ip, start)).count(), 20);
        let later = start + Duration::from_millis(500);
        assert_eq!((0..25).filter(|_| limiter.allow(ip, later)).count(), 5);
        // Another client has its own bucket.
        assert!(limiter.allow([10, 0, 0, 1].into(), later));
        assert!(RateLimiter::new(0, 0).allow(ip, later));
    }

    /// [S] finding 11: buckets were per IPv6 address (a /64 holds 2^64 of them) and a
    /// request's cost ignored its size (a thousand-transaction batch cost one token).
    #[test]
    fn a_client_refuses_to_multiply_its_budget_by_address_or_batch() {
        let limiter = RateLimiter::new(10, 20);
        let now = Instant::now();
        let host = |i: u16| -> IpAddr { format!("2001:db8::{i:x}").parse().expect("ipv6") };
        let admitted = (0..100u16).filter(|i| limiter.allow(host(*i), now)).count();
        assert_eq!(admitted, 20, "one /64 shares one bucket");
        let other: IpAddr = "2001:db8:0:1::1".parse().expect("ipv6");
        assert!(limiter.allow(other, now), "another /64 has its own");
        // A large body costs by its size.
        let v4: IpAddr = [10, 0, 0, 2].into();
        assert!(limiter.allow_cost(v4, 15.0, now));
        assert!(!limiter.allow_cost(v4, 15.0, now));
    }

    #[test]
    fn the_client_table_refuses_to_grow_past_its_bound() {
        let limiter = RateLimiter::new(1, 1);
        let now = Instant::now();
        for i in 0..(3 * MAX_TRACKED as u32) {
            limiter.allow(IpAddr::V4(i.into()), now);
        }
        assert!(limiter.buckets.lock().expect("lock").len() <= MAX_TRACKED);
    }
}
