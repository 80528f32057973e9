//! The wallet pages (owner only).
//!
//! - **Node-held keys** (the node keystore): addresses with balances, a new address, send with a fee, sign and
//!   publish a record — through the REST API's owner operations, so keys never leave the node.
//! - **Wallet files**, nothing stored on the node:
//!   - *create*: a new recovery phrase, shown once, and the wallet file encrypted under the password typed,
//!     offered as a download (a `data:` link in the answer);
//!   - *restore*: a typed recovery phrase becomes a new wallet file the same way;
//!   - *open*: upload a wallet file and type its password to see its addresses and balances; then sign one
//!     transfer or one record. The encrypted file travels back in the form (it is useless without the
//!     password), the password is typed again for each action, and the keys are unlocked in
//!     [`Node::blocking`] for that request only and dropped (wiped) when it ends — never stored, never logged.
//!
//! A form that is refused is drawn again with the error next to the field that caused it (wrong password next
//! to the password, insufficient funds next to the amount, a bad address next to it).

use ferrochain_node::ErrorCode;
use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use ferrochain_core::{Amount, Network, PubkeyHash};
use ferrochain_wallet::build::{TransferRequest, build_record, build_transfer};
use ferrochain_wallet::coin_select::FeePolicy;
use ferrochain_wallet::{KdfParams, KeyFile, KeyFileError, Wallet, WalletError};
use minijinja::{Value, context};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::parse::{parse_address, parse_amount};
use crate::ui::forms::{FieldErrors, FormData, UiQuery};
use crate::ui::{IsOwner, Page, UiError, blocking, respond, v};
use crate::views::{AmountView, BalanceView};
use ferrochain_node::{Node, now_ms};

/// Shortest password accepted for a new wallet file.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Addresses a created or restored wallet starts with.
pub const NEW_WALLET_ADDRESSES: u32 = 2;
/// The file name offered for a downloaded wallet file.
pub const WALLET_FILE_NAME: &str = "ferrochain-wallet.json";

/// Standard base64 (with padding), for the wallet file's `data:` download link.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Which form of the page an answer is about (errors and messages are shown in that form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum FormId {
    None,
    NodeSend,
    NodeRecord,
    Create,
    Restore,
    Open,
}

async fn wallet_page(
    node: &Node,
    owner: IsOwner,
    active: FormId,
    errors: FieldErrors,
    form: BTreeMap<String, String>,
    notice: Option<String>,
) -> Result<Response, UiError> {
    let held = if owner.is_owner() {
        match crate::read::held_wallets(node.clone()).await {
            Ok(list) => Some(list),
            Err(e) if e.code == ErrorCode::KeysDisabled => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let ctx = context! {
        held => v(&held),
        keys_enabled => owner.is_owner() && held.is_some(),
        miner_address => node.network().address(&node.miner_address()),
        active => v(&active),
        errors => v(&errors),
        form => form,
        notice => notice,
        min_password => MIN_PASSWORD_CHARS,
        remote_warning => !owner.is_owner(),
    };
    respond(
        node,
        owner,
        Page::new("wallet.html", "Wallet", "wallet", ctx)
            .status(status)
            .no_store(),
    )
}

/// The wallet page.
pub async fn page(
    State(node): State<Node>,
    owner: IsOwner,
    UiQuery(query): UiQuery,
) -> Result<Response, UiError> {
    let notice = query
        .get("created")
        .map(|a| format!("New node-held address {a}"));
    wallet_page(
        &node,
        owner,
        FormId::None,
        FieldErrors::new(),
        BTreeMap::new(),
        notice,
    )
    .await
}

/// Creates a node-held address (owner).
pub async fn node_new_address(
    State(node): State<Node>,
    owner: IsOwner,
) -> Result<Response, UiError> {
    owner.require()?;
    let address = node.new_address().await.map_err(ApiError::from)?;
    Ok(Redirect::to(&format!("/ui/wallet?created={address}")).into_response())
}

/// Pays from a node-held key (owner) and shows the transaction.
pub async fn node_send(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    let mut errors = FieldErrors::new();
    for field in ["from", "to", "amount"] {
        if form.text(field).is_empty() {
            errors.add(field, "required");
        }
    }
    let network = node.network();
    let decimals = network.spec().decimals;
    fn field<T>(errors: &mut FieldErrors, name: &str, result: Result<T, ApiError>) -> Option<T> {
        result.map_err(|e| errors.add(name, e.message)).ok()
    }
    let e = &mut errors;
    let from = field(e, "from", parse_address(network, form.text("from")));
    let to = field(e, "to", parse_address(network, form.text("to")));
    let text = |t: &str| serde_json::Value::String(t.to_string());
    let amount = field(
        e,
        "amount",
        parse_amount(&text(form.text("amount")), decimals, "amount", true),
    );
    let fee = match form.optional("fee") {
        None => Some(Amount::ZERO),
        Some(f) => field(e, "fee", parse_amount(&text(f), decimals, "fee", false)),
    };
    let (Some(from), Some(to), Some(amount), Some(fee)) = (from, to, amount, fee) else {
        return wallet_page(&node, owner, FormId::NodeSend, errors, form.echo(), None).await;
    };
    let memo = form
        .optional("memo")
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    match node
        .pay(network.address(&from), to, amount, fee, memo)
        .await
    {
        Ok(tx) => Ok(Redirect::to(&format!("/ui/tx/{}", tx.txid())).into_response()),
        Err(e) => {
            let errors = FieldErrors::from_api(&ApiError::from(e), "to");
            wallet_page(&node, owner, FormId::NodeSend, errors, form.echo(), None).await
        }
    }
}

/// Signs and publishes a record with a node-held key (owner).
pub async fn node_record(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    let mut errors = FieldErrors::new();
    if form.text("author").is_empty() {
        errors.add("author", "required");
    }
    if form.text("content").is_empty() {
        errors.add("content", "write what the record says");
    }
    if !errors.is_empty() {
        return wallet_page(&node, owner, FormId::NodeRecord, errors, form.echo(), None).await;
    }
    let author = match parse_address(node.network(), form.text("author")) {
        Ok(hash) => node.network().address(&hash),
        Err(e) => {
            errors.add("author", e.message);
            return wallet_page(&node, owner, FormId::NodeRecord, errors, form.echo(), None).await;
        }
    };
    let content = form.text("content").as_bytes().to_vec();
    match node.sign_record(author, content).await {
        Ok(tx) => Ok(Redirect::to(&format!("/ui/tx/{}", tx.txid())).into_response()),
        Err(e) => {
            let mut errors = FieldErrors::from_api(&ApiError::from(e), "author");
            if let Some(msg) = errors.form.take() {
                errors.add("content", msg);
            }
            wallet_page(&node, owner, FormId::NodeRecord, errors, form.echo(), None).await
        }
    }
}

fn check_new_password(form: &FormData, errors: &mut FieldErrors) {
    let password = form.raw("password");
    if password.chars().count() < MIN_PASSWORD_CHARS {
        errors.add(
            "password",
            format!("use at least {MIN_PASSWORD_CHARS} characters: the file is only as safe as its password"),
        );
    } else if password != form.raw("password2") {
        errors.add("password2", "the two passwords differ");
    }
}

/// One address of a wallet shown on a page.
#[derive(Debug, Clone, Serialize)]
struct AccountRow {
    index: u32,
    address: String,
    balance: Option<BalanceView>,
}

/// A new wallet file: the download link, the addresses, and (for a created wallet) the phrase, shown once.
fn created_page(
    node: &Node,
    owner: IsOwner,
    wallet: &Wallet,
    file: &KeyFile,
    show_phrase: bool,
) -> Result<Response, UiError> {
    let json = file.to_json_bytes();
    let words: Vec<String> = if show_phrase {
        wallet.mnemonic().words().map(str::to_string).collect()
    } else {
        Vec::new()
    };
    let accounts: Vec<AccountRow> = wallet
        .accounts()
        .iter()
        .map(|a| AccountRow {
            index: a.index(),
            address: a.address().to_string(),
            balance: None,
        })
        .collect();
    let ctx = context! {
        words => words,
        accounts => v(&accounts),
        download => format!("data:application/json;base64,{}", base64(&json)),
        file_name => WALLET_FILE_NAME,
        wallet_json => String::from_utf8_lossy(&json).into_owned(),
        restored => !show_phrase,
    };
    let title = if show_phrase {
        "New wallet"
    } else {
        "Restored wallet"
    };
    respond(
        node,
        owner,
        Page::new("wallet_created.html", title, "wallet", ctx).no_store(),
    )
}

/// Creates a wallet (owner): a fresh phrase shown once, and the wallet file to download. Nothing is stored.
pub async fn create(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    let mut errors = FieldErrors::new();
    check_new_password(&form, &mut errors);
    if !errors.is_empty() {
        return wallet_page(&node, owner, FormId::Create, errors, form.echo(), None).await;
    }
    let password = Zeroizing::new(form.raw("password").to_string());
    blocking(&node, move |node| {
        let mut rng = rand::rng();
        let mut wallet = Wallet::create(node.network(), &mut rng).map_err(internal)?;
        wallet
            .ensure_accounts(NEW_WALLET_ADDRESSES)
            .map_err(internal)?;
        let file = wallet
            .lock(&password, KdfParams::pbkdf2_default(), now_ms(), &mut rng)
            .map_err(internal)?;
        created_page(&node, owner, &wallet, &file, true)
    })
    .await
}

/// Restores a wallet from its recovery phrase (owner) into a new wallet file to download.
pub async fn restore(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    let mut errors = FieldErrors::new();
    check_new_password(&form, &mut errors);
    let network = node.network().clone();
    let wallet = match Wallet::restore(&network, form.raw("phrase")) {
        Ok(w) => Some(w),
        Err(e) => {
            errors.add("phrase", e.to_string());
            None
        }
    };
    let Some(mut wallet) = wallet.filter(|_| errors.is_empty()) else {
        return wallet_page(&node, owner, FormId::Restore, errors, form.echo(), None).await;
    };
    let password = Zeroizing::new(form.raw("password").to_string());
    blocking(&node, move |node| {
        wallet
            .ensure_accounts(NEW_WALLET_ADDRESSES)
            .map_err(internal)?;
        let file = wallet
            .lock(
                &password,
                KdfParams::pbkdf2_default(),
                now_ms(),
                &mut rand::rng(),
            )
            .map_err(internal)?;
        created_page(&node, owner, &wallet, &file, false)
    })
    .await
}

fn internal(e: impl std::fmt::Display) -> UiError {
    UiError::from(crate::error::ApiError::internal(e))
}

/// Reads the wallet file of a form (the uploaded `wallet_file`, or `wallet_json` carried by the page) and
/// unlocks it with `password` (blocking: the password KDF is slow by design).
fn unlock(
    network: &Network,
    form: &FormData,
    errors: &mut FieldErrors,
) -> Option<(Wallet, String)> {
    let text = form
        .optional("wallet_file")
        .or_else(|| form.optional("wallet_json"));
    let Some(text) = text else {
        errors.add(
            "wallet_file",
            "choose your wallet file (ferrochain-wallet.json)",
        );
        return None;
    };
    if form.raw("password").is_empty() {
        errors.add("password", "type the wallet file's password");
        return None;
    }
    let file = match KeyFile::from_json_bytes(text.as_bytes()) {
        Ok(f) => f,
        Err(e) => {
            errors.add("wallet_file", e.to_string());
            return None;
        }
    };
    match Wallet::unlock(&file, form.raw("password"), network) {
        Ok(wallet) => Some((
            wallet,
            String::from_utf8_lossy(&file.to_json_bytes()).into_owned(),
        )),
        Err(WalletError::KeyFile(KeyFileError::WrongPassword)) => {
            errors.add(
                "password",
                "wrong password (or the file was modified): type the password this wallet file was saved with",
            );
            None
        }
        Err(e) => {
            errors.add("wallet_file", e.to_string());
            None
        }
    }
}

/// The page of an opened wallet file: its addresses with balances, and the send and record forms that carry
/// the encrypted file (blocking).
#[allow(clippy::too_many_arguments)]
fn opened_page(
    node: &Node,
    owner: IsOwner,
    wallet: Option<&Wallet>,
    wallet_json: &str,
    errors: FieldErrors,
    form: BTreeMap<String, String>,
    active: &str,
    done: Option<Value>,
) -> Result<Response, UiError> {
    let d = node.network().spec().decimals;
    let accounts: Vec<AccountRow> = match wallet {
        Some(w) => w
            .accounts()
            .iter()
            .map(|a| AccountRow {
                index: a.index(),
                address: a.address().to_string(),
                balance: node
                    .state()
                    .balance(&a.pubkey_hash())
                    .ok()
                    .map(|b| BalanceView::new(&b, d)),
            })
            .collect(),
        None => KeyFile::from_json_bytes(wallet_json.as_bytes())
            .map(|f| {
                f.accounts()
                    .iter()
                    .map(|a| {
                        let balance = node
                            .network()
                            .parse_address(&a.address)
                            .ok()
                            .and_then(|h| node.state().balance(&h).ok())
                            .map(|b| BalanceView::new(&b, d));
                        AccountRow {
                            index: a.index,
                            address: a.address.clone(),
                            balance,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let ctx = context! {
        accounts => v(&accounts),
        wallet_json => wallet_json,
        errors => v(&errors),
        form => form,
        active => active,
        done => done,
    };
    respond(
        node,
        owner,
        Page::new("wallet_open.html", "Your wallet file", "wallet", ctx)
            .status(status)
            .no_store(),
    )
}

/// Opens an uploaded wallet file with its password (owner): shows its addresses and balances. The keys are
/// dropped at the end of the request.
pub async fn open(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    let outcome = blocking(&node, move |node| {
        let mut errors = FieldErrors::new();
        match unlock(node.network(), &form, &mut errors) {
            Some((wallet, json)) => Ok(Ok(opened_page(
                &node,
                owner,
                Some(&wallet),
                &json,
                errors,
                BTreeMap::new(),
                "",
                None,
            )?)),
            None => Ok(Err((errors, form.echo()))),
        }
    })
    .await?;
    match outcome {
        Ok(response) => Ok(response),
        Err((errors, echo)) => wallet_page(&node, owner, FormId::Open, errors, echo, None).await,
    }
}

/// Index of the wallet account chosen in field `field`.
fn chosen_account<'w>(
    wallet: &'w Wallet,
    form: &FormData,
    field: &str,
    errors: &mut FieldErrors,
) -> Option<&'w ferrochain_wallet::WalletAccount> {
    let index = form.text(field).parse::<u32>().unwrap_or(0);
    match wallet.account(index) {
        Ok(a) => Some(a),
        Err(e) => {
            errors.add(field, e.to_string());
            None
        }
    }
}

fn signed_transfer(
    node: &Node,
    wallet: &Wallet,
    form: &FormData,
    errors: &mut FieldErrors,
) -> Option<ferrochain_core::Transaction> {
    let network = node.network();
    let d = network.spec().decimals;
    let from = chosen_account(wallet, form, "from", errors)?;
    let to: Option<PubkeyHash> = match parse_address(network, form.text("to")) {
        Ok(h) => Some(h),
        Err(e) => {
            errors.add("to", e.message);
            None
        }
    };
    let amount = parse_amount(
        &serde_json::Value::String(form.text("amount").into()),
        d,
        "amount",
        true,
    )
    .map_err(|e| errors.add("amount", e.message))
    .ok();
    let fee = match form.optional("fee") {
        None => Some(Amount::ZERO),
        Some(f) => parse_amount(&serde_json::Value::String(f.into()), d, "fee", false)
            .map_err(|e| errors.add("fee", e.message))
            .ok(),
    };
    let (Some(to), Some(amount), Some(fee)) = (to, amount, fee) else {
        return None;
    };
    let from_hash = from.pubkey_hash();
    let built = node
        .transfer_candidates(&from_hash)
        .and_then(|(candidates, options)| {
            let request = TransferRequest::new(vec![(to, amount)], FeePolicy::Fixed(fee))
                .with_payload(form.text("memo").as_bytes().to_vec())
                .with_change_address(from_hash)
                .with_options(options);
            Ok(build_transfer(wallet, &candidates, &request, network)?)
        });
    match built {
        Ok(tx) => Some(tx),
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            let fe = FieldErrors::from_api(&e, "to");
            for (k, v) in fe.fields {
                errors.add(&k, v);
            }
            if let Some(m) = fe.form {
                errors.add("amount", m);
            }
            None
        }
    }
}

/// Signs one transfer with an uploaded wallet file (owner) and submits it; the keys are dropped when the
/// request ends.
pub async fn file_send(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    file_action(node, owner, form, "send").await
}

/// Signs one record with an uploaded wallet file (owner) and submits it.
pub async fn file_record(
    State(node): State<Node>,
    owner: IsOwner,
    form: FormData,
) -> Result<Response, UiError> {
    owner.require()?;
    file_action(node, owner, form, "record").await
}

async fn file_action(
    node: Node,
    owner: IsOwner,
    form: FormData,
    action: &'static str,
) -> Result<Response, UiError> {
    blocking(&node, move |node| {
        let mut errors = FieldErrors::new();
        let wallet_json = form.text("wallet_json").to_string();
        let unlocked = unlock(node.network(), &form, &mut errors);
        let Some((wallet, json)) = unlocked else {
            return opened_page(
                &node,
                owner,
                None,
                &wallet_json,
                errors,
                form.echo(),
                action,
                None,
            );
        };
        let tx = if action == "send" {
            signed_transfer(&node, &wallet, &form, &mut errors)
        } else {
            let content = form.text("content");
            if content.is_empty() {
                errors.add("content", "write what the record says");
                None
            } else {
                chosen_account(&wallet, &form, "author", &mut errors).and_then(|a| {
                    build_record(
                        a.signing_key(),
                        content.as_bytes().to_vec(),
                        now_ms(),
                        node.network(),
                    )
                    .map_err(|e| errors.add("content", e.to_string()))
                    .ok()
                })
            }
        };
        let Some(tx) = tx else {
            return opened_page(
                &node,
                owner,
                Some(&wallet),
                &json,
                errors,
                form.echo(),
                action,
                None,
            );
        };
        match node.submit_transaction(tx) {
            Ok(txid) => {
                let d = node.network().spec().decimals;
                let amount = (action == "send")
                    .then(|| Amount::parse_units(form.text("amount"), d).ok())
                    .flatten()
                    .map(|a| AmountView::new(a, d));
                let done =
                    context! { txid => txid.to_string(), action => action, amount => v(&amount) };
                opened_page(
                    &node,
                    owner,
                    Some(&wallet),
                    &json,
                    errors,
                    BTreeMap::new(),
                    action,
                    Some(done),
                )
            }
            Err(e) => {
                let e = crate::error::ApiError::from(e);
                errors.form = Some(e.message);
                opened_page(
                    &node,
                    owner,
                    Some(&wallet),
                    &json,
                    errors,
                    form.echo(),
                    action,
                    None,
                )
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_alphabet_and_padding() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0x00]), "//4A");
    }
}
