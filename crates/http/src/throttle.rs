//! Rate limits per client address, in front of every route ([`limit`]): what a stranger can make the node do
//! is bounded however fast they ask (issues 13 and 14, ADR 0020).
//!
//! - **Peer work a stranger can start** — `POST /p2p/v1/handshake` (the node probes the URL it names),
//!   `POST /register_node`, and the seeds' resolve routes (a sync with every peer): at most
//!   [`PEER_WORK_PER_MINUTE`] per client address.
//! - **The peer protocol** — every `/p2p/v1/…` request: [`P2P_PER_SECOND`] per client address, in bursts of up to
//!   [`P2P_BURST`] (a sync asks for hundreds of blocks per request, so this never slows an honest peer).
//! - **Token guesses** — after [`TOKEN_FAILURES`] wrong API tokens (bearer header, UI cookie or the UI's token
//!   form) within [`TOKEN_LOCKOUT`], the client's token attempts are refused with 429 *before* the token is
//!   compared, until the window ends: a right guess is then indistinguishable from a wrong one.
//!
//! Loopback is exempt from the first two (it is the owner's own machine: a devnet of ten local nodes must not
//! throttle itself), never from the third. Clients are keyed by IPv4 address or IPv6 /64 prefix (one host
//! usually owns a whole /64). The limiters' memory is bounded: beyond [`MAX_CLIENTS`] tracked addresses the
//! idle ones are forgotten, and if all are recent a new address is refused until some expire.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;
use ferrochain_node::{ErrorCode, Node};

/// Peer work (handshakes with a URL, registrations, resolves) a client address may start per minute.
pub const PEER_WORK_PER_MINUTE: u32 = 20;
/// `/p2p/v1` requests per second per client address, sustained.
pub const P2P_PER_SECOND: u32 = 50;
/// `/p2p/v1` requests a client address may send at once before the per-second rate applies.
pub const P2P_BURST: u32 = 500;
/// Wrong API tokens from one client address before its token attempts are refused.
pub const TOKEN_FAILURES: u32 = 5;
/// How long the wrong tokens are counted, and how long a client is locked out after too many.
pub const TOKEN_LOCKOUT: Duration = Duration::from_secs(60);
/// Most client addresses tracked by each limiter.
pub const MAX_CLIENTS: usize = 65_536;

/// The routes through which a stranger makes this node contact other nodes.
const PEER_WORK: &[(Method, &str)] = &[
    (Method::POST, "/p2p/v1/handshake"),
    (Method::POST, "/register_node"),
    (Method::GET, "/nodes/resolve"),
    (Method::GET, "/blockchain/nodes/resolve"),
];

use ferrochain_node::client_address as client_key;

/// Compares a token in constant time (the time does not tell how much of a guess was right). Requests'
/// guesses go through [`Client::guess_token`], which also limits how many are wrong.
pub(crate) fn same_token(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// Wrong tokens of one client in the current window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    since: Instant,
}

/// The limiters of one server (one per [`crate::app`]).
#[derive(Debug)]
pub struct Throttle {
    peer_work: DefaultKeyedRateLimiter<IpAddr>,
    p2p: DefaultKeyedRateLimiter<IpAddr>,
    token_failures: Mutex<HashMap<IpAddr, Failures>>,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::new()
    }
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

/// Seconds until a refused client may retry (at least 1).
fn retry_secs(wait: Duration) -> u64 {
    wait.as_secs().max(1)
}

impl Throttle {
    /// The limiters with the limits of this module's constants.
    pub fn new() -> Throttle {
        Throttle {
            peer_work: RateLimiter::keyed(Quota::per_minute(nonzero(PEER_WORK_PER_MINUTE))),
            p2p: RateLimiter::keyed(
                Quota::per_second(nonzero(P2P_PER_SECOND)).allow_burst(nonzero(P2P_BURST)),
            ),
            token_failures: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request of `client` from `limiter`; `Err(seconds to wait)` when it is over its rate.
    fn take(limiter: &DefaultKeyedRateLimiter<IpAddr>, client: IpAddr) -> Result<(), u64> {
        let key = client_key(client);
        if limiter.len() >= MAX_CLIENTS {
            limiter.retain_recent();
            limiter.shrink_to_fit();
            if limiter.len() >= MAX_CLIENTS {
                return Err(1);
            }
        }
        limiter.check_key(&key).map_err(|not_until| {
            retry_secs(not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            )))
        })
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Failures>> {
        self.token_failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `Err(seconds to wait)` while `client` is locked out of token attempts.
    fn token_locked(&self, client: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut map = self.failures();
        match map.get(&client_key(client)).copied() {
            Some(f) if now.duration_since(f.since) >= TOKEN_LOCKOUT => {
                map.remove(&client_key(client));
                Ok(())
            }
            Some(f) if f.count >= TOKEN_FAILURES => {
                Err(retry_secs(TOKEN_LOCKOUT - now.duration_since(f.since)))
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong token from `client`.
    fn token_failed(&self, client: IpAddr) {
        let now = Instant::now();
        let mut map = self.failures();
        if map.len() >= MAX_CLIENTS {
            map.retain(|_, f| now.duration_since(f.since) < TOKEN_LOCKOUT);
        }
        if map.len() >= MAX_CLIENTS {
            // Every tracked client failed within the window: forget the oldest rather than grow.
            if let Some(oldest) = map.iter().min_by_key(|(_, f)| f.since).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        let entry = map.entry(client_key(client)).or_insert(Failures {
            count: 0,
            since: now,
        });
        if now.duration_since(entry.since) >= TOKEN_LOCKOUT {
            *entry = Failures {
                count: 0,
                since: now,
            };
        }
        entry.count = entry.count.saturating_add(1);
    }
}

/// The client of a request, as [`limit`] found it, with the server's limiters: in every request's extensions.
#[derive(Debug, Clone)]
pub struct Client {
    /// The client's address, when the server knows it.
    pub addr: Option<SocketAddr>,
    throttle: Arc<Throttle>,
}

impl Client {
    /// Compares a token the client gave with the expected one, counting wrong guesses: while the client is
    /// locked out the answer is a 429 whatever the guess ([`TOKEN_FAILURES`], [`TOKEN_LOCKOUT`]).
    ///
    /// # Errors
    /// [`ErrorCode::RateLimited`] (429) during a lockout.
    pub fn guess_token(&self, given: &str, expected: &str) -> Result<bool, ApiError> {
        let ip = self.addr.map(|a| a.ip());
        if let Some(ip) = ip
            && let Err(wait) = self.throttle.token_locked(ip)
        {
            return Err(ApiError::of(
                ErrorCode::RateLimited,
                format!(
                    "too many wrong API tokens from your address: token attempts are refused for {wait} s more"
                ),
            ));
        }
        let right = same_token(given, expected);
        if !right && let Some(ip) = ip {
            self.throttle.token_failed(ip);
        }
        Ok(right)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Client>()
            .cloned()
            .ok_or_else(|| ApiError::internal("the throttle layer is missing from the router"))
    }
}

fn too_many(wait: u64, what: &str) -> Response {
    (
        [(header::RETRY_AFTER, wait.to_string())],
        ApiError::of(
            ErrorCode::RateLimited,
            format!("too many {what} from your address: retry in {wait} s"),
        ),
    )
        .into_response()
}

/// The middleware: finds the client's address, applies the per-address limits of this module's
/// documentation, and hands the client (with the limiters) to the handlers and the authorization layer.
pub async fn limit(
    State((node, throttle)): State<(Node, Arc<Throttle>)>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    // The extractor (not the raw extension) so that tests' `MockConnectInfo` is honoured too.
    let addr = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, &node)
        .await
        .ok()
        .map(|ConnectInfo(a)| a);
    let stranger = addr.map(|a| a.ip()).filter(|ip| !ip.is_loopback());
    if let Some(ip) = stranger {
        let path = parts.uri.path();
        if PEER_WORK
            .iter()
            .any(|(m, p)| *m == parts.method && *p == path)
            && let Err(wait) = Throttle::take(&throttle.peer_work, ip)
        {
            return too_many(wait, "peer registrations and resolves");
        }
        if path.starts_with("/p2p/") {
            if let Err(wait) = Throttle::take(&throttle.p2p, ip) {
                return too_many(wait, "peer-protocol requests");
            }
            if let Some(ban) = node.peers().banned(&ferrochain_node::client_ban_key(ip)) {
                return ApiError::from(ferrochain_node::p2p::PeerError::banned(ban))
                    .into_response();
            }
        }
    }
    parts.extensions.insert(Client { addr, throttle });
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64_prefix_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_locked_out_client_is_refused_whatever_it_guesses() {
        let client = Client {
            addr: Some("203.0.113.9:4000".parse().unwrap()),
            throttle: Arc::new(Throttle::new()),
        };
        for _ in 0..TOKEN_FAILURES {
            assert!(!client.guess_token("wrong", "secret").unwrap());
        }
        let e = client.guess_token("secret", "secret").unwrap_err();
        assert_eq!(e.code, ErrorCode::RateLimited);
        // Another address is not affected.
        let other = Client {
            addr: Some("203.0.113.10:4000".parse().unwrap()),
            ..client.clone()
        };
        assert!(other.guess_token("secret", "secret").unwrap());
    }
}
