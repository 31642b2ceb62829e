// Runs the device-day comparison that scripts/bench-sync-compare.sh sets up:
// spotcheck's device-day benchmark (Go test binary, one run a dialect) and
// PouchDB → pouchdb-server (replicate.js, one run a batch size) on the same
// exported day, A/B interleaved for ROUNDS rounds (the order reversed every
// other round), then one table of medians. Settings come from the
// environment; see the shell script.
'use strict';

const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const env = process.env;
const OUT = env.OUT;
const EXPORT = path.join(OUT, 'day');
const ROUNDS = Number(env.ROUNDS || 3);
const LINK = env.LINK || 'loopback';
const throttled = LINK === 'throttled';
const DIALECTS = (env.DIALECTS || 'sqlite postgres').split(/\s+/).filter(Boolean);
const BATCHES = (env.BATCHES || '100 1').split(/\s+/).filter(Boolean).map(Number);
// BenchmarkDeviceDay's link (devicedaybench.VehicleLink): 1 Mbit/s up,
// 150 ms RTT; only the resets are a setting.
const RATE = 1; // Mbit/s up
const RTT = '150ms';
const RESET_EVERY = env.RESET_EVERY || '0';
const TIMEOUT = Number(env.TIMEOUT || 900);
const GO_FLAGS = (env.GO_FLAGS || '').split(/\s+/).filter(Boolean);
const manifest = JSON.parse(fs.readFileSync(path.join(EXPORT, 'manifest.json'), 'utf8'));
const payload = manifest.attachment_bytes + manifest.mutation_bytes;
const floor = payload / (RATE * 1e6 / 8); // seconds at the link's rate

function uptime() { return execFileSync('uptime').toString().trim().replace(/.*load/, 'load'); }

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, Object.assign({ stdio: ['ignore', 'pipe', 'pipe'] }, opts));
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}\n${out.slice(-3000)}\n${err.slice(-3000)}`)));
  });
}

// A line "proxy ADDR" and "control ADDR" from linkproxy, or a started server.
function start(cmd, args, opts, ready) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, Object.assign({ stdio: ['ignore', 'pipe', 'pipe'] }, opts));
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${cmd}: not ready: ${out}`)), 30000);
    const check = (d) => {
      out += d;
      const r = ready(out);
      if (r) { clearTimeout(timer); resolve(Object.assign({ proc: p }, r)); }
    };
    p.stdout.on('data', check);
    p.stderr.on('data', check);
    p.on('close', (code) => reject(new Error(`${cmd} exited ${code}: ${out}`)));
  });
}

async function waitHTTP(url) {
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(url)).ok) return; } catch (e) { /* not yet */ }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} never answered`);
}

function goDuration(s) { // "4m12.3s", "812ms"
  let t = 0;
  for (const [, n, u] of s.matchAll(/([\d.]+)(h|ms|µs|m|s)/g)) t += Number(n) * { h: 3600, m: 60, s: 1, ms: 1e-3, 'µs': 1e-6 }[u];
  return t;
}

function metric(line, name) {
  const m = line.match(new RegExp(`([\\d.e+-]+) ${name.replace(/[/]/g, '\\/')}(\\s|$)`));
  return m ? Number(m[1]) : NaN;
}

// spotcheck's device and server keep their files (SQLite databases,
// attachments, uploads, blobs) in the test's temporary directories: under
// OUT, like PouchDB's databases, not in the system's /tmp, so that both
// systems write to the same file system and directory tree.
const GO_TMP = path.join(OUT, 'go-tmp');

async function spotcheck(dialect) {
  fs.mkdirSync(GO_TMP, { recursive: true });
  const pg = { SPOTCHECK_TEST_POSTGRES_DSN: env.PG_DSN, TMPDIR: GO_TMP };
  if (!throttled) {
    const out = await run(env.TEST_BIN, ['-test.run', '^$', '-test.bench', `^BenchmarkDeviceDayLoopback$/^${dialect}$`, '-test.benchtime', '1x',
      '-test.timeout', '30m', ...GO_FLAGS], { env: Object.assign({}, env, pg) });
    const line = out.split('\n').find((l) => l.startsWith('BenchmarkDeviceDayLoopback/'));
    const evening = out.split('\n').find((l) => l.trim().startsWith('evening:')) || '';
    const down = evening.match(/([\d.]+) KB down/);
    if (!line) throw new Error('no benchmark line:\n' + out);
    return { system: 'spotcheck', dialect, finished: true, wall_s: metric(line, 'evening-s'), requests: metric(line, 'evening-requests'),
      up: metric(line, 'evening-MB-up') * 1e6, down: down ? Number(down[1]) * 1e3 : NaN, detail: evening.trim() };
  }
  const out = await run(env.TEST_BIN, ['-test.run', '^$', '-test.bench', '^BenchmarkDeviceDay$', '-test.benchtime', '1x', '-test.timeout', '60m',
    '-deviceday.dialect', dialect, '-deviceday.items', String(manifest.items), '-deviceday.drop-every', RESET_EVERY, ...GO_FLAGS],
  { env: Object.assign({}, env, pg) });
  // | payload | link | wall | ideal | wall/ideal | up on wire | wire/payload | conns | drops | attempts | round trips | no-op round trips |
  const row = out.split('\n').find((l) => /^\| [\d.]+ MB \|/.test(l));
  const line = out.split('\n').find((l) => l.startsWith('BenchmarkDeviceDay'));
  if (!row || !line) throw new Error('no benchmark row:\n' + out);
  const c = row.split('|').map((s) => s.trim());
  const resent = out.match(/re-sent (\d+) B in all/);
  // Up bytes from wire/payload (3 decimals) and the exported day's payload,
  // which is the benchmark's to within a few bytes of ids and times.
  // Wall ÷ floor against the same floor as PouchDB's (the benchmark's own
  // wall/ideal is kept as go_ratio).
  const wall = goDuration(c[3]);
  return { system: 'spotcheck', dialect, finished: true, wall_s: wall, ratio: wall / floor, go_ratio: metric(line, 'wall/ideal'), requests: Number(c[11]),
    up: metric(line, 'wire/payload') * payload, drops: Number(c[9]), resent: resent ? Number(resent[1]) : NaN, detail: row };
}

async function pouchdb(batch, server, proxy) {
  const args = [path.join(__dirname, 'replicate.js'), '--export', EXPORT, '--local', path.join(OUT, 'pouch-local'),
    '--remote', proxy ? `http://${proxy.addr}` : server, '--direct', server, '--batch', String(batch), '--timeout', String(TIMEOUT)];
  if (proxy) args.push('--control', `http://${proxy.control}`);
  const out = await run(process.execPath, args);
  const r = JSON.parse(out.trim().split('\n').pop());
  if (proxy && r.wire) { r.client_up = r.up; r.up = r.wire.up; r.drops = r.wire.drops; }
  if (throttled && r.finished) r.ratio = r.wall_s / floor;
  return r;
}

function median(xs) {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

async function main() {
  const results = [];
  const log = path.join(OUT, `results-${LINK}-${new Date().toISOString().replace(/[:.]/g, '-')}.jsonl`);
  const dataDir = path.join(OUT, 'pouch-server');
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.mkdirSync(dataDir, { recursive: true });
  const port = Number(env.POUCH_PORT || 15984);
  // On disk (LevelDB, pouchdb-server's default), not --in-memory.
  const srv = spawn(path.join(env.POUCH_MODULES, '.bin', 'pouchdb-server'), ['-p', String(port), '-o', '127.0.0.1', '-d', dataDir, '-n'],
    { cwd: dataDir, stdio: ['ignore', fs.openSync(path.join(OUT, 'pouchdb-server.log'), 'w'), 'inherit'] });
  const server = `http://127.0.0.1:${port}`;
  const procs = [srv];
  const stop = () => procs.forEach((p) => { try { p.kill('SIGTERM'); } catch (e) { /* gone */ } });
  process.on('exit', stop);
  process.on('SIGINT', () => process.exit(130));
  process.on('SIGTERM', () => process.exit(143));
  await waitHTTP(server + '/');
  let proxy = null;
  if (throttled) {
    proxy = await start(env.LINKPROXY_BIN, ['-target', `127.0.0.1:${port}`, '-rate', String(RATE), '-rtt', RTT, '-reset-every', RESET_EVERY],
      {}, (out) => {
        const a = out.match(/proxy (\S+)\ncontrol (\S+)\n/);
        return a && { addr: a[1], control: a[2] };
      });
    procs.push(proxy.proc);
  }
  console.log(`day: ${manifest.mutations.length} mutations (${(manifest.mutation_bytes / 1e3).toFixed(0)} KB JSON), ${manifest.attachments.length} attachments (${(manifest.attachment_bytes / 1e6).toFixed(2)} MB); payload ${(payload / 1e6).toFixed(2)} MB`);
  console.log(`link: ${throttled ? `${RATE} Mbit/s up, ${RTT} RTT, reset every ${RESET_EVERY} (0 = never); floor ${floor.toFixed(1)} s` : 'loopback'}; ${ROUNDS} rounds`);

  const spot = DIALECTS.map((d) => () => spotcheck(d));
  const pouch = BATCHES.map((b) => () => pouchdb(b, server, proxy));
  const jobs = [];
  for (let i = 0; i < Math.max(spot.length, pouch.length); i++) {
    if (spot[i]) jobs.push(spot[i]);
    if (pouch[i]) jobs.push(pouch[i]);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    const order = round % 2 ? jobs : jobs.slice().reverse();
    for (const job of order) {
      const load = uptime();
      const r = await job();
      r.round = round;
      r.load = load;
      results.push(r);
      fs.appendFileSync(log, JSON.stringify(r) + '\n');
      const who = r.system === 'spotcheck' ? `spotcheck ${r.dialect}` : `pouchdb batch ${r.batch}`;
      console.log(`round ${round} ${who}: ${r.finished ? `${r.wall_s.toFixed(3)} s` : `did not finish in ${r.wall_s.toFixed(0)} s (${r.error})`}, ${r.requests} requests, ${(r.up / 1e6).toFixed(2)} MB up` +
        (r.ratio ? `, ${r.ratio.toFixed(3)}× floor` : '') + (r.drops !== undefined ? `, ${r.drops} drops` : '') + ` (${load})`);
    }
  }

  const rows = [];
  const key = (r) => r.system === 'spotcheck' ? `spotcheck|${r.dialect}` : `pouchdb|${r.batch}`;
  const groups = new Map();
  for (const r of results) { if (!groups.has(key(r))) groups.set(key(r), []); groups.get(key(r)).push(r); }
  const med = {};
  for (const [k, rs] of groups) {
    const done = rs.filter((r) => r.finished);
    med[k] = median(done.map((r) => r.wall_s));
    const [system, which] = k.split('|');
    rows.push({ k, system, which, n: `${done.length}/${rs.length}`, wall: med[k], requests: median(done.map((r) => r.requests)),
      up: median(done.map((r) => r.up)), ratio: median(done.map((r) => r.ratio || NaN)), noop: median(done.map((r) => r.noop ? r.noop.requests : NaN)) });
  }
  const f = (x, d) => Number.isNaN(x) ? '–' : x.toFixed(d);
  console.log(`\n${LINK}${throttled ? ` (${RATE} Mbit/s up, ${RTT} RTT, reset every ${RESET_EVERY})` : ''}, medians of ${ROUNDS} interleaved rounds; ${uptime()}`);
  console.log(`| system | server / batch | finished | evening sync | requests | MB up | up ÷ payload |${throttled ? ' wall ÷ floor |' : ''}`);
  console.log(`|---|---|---|---|---|---|---|${throttled ? '---|' : ''}`);
  for (const r of rows) {
    const which = r.system === 'spotcheck' ? r.which : `pouchdb-server, batch_size ${r.which}`;
    console.log(`| ${r.system} | ${which} | ${r.n} | ${f(r.wall, 3)} s | ${f(r.requests, 0)} | ${f(r.up / 1e6, 2)} | ${f(r.up / payload, 3)} |${throttled ? ` ${f(r.ratio, 3)}× |` : ''}`);
  }
  console.log('');
  for (const d of DIALECTS) {
    for (const b of BATCHES) {
      const s = med[`spotcheck|${d}`], p = med[`pouchdb|${b}`];
      console.log(`spotcheck ${d} ÷ PouchDB batch_size ${b}: ${f(s / p, 2)}`);
    }
  }
  console.log(`raw results: ${log}`);
}

main().then(() => process.exit(0), (e) => { console.error(e.message || e); process.exit(1); });
