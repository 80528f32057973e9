// ferrochain web UI: the only script of the pages, hand-written, no build step.
// 1. Live figures: a server-sent-events stream (/ui/live) fills [data-live] elements and re-fetches
//    [data-refresh] fragments when the tip or the mempool changes.
// 2. SHA-256: the browser's Web Crypto, with a small pure-JS version for the mining demo and for pages
//    opened over plain HTTP from another machine (where Web Crypto is unavailable).
// 3. The Merkle proof check of a transaction page.
// 4. The tamper sandbox of "How it works".
"use strict";

// ---------------------------------------------------------------------------------------------------------
// Bytes and hashes
const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (s) => new Uint8Array((s.match(/../g) || []).map((h) => parseInt(h, 16)));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

// SHA-256 in JavaScript (FIPS 180-4). Constants: fractional parts of square and cube roots of primes.
const SHA = (() => {
  const primes = [];
  for (let n = 2; primes.length < 64; n++) if (primes.every((p) => n % p)) primes.push(n);
  const frac = (x) => ((x - Math.floor(x)) * 4294967296) >>> 0;
  return { K: primes.map((p) => frac(Math.cbrt(p))), H: primes.slice(0, 8).map((p) => frac(Math.sqrt(p))) };
})();
const ror = (x, n) => (x >>> n) | (x << (32 - n));
function sha256js(msg) {
  const len = msg.length, padded = (((len + 9) + 63) >> 6) << 6;
  const m = new Uint8Array(padded);
  m.set(msg); m[len] = 0x80;
  const dv = new DataView(m.buffer);
  dv.setUint32(padded - 8, Math.floor(len / 0x20000000));
  dv.setUint32(padded - 4, (len << 3) >>> 0);
  const h = SHA.H.slice(), w = new Uint32Array(64);
  for (let off = 0; off < padded; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + 4 * i);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      w[i] = (w[i - 16] + (ror(a, 7) ^ ror(a, 18) ^ (a >>> 3)) + w[i - 7] + (ror(b, 17) ^ ror(b, 19) ^ (b >>> 10))) | 0;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = (k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + SHA.K[i] + w[i]) | 0;
      const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    [a, b, c, d, e, f, g, k].forEach((v, i) => { h[i] = (h[i] + v) | 0; });
  }
  const out = new Uint8Array(32), odv = new DataView(out.buffer);
  h.forEach((v, i) => odv.setUint32(4 * i, v >>> 0));
  return out;
}
const JS_SHA_OK = hex(sha256js(new TextEncoder().encode("abc"))) ===
  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

// SHA-256 with Web Crypto when the page has it (a secure context: https, localhost, 127.0.0.1).
async function sha256(bytes) {
  if (window.crypto && crypto.subtle) return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  if (!JS_SHA_OK) throw new Error("no SHA-256 available");
  return sha256js(bytes);
}
const shaName = () => (window.crypto && crypto.subtle ? "Web Crypto SHA-256" : "the page's own SHA-256");

// Merkle tree of RFC 6962 / 9162 (docs/protocol.md §3): leaf = H(0x00 ‖ txid), node = H(0x01 ‖ l ‖ r).
const leafHash = (txid) => sha256(concat(new Uint8Array([0]), txid));
const nodeHash = (l, r) => sha256(concat(new Uint8Array([1]), l, r));
async function merkleRoot(txids) {
  if (txids.length === 1) return leafHash(txids[0]);
  let k = 1;
  while (k * 2 < txids.length) k *= 2;
  return nodeHash(await merkleRoot(txids.slice(0, k)), await merkleRoot(txids.slice(k)));
}

// ---------------------------------------------------------------------------------------------------------
// 1. Live figures
function startLive() {
  const needs = document.querySelector("[data-live],[data-refresh],[data-reload-on]");
  const state = document.querySelector("[data-live-state]");
  window.ferrochainLive = { events: 0, refreshes: 0 };
  if (!needs || !window.EventSource) return;
  let last = null;
  const source = new EventSource("/ui/live");
  const show = (text, on) => { if (state) { state.hidden = false; state.textContent = text; state.classList.toggle("on", on); } };
  source.addEventListener("open", () => show("live", true));
  source.addEventListener("error", () => show("reconnecting…", false));
  source.addEventListener("status", (ev) => {
    const s = JSON.parse(ev.data);
    window.ferrochainLive.events += 1;
    window.ferrochainLive.last = s;
    document.querySelectorAll("[data-live]").forEach((el) => {
      const v = s[el.dataset.live];
      if (v !== undefined && el.textContent !== String(v)) el.textContent = v;
    });
    document.querySelectorAll("[data-live-href=tip]").forEach((el) => { el.href = "/ui/block/" + s.tip; });
    const changed = new Set();
    if (!last || last.height !== s.height || last.tip !== s.tip) changed.add("height");
    if (!last || last.mempool !== s.mempool || changed.has("height")) changed.add("mempool");
    const first = !last;
    last = s;
    document.querySelectorAll("[data-reload-on]").forEach((el) => {
      if (!first && changed.has(el.dataset.reloadOn)) location.reload();
    });
    document.querySelectorAll("[data-refresh]").forEach((el) => {
      const on = (el.dataset.on || "height").split(" ");
      if (!on.some((k) => changed.has(k))) return;
      fetch(el.dataset.refresh, { cache: "no-store" })
        .then((r) => (r.ok ? r.text() : Promise.reject(r.status)))
        .then((html) => { el.innerHTML = html; window.ferrochainLive.refreshes += 1; })
        .catch(() => {});
    });
  });
}

// ---------------------------------------------------------------------------------------------------------
// 3. The Merkle proof of a transaction page
function setupMerkle() {
  const btn = document.getElementById("verify-btn");
  const data = document.getElementById("merkle-data");
  if (!btn || !data) return;
  const out = document.getElementById("verify-result");
  btn.addEventListener("click", async () => {
    out.textContent = "checking…";
    try {
      const p = JSON.parse(data.textContent);
      let fn = p.leaf_index, sn = p.leaf_count - 1, r = await leafHash(unhex(p.txid));
      let ok = p.leaf_index < p.leaf_count, step = 0;
      for (const sib of p.path.map(unhex)) {
        if (sn === 0) { ok = false; break; }
        if ((fn & 1) === 1 || fn === sn) {
          r = await nodeHash(sib, r);
          if ((fn & 1) === 0) while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; }
        } else {
          r = await nodeHash(r, sib);
        }
        fn >>= 1; sn >>= 1;
        const li = document.querySelector('.mstep[data-step="' + step + '"]');
        if (li) li.classList.add(hex(r) === li.querySelector("[data-result]").dataset.result ? "ok" : "bad");
        step += 1;
      }
      const rootOk = ok && sn === 0 && hex(r) === p.merkle_root;
      const header = p.header_hex ? unhex(p.header_hex) : null;
      const inHeader = header && hex(header.slice(44, 76)) === p.merkle_root;
      const blockOk = header && hex(await sha256(header)) === p.block;
      const all = rootOk && inHeader && blockOk;
      out.dataset.ok = String(all);
      out.className = all ? "good" : "bad";
      out.textContent = all
        ? "✓ Verified in your browser with " + shaName() + ": the path gives " + hex(r).slice(0, 16) +
          "…, the Merkle root in bytes 44–76 of the header, and that header hashes to block " + p.block.slice(0, 16) + "…"
        : "✗ The proof does not check: " + (!rootOk ? "the path does not lead to the root" :
          !inHeader ? "the root is not the header's" : "the header does not hash to the block");
      document.querySelector(".mnode.root")?.classList.add(rootOk ? "ok" : "bad");
      document.querySelector(".mnode.leaf")?.classList.add(rootOk ? "ok" : "bad");
    } catch (e) {
      out.dataset.ok = "false";
      out.textContent = "The check could not run: " + e.message;
    }
  });
}

// ---------------------------------------------------------------------------------------------------------
// 4. The tamper sandbox
function setupSandbox() {
  const dataEl = document.getElementById("sandbox-data");
  const root = document.getElementById("sandbox");
  if (!dataEl || !root) return;
  const data = JSON.parse(dataEl.textContent);
  const blocks = data.blocks;
  if (!blocks.length) return;
  const $ = (id) => document.getElementById(id);
  const sel = $("sb-block"), res = $("sb-result"), strip = $("sb-chain");
  const le = (bytes, off, n) => { let v = 0n; for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[off + i]); return v; };
  const putLe = (bytes, off, n, v) => { for (let i = 0; i < n; i++) { bytes[off + i] = Number(v & 0xffn); v >>= 8n; } };
  const targetOf = (bits) => {
    const size = bits >>> 24, mant = BigInt(bits & 0x7fffff);
    return size <= 3 ? mant >> BigInt(8 * (3 - size)) : mant << BigInt(8 * (size - 3));
  };
  const fill = () => {
    const b = blocks[Number(sel.value)], h = unhex(b.header_hex);
    $("sb-time").value = le(h, 76, 8).toString();
    $("sb-bits").value = le(h, 84, 4).toString(16).padStart(8, "0");
    $("sb-nonce").value = le(h, 88, 8).toString();
    $("sb-amount").value = b.amount_units == null ? "" : String(b.amount_units);
    $("sb-amount").disabled = b.amount_offset == null;
    res.innerHTML = ""; strip.innerHTML = ""; delete res.dataset.pow;
  };
  // The copy as the inputs describe it: header bytes, and the Merkle root of its (maybe changed) txids.
  const copy = async () => {
    const b = blocks[Number(sel.value)];
    const header = unhex(b.header_hex);
    const num = (id, bits) => { const v = BigInt($(id).value.trim() || "0"); if (v < 0n || v >= 1n << BigInt(bits)) throw new Error(id.slice(3) + " is out of range"); return v; };
    putLe(header, 76, 8, num("sb-time", 64));
    putLe(header, 84, 4, BigInt("0x" + ($("sb-bits").value.trim() || "0")));
    putLe(header, 88, 8, num("sb-nonce", 64));
    const txids = b.txids.map(unhex);
    let coinbaseChanged = false;
    if (b.amount_offset != null) {
      const cb = unhex(b.coinbase_hex), amount = num("sb-amount", 64);
      if (amount !== BigInt(b.amount_units)) {
        putLe(cb, b.amount_offset, 8, amount);
        txids[0] = await sha256(cb);
        coinbaseChanged = true;
      }
    }
    const rootNow = await merkleRoot(txids);
    if ($("sb-fixroot").checked) header.set(rootNow, 44);
    return { b, header, rootNow, coinbaseChanged };
  };
  const check = async () => {
    let c;
    try { c = await copy(); } catch (e) { res.textContent = "✗ " + e.message; return null; }
    const i = Number(sel.value), { b, header, rootNow, coinbaseChanged } = c;
    const hash = await sha256(header), hashHex = hex(hash);
    const bits = Number(le(header, 84, 4));
    const target = targetOf(bits), hashNum = BigInt("0x" + hashHex);
    const powOk = hashNum <= target;
    const bitsOk = hex(header.slice(84, 88)) === b.header_hex.slice(168, 176);
    const rootOk = hex(header.slice(44, 76)) === hex(rootNow);
    const claimed = b.amount_offset == null ? null : BigInt($("sb-amount").value.trim() || "0");
    const rewardOk = claimed === null || claimed <= BigInt(b.amount_units);
    const next = blocks[i + 1];
    const linkOk = !next || next.header_hex.slice(24, 88) === hashHex;
    const changed = hashHex !== b.hash;
    res.dataset.pow = powOk ? "ok" : "fail";
    res.dataset.merkle = rootOk ? "ok" : "fail";
    res.dataset.link = linkOk ? "ok" : "fail";
    res.dataset.reward = rewardOk ? "ok" : "fail";
    const line = (ok, text) => '<li class="' + (ok ? "good" : "bad") + '">' + (ok ? "✓ " : "✗ ") + text + "</li>";
    let html = "<p>The copy's hash: <code>" + hashHex + "</code>" + (changed ? " — <b>changed</b> (it was " + b.hash.slice(0, 16) + "…)" : " — unchanged") + "</p><ul class=\"checks\">";
    html += line(powOk, powOk ? "Proof of work: the hash is at most the target." :
      "Proof of work: the hash is above the target (" + b.zero_bits + " leading zero bits needed). Every header change gives a new, random-looking hash; finding one under the target takes about 2^" + b.zero_bits + " tries.");
    html += line(bitsOk, bitsOk ? "Difficulty: bits are what the rules require." : "Difficulty: bits differ from what the difficulty rules require for this height (an easier target is not allowed).");
    html += line(rootOk, rootOk ? (coinbaseChanged ? "Merkle root: the header holds the new root of the changed transactions." : "Merkle root: matches the transactions.") :
      "Merkle root: the transactions no longer give the root in the header — the coinbase's txid changed, so every hash up the tree changed.");
    if (!rewardOk) html += line(false, "Reward: the coinbase claims " + claimed + " units, more than the subsidy plus fees (" + b.amount_units + ") — every node refuses the block whatever its proof of work.");
    if (next) html += line(linkOk, linkOk ? "Link: block #" + next.height + " names this hash as its parent." :
      "Link: block #" + next.height + " names " + next.header_hex.slice(24, 40) + "… as its parent, not this copy — it no longer follows it. Fixing that changes block #" + next.height + "'s header, so its hash, so its proof of work, and so on for every later block.");
    else html += line(true, "Link: this is the tip, no block follows yet — but the honest chain keeps growing on the original.");
    res.innerHTML = html + "</ul>";
    strip.innerHTML = blocks.map((x, k) => {
      const cls = k < i ? "good" : k === i ? (powOk && rootOk && bitsOk && rewardOk ? "warn" : "bad") : "bad";
      const what = k < i ? "unchanged" : k === i ? "tampered copy" : "parent link broken";
      return '<li class="' + cls + '">#' + x.height + " <span class=\"sub\">" + what + "</span></li>";
    }).join("");
    return { header, target, powOk };
  };
  sel.addEventListener("change", fill);
  $("sb-reset").addEventListener("click", fill);
  $("sb-apply").addEventListener("click", check);
  $("sb-mine").addEventListener("click", async () => {
    const c = await check();
    if (!c) return;
    const { header, target } = c;
    const limit = 1 << 23;
    let nonce = BigInt($("sb-nonce").value || "0"), tries = 0;
    const t0 = performance.now();
    const chunk = () => {
      for (let n = 0; n < 4096; n++, tries++, nonce++) {
        putLe(header, 88, 8, nonce);
        const h = JS_SHA_OK ? sha256js(header) : null;
        if (!h) { res.textContent = "✗ no synchronous SHA-256 in this browser"; return; }
        if (BigInt("0x" + hex(h)) <= target) {
          $("sb-nonce").value = nonce.toString();
          const secs = (performance.now() - t0) / 1000;
          check().then(() => {
            res.insertAdjacentHTML("afterbegin", '<p class="good" id="sb-mined">Found nonce ' + nonce + " after " + (tries + 1) +
              " tries in " + secs.toFixed(1) + " s. This copy has valid proof of work again — but the next block still points to the original.</p>");
          });
          return;
        }
        if (tries >= limit) { res.textContent = "Gave up after " + tries + " tries: at this difficulty your browser is too slow — which is the point."; return; }
      }
      res.textContent = "Searching… " + tries + " nonces tried";
      setTimeout(chunk, 0);
    };
    chunk();
  });
  fill();
}

document.addEventListener("DOMContentLoaded", () => {
  document.documentElement.classList.add("js");
  startLive();
  setupMerkle();
  setupSandbox();
});
