// One device-day through CouchDB replication: the day exported by
// -deviceday.export (see internal/synctest/deviceday_export_test.go) is
// loaded into a local PouchDB on disk, then PouchDB.replicate(local, remote)
// pushes it to a fresh database on pouchdb-server and is timed, then run
// again as the no-op sync. The remote is then checked against the export:
// every document with the same body, every attachment with the same SHA-256.
//
// Modelling: one CouchDB document per outbox mutation (per answered item,
// certificates shown, section sealed, visit closed), _id the mutation's id,
// its fields the mutation's JSON as the device holds it; each photo or
// signature a mutation refers to is a binary attachment of that document,
// named by its SHA-256. That is how a CouchDB app would hold the day: an
// answer document carrying its photos, a close document its signatures.
//
// Prints one JSON line with the figures. Plain Node.js, no build step; run
// with NODE_PATH pointing at the node_modules of scripts/bench-sync-compare.sh.
//
//	node replicate.js --export DIR --local DIR --remote http://127.0.0.1:PORT \
//	  [--direct http://127.0.0.1:PORT] [--control http://127.0.0.1:PORT] [--batch 100] [--timeout 900]
'use strict';

const fs = require('fs');
const path = require('path');
const http = require('http');
const net = require('net');
const crypto = require('crypto');
const PouchDB = require('pouchdb');

function args() {
  const a = { batch: 0, timeout: 900 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    a[k] = argv[i + 1];
  }
  for (const k of ['export', 'local', 'remote']) {
    if (!a[k]) throw new Error(`--${k} is required`);
  }
  a.batch = Number(a.batch) || 0; // 0: PouchDB's default (100)
  a.timeout = Number(a.timeout);
  a.direct = a.direct || a.remote;
  return a;
}

// The day as CouchDB documents, from the export.
function loadExport(dir) {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  const lines = fs.readFileSync(path.join(dir, 'mutations.jsonl'), 'utf8').split('\n').filter(Boolean);
  if (lines.length !== manifest.mutations.length) throw new Error(`${lines.length} lines, ${manifest.mutations.length} mutations in the manifest`);
  const types = new Map(manifest.attachments.map((a) => [a.sha256, a.content_type]));
  const docs = lines.map((line, i) => {
    const m = manifest.mutations[i];
    const body = JSON.parse(line);
    const doc = Object.assign({ _id: m.id }, body);
    if (m.attachments.length) {
      doc._attachments = {};
      for (const sha of m.attachments) {
        doc._attachments[sha] = { content_type: types.get(sha), data: fs.readFileSync(path.join(dir, 'attachments', sha)) };
      }
    }
    return doc;
  });
  const digest = crypto.createHash('sha256').update(fs.readFileSync(path.join(dir, 'manifest.json'))).digest('hex').slice(0, 16);
  return { manifest, docs, digest };
}

// The local database, loaded once per export and reused while it matches.
async function localDB(dir, day) {
  fs.mkdirSync(dir, { recursive: true });
  const name = path.join(dir, 'day-' + day.digest);
  let db = new PouchDB(name);
  const info = await db.info();
  const marker = await db.get('_local/export').catch(() => null);
  if (marker && info.doc_count === day.docs.length) return db;
  await db.destroy();
  for (const old of fs.readdirSync(dir)) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
  db = new PouchDB(name);
  for (let i = 0; i < day.docs.length; i += 50) {
    const res = await db.bulkDocs(day.docs.slice(i, i + 50));
    const bad = res.filter((r) => !r.ok);
    if (bad.length) throw new Error('loading the local database: ' + JSON.stringify(bad[0]));
  }
  await db.put({ _id: '_local/export', digest: day.digest });
  return db;
}

// counter counts HTTP requests and the bytes on the client's sockets
// (headers and bodies, as spotcheck's benchmark counts its transport).
function counter() {
  const sockets = new Set();
  const agent = new http.Agent({ keepAlive: true }); // Node 20's global agent is keep-alive too
  const create = agent.createConnection.bind(agent);
  agent.createConnection = (opts, cb) => {
    const s = create(opts, cb);
    sockets.add(s);
    return s;
  };
  const c = {
    requests: 0,
    kinds: {},
    fetch(url, opts) {
      c.requests++;
      const u = new URL(url);
      const kind = `${opts.method || 'GET'} ${u.pathname.split('/').slice(2).join('/').replace(/^_local\/.*/, '_local/…') || '/'}`;
      c.kinds[kind] = (c.kinds[kind] || 0) + 1;
      return PouchDB.fetch(url, Object.assign({}, opts, { agent }));
    },
    bytes() {
      let up = 0, down = 0;
      for (const s of sockets) { up += s.bytesWritten; down += s.bytesRead; }
      return { up, down };
    },
    reset() { c.requests = 0; c.kinds = {}; },
    close() { agent.destroy(); },
  };
  return c;
}

async function control(base, what) {
  if (!base) return null;
  const res = await fetch(base + what, { method: what === '/stats' ? 'GET' : 'POST' });
  if (!res.ok) throw new Error(`linkproxy ${what}: ${res.status}`);
  return what === '/stats' ? res.json() : null;
}

// sync replicates until it completes, as an app would retry after a
// failure; the checkpoints let each attempt resume.
async function sync(local, remote, batch, deadline) {
  let attempts = 0;
  let last;
  for (;;) {
    attempts++;
    try {
      const opts = batch ? { batch_size: batch } : {};
      const rep = PouchDB.replicate(local, remote, opts);
      const timer = setTimeout(() => rep.cancel(), Math.max(deadline - Date.now(), 0));
      let res;
      try { res = await rep; } finally { clearTimeout(timer); }
      if (res.status === 'cancelled') {
        const err = new Error(`did not finish in time (${attempts} attempts)`);
        err.attempts = attempts;
        throw err;
      }
      if (res.ok === false || (res.doc_write_failures || 0) > 0) throw new Error('replication: ' + JSON.stringify(res.errors || res));
      return { attempts, written: res.docs_written };
    } catch (e) {
      last = e;
      if (e.attempts) throw e;
      if (Date.now() > deadline) {
        const err = new Error(`did not finish in time after ${attempts} attempts: ${last && last.message}`);
        err.attempts = attempts;
        throw err;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

// canonical is JSON with sorted keys: the server need not keep key order.
function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v && typeof v === 'object') return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  return JSON.stringify(v);
}

// verify checks the remote against the export, directly (not through the
// link): the same documents, each body equal, each attachment's bytes
// hashing to its name.
async function verify(url, day) {
  const db = new PouchDB(url, { skip_setup: true });
  const info = await db.info();
  if (info.doc_count !== day.docs.length) throw new Error(`remote holds ${info.doc_count} documents, the day has ${day.docs.length}`);
  let attachments = 0;
  for (let i = 0; i < day.docs.length; i += 20) {
    const page = day.docs.slice(i, i + 20);
    const res = await db.allDocs({ keys: page.map((d) => d._id), include_docs: true, attachments: true, binary: true });
    res.rows.forEach((row, k) => {
      const want = page[k];
      if (!row.doc) throw new Error(`remote lacks ${want._id}`);
      const { _rev, _attachments: atts = {}, ...got } = row.doc;
      const { _attachments: wantAtts = {}, ...wantBody } = want;
      if (canonical(got) !== canonical(wantBody)) throw new Error(`remote ${want._id} differs: ${canonical(got)} vs ${canonical(wantBody)}`);
      if (Object.keys(atts).length !== Object.keys(wantAtts).length) throw new Error(`remote ${want._id}: ${Object.keys(atts).length} attachments, want ${Object.keys(wantAtts).length}`);
      for (const sha of Object.keys(wantAtts)) {
        const a = atts[sha];
        if (!a || crypto.createHash('sha256').update(a.data).digest('hex') !== sha) throw new Error(`remote ${want._id}: attachment ${sha} missing or altered`);
        attachments++;
      }
    });
  }
  await db.close();
  return attachments;
}

async function main() {
  const a = args();
  const day = loadExport(a.export);
  const t0 = Date.now();
  const local = await localDB(a.local, day);
  const loadS = (Date.now() - t0) / 1000;
  const name = `day-${process.pid}-${Date.now()}`;
  const c = counter();
  const remote = new PouchDB(`${a.remote}/${name}`, { fetch: c.fetch });
  await remote.info(); // creates the database: setup, not the day's sync
  c.reset();
  await control(a.control, '/drops/stop');
  const before = c.bytes();
  const wire0 = await control(a.control, '/stats');
  await control(a.control, '/drops/start');
  const start = process.hrtime.bigint();
  let out;
  try {
    out = await sync(local, remote, a.batch, Date.now() + a.timeout * 1000);
  } catch (e) {
    await control(a.control, '/drops/stop');
    const wire = await control(a.control, '/stats');
    const b = c.bytes();
    console.log(JSON.stringify({ system: 'pouchdb', batch: a.batch || 100, finished: false, error: e.message, attempts: e.attempts,
      wall_s: Number(process.hrtime.bigint() - start) / 1e9, requests: c.requests, up: b.up - before.up,
      wire: wire && wire0 ? { up: wire.up_read - wire0.up_read, drops: wire.drops - wire0.drops } : undefined }));
    process.exit(0);
  }
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  await control(a.control, '/drops/stop');
  const wire1 = await control(a.control, '/stats');
  const after = c.bytes();
  const requests = c.requests, kinds = c.kinds;

  c.reset();
  const n0 = c.bytes();
  const n0t = process.hrtime.bigint();
  await PouchDB.replicate(local, remote, a.batch ? { batch_size: a.batch } : {});
  const noopWall = Number(process.hrtime.bigint() - n0t) / 1e9;
  const n1 = c.bytes();

  const attachments = await verify(`${a.direct}/${name}`, day);
  const result = {
    system: 'pouchdb', batch: a.batch || 100, finished: true, wall_s: wall, attempts: out.attempts,
    requests, kinds, up: after.up - before.up, down: after.down - before.down,
    payload: day.manifest.attachment_bytes + day.manifest.mutation_bytes,
    docs: day.docs.length, attachments, verified: true, local_load_s: loadS,
    noop: { wall_s: noopWall, requests: c.requests, up: n1.up - n0.up },
  };
  if (wire0 && wire1) {
    result.wire = { up: wire1.up_read - wire0.up_read, down: wire1.down_read - wire0.down_read, conns: wire1.conns - wire0.conns, drops: wire1.drops - wire0.drops };
  }
  await new PouchDB(`${a.direct}/${name}`, { skip_setup: true }).destroy();
  await local.close();
  c.close();
  console.log(JSON.stringify(result));
}

main().catch((e) => { console.error(e); process.exit(1); });
