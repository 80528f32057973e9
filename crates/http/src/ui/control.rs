//! The owner's control pages: mining (mine a block now, continuous mining, live hash rate) and the network
//! (peers with their tips and state, adding a peer, syncing, the block tree with forks) — plus the form that
//! gives the API token to a browser that is not on the node's machine.
//!
//! Forms follow post/redirect/get: a successful action redirects to the page with what happened in the query
//! string, so reloading does not repeat it; a refused one draws the page again with the error next to the
//! field that caused it.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use minijinja::{Value, context};

use ferrochain_core::PubkeyHash;
use ferrochain_node::Node;

use crate::error::ApiError;
use crate::parse::parse_address;
use crate::ui::forms::{FieldErrors, FormData, UiQuery};
use crate::ui::{IsOwner, Page, TOKEN_COOKIE, UiError, blocking, charts, respond, tree, v};
use crate::views::MinerView;
use ferrochain_node::parse_peer_origin;

/// Most blocks the "mine now" form mines at once.
pub const MAX_UI_MINE: u32 = 10;

async fn mining_page(
    node: &Node,
    owner: IsOwner,
    query: &BTreeMap<String, String>,
    errors: FieldErrors,
    form: BTreeMap<String, String>,
) -> Result<Response, UiError> {
    let miner = MinerView::of(node);
    let status = crate::ui::status(node).await?;
    let status_code = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let spec = node.network().spec();
    let expected_hashes = 2f64.powi(status.leading_zero_bits as i32);
    let ctx = context! {
        miner => v(&miner),
        status => v(&status),
        rate => crate::ui::format_rate(miner.hash_rate),
        expected_hashes => format!("{expected_hashes:.0}"),
        target_secs => spec.target_block_time_ms / 1000,
        mined => query.get("mined").cloned(),
        mined_hash => query.get("hash").cloned(),
        notice => query.get("notice").cloned(),
        errors => v(&errors),
        form => form,
        max_mine => MAX_UI_MINE,
    };
    respond(
        node,
        owner,
        Page::new("mining.html", "Mining", "mining", ctx).status(status_code),
    )
}

/// The mining page.
pub async fn mining(
    State(node): State<Node>,
    owner: IsOwner,
    UiQuery(query): UiQuery,
) -> Result<Response, UiError> {
    mining_page(&node, owner, &query, FieldErrors::new(), BTreeMap::new()).await
}

fn reward_address(node: &Node, form: &FormData, errors: &mut FieldErrors) -> Option<PubkeyHash> {
    let text = form.optional("address")?;
    match parse_address(node.network(), text) {
        Ok(hash) => Some(hash),
        Err(e) => {
            errors.add("address", e.message);
            None
        }
    }
}

/// Mines blocks now (owner), then shows the mining page with the new tip.
pub async fn mine(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    let mut errors = FieldErrors::new();
    let address = reward_address(&node, &form, &mut errors);
    let blocks = match form.optional("blocks") {
        None => 1,
        Some(t) => match t.parse::<u32>() {
            Ok(n) if (1..=MAX_UI_MINE).contains(&n) => n,
            _ => {
                errors.add(
                    "blocks",
                    format!("give a number of blocks from 1 to {MAX_UI_MINE}"),
                );
                1
            }
        },
    };
    if !errors.is_empty() {
        return mining_page(&node, owner, &BTreeMap::new(), errors, form.echo()).await;
    }
    match node.mine_blocks(blocks, address, None).await {
        Ok(mined) => {
            let last = mined.last();
            let height = last.map_or(0, |b| b.header.height.0);
            let hash = last.map(|b| b.hash().to_string()).unwrap_or_default();
            Ok(Redirect::to(&format!("/ui/mining?mined={height}&hash={hash}")).into_response())
        }
        Err(e) => {
            let errors = FieldErrors::from_api(&ApiError::from(e), "address");
            mining_page(&node, owner, &BTreeMap::new(), errors, form.echo()).await
        }
    }
}

/// Starts continuous mining (owner).
pub async fn start(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    let mut errors = FieldErrors::new();
    let address = reward_address(&node, &form, &mut errors);
    let interval = match form.optional("interval_secs") {
        None => 0,
        Some(t) => match t.parse::<u64>() {
            Ok(n) if n <= ferrochain_node::MAX_INTERVAL_SECS => n,
            _ => {
                errors.add(
                    "interval_secs",
                    format!(
                        "give whole seconds between blocks, 0 to {} (0: as fast as the difficulty allows)",
                        ferrochain_node::MAX_INTERVAL_SECS
                    ),
                );
                0
            }
        },
    };
    if !errors.is_empty() {
        return mining_page(&node, owner, &BTreeMap::new(), errors, form.echo()).await;
    }
    let reward_to = address.unwrap_or_else(|| node.miner_address());
    node.start_mining(reward_to, interval)
        .await
        .map_err(ApiError::from)?;
    Ok(Redirect::to("/ui/mining?notice=started").into_response())
}

/// Stops continuous mining (owner).
pub async fn stop(State(node): State<Node>, owner: IsOwner) -> Result<Response, UiError> {
    owner.require()?;
    node.stop_mining().await.map_err(ApiError::from)?;
    Ok(Redirect::to("/ui/mining?notice=stopped").into_response())
}

async fn network_page(
    node: &Node,
    owner: IsOwner,
    query: &BTreeMap<String, String>,
    errors: FieldErrors,
    form: BTreeMap<String, String>,
    results: Vec<Value>,
) -> Result<Response, UiError> {
    let status_code = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let query = query.clone();
    blocking(node, move |node| {
        let state = node.state();
        let tip = state.tip().height.0;
        let (tree_svg, tree_info, tree_error) = match tree::read_index(&node) {
            Ok(records) => {
                let t = tree::layout(&records, tip, tree::TREE_WINDOW, |h| state.is_active(h));
                let info = context! {
                    stale => t.stale, lanes => t.lanes, hidden => t.hidden,
                    min => t.min_height, max => t.max_height,
                };
                (charts::draw_tree(&t), Some(info), None)
            }
            Err(e) => {
                tracing::warn!(error = %e, "the block index could not be read for the tree");
                (
                    String::new(),
                    None,
                    Some("the block index could not be read; see the node's log"),
                )
            }
        };
        let peers = node.peers().all();
        let ctx = context! {
            peers => v(&peers),
            own_url => node.config().public_url(),
            tree => Value::from_safe_string(tree_svg),
            tree_info => tree_info,
            tree_error => tree_error,
            window => tree::TREE_WINDOW,
            tip => tip,
            added => query.get("added").cloned(),
            errors => v(&errors),
            form => form,
            results => results,
        };
        respond(
            &node,
            owner,
            Page::new("network.html", "Network", "network", ctx).status(status_code),
        )
    })
    .await
}

/// The network page.
pub async fn network(
    State(node): State<Node>,
    owner: IsOwner,
    UiQuery(query): UiQuery,
) -> Result<Response, UiError> {
    network_page(
        &node,
        owner,
        &query,
        FieldErrors::new(),
        BTreeMap::new(),
        Vec::new(),
    )
    .await
}

/// Adds a peer (owner): contacts it first (handshake: network, protocol, its tip); with "add anyway" a peer
/// that does not answer now is remembered all the same. With `sync` set, syncs from every known peer instead.
pub async fn add_peer(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    if form.optional("sync").is_some() {
        let results = node
            .resolve()
            .await
            .into_iter()
            .map(|(url, r)| match r {
                Ok(report) => context! {
                    url => url,
                    ok => true,
                    text => format!(
                        "{} headers and {} blocks received, {} connected{}; tip {} → {}",
                        report.headers_received,
                        report.blocks_received,
                        report.connected,
                        if report.reorged { ", the chain switched branches" } else { "" },
                        report.tip_before.height,
                        report.tip_after.height
                    ),
                },
                Err(e) => context! { url => url, ok => false, text => e.to_string() },
            })
            .collect();
        return network_page(
            &node,
            owner,
            &BTreeMap::new(),
            FieldErrors::new(),
            BTreeMap::new(),
            results,
        )
        .await;
    }
    let mut errors = FieldErrors::new();
    let url = match parse_peer_origin(form.text("url")) {
        Ok(url) => url,
        Err(reason) => {
            errors.add(
                "url",
                format!("not a peer address: {reason}; give http://host:port (or host:port)"),
            );
            return network_page(
                &node,
                owner,
                &BTreeMap::new(),
                errors,
                form.echo(),
                Vec::new(),
            )
            .await;
        }
    };
    match node.register_peer(&url).await {
        Ok(info) => Ok(Redirect::to(&format!("/ui/network?added={}", info.url)).into_response()),
        Err(e)
            if form.optional("force").is_some()
                && !matches!(e, ferrochain_node::p2p::PeerError::Itself(_)) =>
        {
            let _ = node.add_peer(&url);
            Ok(Redirect::to(&format!("/ui/network?added={url}")).into_response())
        }
        Err(e) => {
            errors.add(
                "url",
                format!("{e}. Tick \"add anyway\" to remember a peer that is not reachable now."),
            );
            network_page(
                &node,
                owner,
                &BTreeMap::new(),
                errors,
                form.echo(),
                Vec::new(),
            )
            .await
        }
    }
}

/// Gives the API token to this browser: checked, then kept in an `HttpOnly`, `SameSite=Strict` cookie so the
/// owner's forms work from another machine.
pub async fn token(
    State(node): State<Node>,
    client: crate::throttle::Client,
    form: FormData,
) -> Result<Response, UiError> {
    let next = form.text("next");
    let next = if next.starts_with("/ui/") || next == "/" {
        next.to_string()
    } else {
        "/".to_string()
    };
    let Some(expected) = node.config().api_token.as_deref() else {
        return Err(UiError::bad_request(
            "this node has no API token (--api-token): owner actions are allowed from its own machine only",
        ));
    };
    let right = client
        .guess_token(form.raw("token"), expected)
        .map_err(|e| {
            UiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many wrong tokens",
                e.message,
            )
        })?;
    if !right {
        return Err(UiError::new(
            StatusCode::FORBIDDEN,
            "Wrong token",
            "that is not this node's API token (the --api-token it was started with)",
        ));
    }
    let cookie = Cookie::build((TOKEN_COOKIE, expected.to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict);
    Ok((CookieJar::new().add(cookie), Redirect::to(&next)).into_response())
}
