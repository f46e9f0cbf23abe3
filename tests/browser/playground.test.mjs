// The playground page in a real browser: Debian's chromium driven by
// playwright-core. Every number the page shows is compared with what the
// native build of the same glue (pg_native) prints for the same arguments,
// at the digits the page shows.
//
//   node tests/browser/playground.test.mjs SITE_DIR PG_NATIVE OUT_DIR
//
// SITE_DIR is the built page (scripts/playground.sh's output), OUT_DIR
// receives a screenshot of every panel. CHROMIUM overrides the browser
// binary (default /usr/bin/chromium). Runs every check, prints a line for
// each, and exits 1 if any failed; 77 (a skip, for meson) only when there
// is no chromium binary to drive.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { execFileSync } from 'node:child_process';

const [siteArg, nativeArg, outArg] = process.argv.slice(2);
if (!siteArg || !nativeArg || !outArg) {
  console.error('usage: node playground.test.mjs SITE_DIR PG_NATIVE OUT_DIR');
  process.exit(2);
}
const SITE = path.resolve(siteArg);
const PG_NATIVE = path.resolve(nativeArg);
const OUT = path.resolve(outArg);
fs.mkdirSync(OUT, { recursive: true });
for (const f of ['index.html', 'playground.js', 'autograd_playground.js']) {
  if (!fs.existsSync(path.join(SITE, f))) {
    console.error(`FAIL: ${path.join(SITE, f)} is missing (build the page with scripts/playground.sh)`);
    process.exit(1);
  }
}

const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(executablePath)) {
  console.log(`SKIP: no chromium at ${executablePath} (install Debian's chromium or set CHROMIUM)`);
  process.exit(77);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  console.error(`FAIL: playwright-core is not installed: run 'npm ci' in tests/browser (${e.message})`);
  process.exit(1);
}

/* ------------------------------------------------------------ helpers */

class CheckFailure extends Error {}
function assert(cond, msg) {
  if (!cond) throw new CheckFailure(msg);
}

/* pg_native prints the JSON answer; it exits non-zero when that answer
 * is an error, which some checks want. */
function native(...args) {
  let out;
  try {
    out = execFileSync(PG_NATIVE, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    out = e.stdout;
    if (!out) throw new CheckFailure(`pg_native ${args.join(' ')} failed: ${e.stderr || e.message}`);
  }
  return JSON.parse(out);
}

/* The page rounds for display; `shown` agrees with `value` at the shown
 * digits when they differ by at most half a unit in its last place. */
function parseShown(s) {
  const m = /(-?\d+(?:\.(\d+))?)(?:e([+-]?\d+))?/.exec(String(s).replace(/\u2212/g, '-'));
  if (!m) return null;
  const decimals = m[2] ? m[2].length : 0;
  const exp = m[3] ? Number(m[3]) : 0;
  return { value: Number(m[0]), ulp: Math.pow(10, exp - decimals) };
}
function agrees(shown, value, what) {
  const p = parseShown(shown);
  assert(p !== null, `${what}: the page shows "${shown}", not a number`);
  const tol = 0.5 * p.ulp * (1 + 1e-9) + 1e-15;
  assert(Math.abs(p.value - value) <= tol,
    `${what}: the page shows ${shown}, the native engine gives ${value} (differs by more than half a unit in the last shown digit)`);
}
const sigma = (z) => 1 / (1 + Math.exp(-z));

/* ------------------------------------------------------------- server */

const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.wasm': 'application/wasm', '.json': 'application/json' };
const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://127.0.0.1');
  let rel = decodeURIComponent(u.pathname);
  if (rel.endsWith('/')) rel += 'index.html';
  const file = path.join(SITE, path.normalize(rel));
  if (!file.startsWith(SITE + path.sep)) { res.writeHead(403); res.end(); return; }
  fs.readFile(file, (err, data) => {
    if (err) { res.writeHead(404); res.end('not found'); return; }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    res.end(data);
  });
});
await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
const BASE = `http://127.0.0.1:${server.address().port}/`;

/* ------------------------------------------------------------ browser */

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pg-chromium-'));
let context;
try {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
} catch (e) {
  console.error(`FAIL: cannot launch ${executablePath}: ${e.message}`);
  server.close();
  process.exit(1);
}

const outside = [];
await context.route('**/*', (route) => {
  const u = new URL(route.request().url());
  if (u.hostname === '127.0.0.1') return route.continue();
  outside.push(route.request().url());
  return route.abort('blockedbyclient');
});

const page = context.pages()[0] || await context.newPage();
const consoleErrors = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push(String(e)));

const text = async (testid) => (await page.getByTestId(testid).textContent()).trim();
const shot = async (name) => {
  await page.screenshot({ path: path.join(OUT, name), fullPage: true });
};

let failed = 0;
async function check(name, fn) {
  try {
    await fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e instanceof CheckFailure ? e.message : e.stack || e}`);
  }
}

/* ------------------------------------------------------------- checks */

const LECTURE = { x: [0.2, 0.5], t: [0.2, 0.9], W1: [0.1, 0.2, 0.3, 0.1], W2: [0.4, 0.5, 0.1, 0.3], lr: 0.3 };
const WIDS = ['W1-00', 'W1-01', 'W1-10', 'W1-11', 'W2-00', 'W2-01', 'W2-10', 'W2-11'];
const netArgs = (s, sel) => [...s.x, ...s.t, ...s.W1, ...s.W2, s.lr, sel].join(' ');

await check('(a) the page loads with the engine and no console errors', async () => {
  await page.goto(BASE);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 60000 });
  assert(!(await page.getByTestId('engine-error').isVisible()), 'the engine banner is shown: ' + await text('engine-error'));
  const v = native('version');
  assert((await text('version')).includes(v.version), `version: page "${await text('version')}", pg_native ${v.version}`);
  assert(consoleErrors.length === 0, 'console errors: ' + consoleErrors.join(' | '));
  await shot('1-network-en.png');
});

await check('(b) the lecture\'s default: 0.37 × 0.25 × 0.54 = 0.049 for W2[0][0]', async () => {
  const s = await text('explain-numbers-0');
  assert(s.includes('0.37 × 0.25 × 0.54'), `the factors read "${s}"`);
  assert(/= 0\.049$/.test(s), `the product reads "${s}"`);
  assert((await text('explain-title')).includes('W2[0][0]'), 'the explained weight is not W2[0][0]: ' + await text('explain-title'));
  const r = native('net', netArgs(LECTURE, 4));
  const titles = await page.getByTestId('explain-numbers-0').locator('.factor').evaluateAll((es) => es.map((e) => e.title));
  assert(titles.length === 4, `expected 3 factors and the product with hover text, got ${titles.length}`);
  r.explain.paths[0].factors.forEach((f, k) => {
    assert(/\d\.\d{4}/.test(titles[k]), `factor ${k} hover "${titles[k]}" has fewer than 4 digits`);
    agrees(titles[k], f, `factor ${k} hover`);
  });
  agrees(await text('grad-W2-00'), r.dW2[0], 'dE/dW2[0][0]');
  agrees(await text('E'), r.E, 'E');
});

const edited = { x: [0.3, 0.5], t: [0.2, 0.9], W1: [0.1, 0.7, 0.3, 0.1], W2: [0.4, 0.5, 0.1, 0.3], lr: 0.3 };
let before = null;
await check('(c) after editing W1[0][1] = 0.7 and x0 = 0.3 every ∂E/∂w agrees with pg_native', async () => {
  await page.getByTestId('w-W1-01').fill('0.7'); // focusing it selects W1[0][1]
  await page.getByTestId('x-0').fill('0.3');
  const r = native('net', netArgs(edited, 1));
  assert(r.ok, 'pg_native net failed: ' + r.error);
  const g = [...r.dW1, ...r.dW2], nw = [...r.W1_new, ...r.W2_new];
  for (let s = 0; s < 8; s++) {
    agrees(await text('grad-' + WIDS[s]), g[s], `table dE/d${WIDS[s]}`);
    const edge = await text('edge-grad-' + WIDS[s]);
    agrees(edge.split('=').pop(), g[s], `edge label dE/d${WIDS[s]}`);
    agrees(await text('new-' + WIDS[s]), nw[s], `updated ${WIDS[s]}`);
  }
  agrees(await text('E'), r.E, 'E');
  for (const L of [1, 2]) for (let j = 0; j < 2; j++) {
    agrees((await text(`z-a${L}${j}`)).split('=').pop(), r['z' + L][j], `z${L}${j}`);
    agrees((await text(`a-a${L}${j}`)).split('=').pop(), r['a' + L][j], `a${L}${j}`);
  }
  // the selected W1 weight is explained by two paths of five factors
  assert((await text('explain-title')).includes('W1[0][1]'), 'the explained weight is not W1[0][1]');
  for (let p = 0; p < 2; p++) {
    const n = await page.getByTestId('explain-numbers-' + p).locator('.factor').count();
    assert(n === 6, `path ${p}: ${n - 1} factors shown, expected 5`);
    const shown = (await text('explain-numbers-' + p)).split('=').pop();
    agrees(shown, r.explain.paths[p].product, `path ${p} product`);
  }
  agrees((await text('explain-sum')).split('=').pop(), r.explain.total, 'the sum of the paths');
  agrees((await text('explain-update')).split('=').pop(), r.W1_new[1], 'the selected weight\'s update');
  before = r;
  await shot('1-network-edited-en.png');
});

await check('(d) "step" applies pg_native\'s W_new and E decreases', async () => {
  assert(before, 'needs (c)');
  const E0 = Number(await text('E'));
  await page.getByTestId('step').click();
  const nw = [...before.W1_new, ...before.W2_new];
  for (let s = 0; s < 8; s++) {
    const shown = await page.getByTestId('w-' + WIDS[s]).inputValue();
    assert(Math.abs(Number(shown) - nw[s]) <= 0.5e-4 + 1e-12, `${WIDS[s]} after the step: input shows ${shown}, pg_native W_new ${nw[s]}`);
    const exact = Number(await page.getByTestId('tw-' + WIDS[s]).getAttribute('title'));
    assert(Math.abs(exact - nw[s]) <= 1e-12 * Math.max(1, Math.abs(nw[s])), `${WIDS[s]} held after the step: ${exact}, pg_native ${nw[s]}`);
  }
  const E1s = await text('E');
  agrees(E1s, before.E_new, 'E after the step');
  assert(Number(E1s) < E0, `E did not decrease: ${E0} -> ${E1s}`);
  assert((await text('net-steps')) === '1', 'the step counter is not 1');
  for (let k = 0; k < 5; k++) await page.getByTestId('step').click();
  await page.getByTestId('edge-W2-00').click({ force: true });
  await shot('1-network-steps-en.png');
  await page.getByTestId('net-reset').click();
  assert((await text('explain-numbers-0')).includes('0.37 × 0.25 × 0.54'), 'reset did not restore the lecture\'s values');
});

/* Clicks on the canvas at data coordinates ([-3, 3]², y up). */
async function addPoints(pts, cls) {
  await page.getByTestId('class-' + cls).click();
  const canvas = page.getByTestId('lr-canvas');
  const box = await canvas.boundingBox();
  for (const [x, y] of pts) {
    await canvas.click({ position: { x: (x + 3) / 6 * box.width, y: (3 - y) / 6 * box.height } });
  }
}
async function train(steps) {
  await page.getByTestId('lr-steps').fill(String(steps));
  await page.getByTestId('lr-train').click();
  await page.waitForFunction(() => document.getElementById('panel-logreg').dataset.state === 'idle', null, { timeout: 60000 });
}
async function shownWB() {
  const w = (await text('lr-w')).replace(/[()]/g, '').split(',').map((s) => s.trim());
  return { w, b: await text('lr-b') };
}
function pagePoints(s) {
  const v = s.trim().split(/\s+/).map(Number), out = [];
  for (let i = 0; i + 2 < v.length; i += 3) out.push([v[i], v[i + 1], v[i + 2]]);
  return out;
}

await check('(e) logistic regression: clicked points, trained w and b agree with pg_native; the boundary moves toward new class-1 points', async () => {
  await page.getByTestId('tab-logreg').click();
  await shot('2-logreg-seeded-en.png');
  await page.getByTestId('lr-clear').click();
  const c0 = [[-1.5, -1.0], [-0.5, -2.0], [-2.0, 0.5], [-1.0, -0.5]];
  const c1 = [[1.5, 1.0], [0.5, 2.0], [2.0, -0.5], [1.0, 0.5]];
  await addPoints(c0, 0);
  await addPoints(c1, 1);
  const pts = pagePoints(await page.getByTestId('lr-canvas').getAttribute('data-points'));
  const want = [...c0.map((p) => [...p, 0]), ...c1.map((p) => [...p, 1])];
  assert(pts.length === want.length, `${pts.length} points on the page, ${want.length} clicked`);
  want.forEach((p, i) => assert(Math.abs(pts[i][0] - p[0]) < 0.03 && Math.abs(pts[i][1] - p[1]) < 0.03 && pts[i][2] === p[2],
    `point ${i}: clicked ${p}, the page has ${pts[i]}`));
  const eta = await page.getByTestId('lr-eta').inputValue();
  await train(300);
  assert((await text('lr-done')) === '300', 'steps done: ' + await text('lr-done'));
  const r1 = native('logreg', [300, eta, 0, 0, 0, pts.length, ...pts.flat()].join(' '));
  assert(r1.ok, 'pg_native logreg: ' + r1.error);
  let s = await shownWB();
  agrees(s.w[0], r1.w[0], 'w1'); agrees(s.w[1], r1.w[1], 'w2'); agrees(s.b, r1.b, 'b');
  agrees(await text('lr-nll'), r1.nll[r1.nll.length - 1], 'NLL');
  agrees(await text('lr-acc'), 100 * r1.accuracy, 'accuracy (%)');
  await shot('2-logreg-trained-en.png');

  // class-1 points deep on the class-0 side pull the boundary toward them
  const extra = [[-1.5, -1.5], [-2.0, -1.0], [-1.0, -2.0], [-1.8, -0.3]];
  extra.forEach(([x, y]) => assert(r1.w[0] * x + r1.w[1] * y + r1.b < 0, `(${x}, ${y}) is not on the class-0 side`));
  await addPoints(extra, 1);
  const pts2 = pagePoints(await page.getByTestId('lr-canvas').getAttribute('data-points'));
  assert(pts2.length === pts.length + extra.length, 'the extra points were not added');
  await train(300);
  const r2 = native('logreg', [300, eta, r1.w[0], r1.w[1], r1.b, pts2.length, ...pts2.flat()].join(' '));
  s = await shownWB();
  agrees(s.w[0], r2.w[0], 'w1 after the second training'); agrees(s.w[1], r2.w[1], 'w2 after the second training');
  agrees(s.b, r2.b, 'b after the second training');
  for (const [x, y] of pts2.slice(pts.length)) {
    const p1 = sigma(r1.w[0] * x + r1.w[1] * y + r1.b), p2 = sigma(r2.w[0] * x + r2.w[1] * y + r2.b);
    const q2 = sigma(Number(s.w[0]) * x + Number(s.w[1]) * y + Number(s.b));
    assert(p2 > p1 && q2 > p1, `σ(w·x + b) at the new class-1 point (${x}, ${y}) did not increase: ${p1} -> ${p2} (page ${q2})`);
  }
  await shot('2-logreg-retrained-en.png');
});

await check('(f) gradient check: engine gradients and finite differences agree with pg_native; the sweep steps to its end; a syntax error is shown', async () => {
  await page.getByTestId('tab-grad').click();
  await page.getByTestId('gc-expr').fill('tanh(a*b + c)');
  await page.getByTestId('gc-vars').fill('a=2 b=-3 c=0.5');
  await page.getByTestId('gc-run').click();
  const r = native('expr', 'tanh(a*b + c)', 'a=2 b=-3 c=0.5');
  assert(r.ok, 'pg_native expr: ' + r.error);
  assert(r.grads.length === 3, 'pg_native gave ' + r.grads.length + ' variables');
  for (const g of r.grads) {
    agrees(await text('gc-grad-' + g.name), g.grad, `engine gradient d/d${g.name}`);
    agrees(await text('gc-num-' + g.name), g.numeric, `finite difference d/d${g.name}`);
    assert((await text('gc-pass-' + g.name)) === (r.pass ? '✓' : '✗'), `d/d${g.name}: the row's verdict disagrees with ag_gradcheck's`);
  }
  agrees(await text('gc-value'), r.value, 'the value');
  assert((await text('gc-verdict')).includes(r.pass ? '✓' : '✗'), 'the verdict is not ' + r.pass);
  await shot('3-gradcheck-en.png');
  // walk the sweep
  for (let k = 0; k < r.sweep.length; k++) {
    const up = await text('sweep-upstream');
    agrees(up.split('=').pop(), r.sweep[k].grad_out, `step ${k + 1}: upstream gradient`);
    assert(await page.locator(`[data-testid="gc-node-${r.sweep[k].node}"].current`).count() === 1, `step ${k + 1}: node ${r.sweep[k].node} is not highlighted`);
    if (k === 1) await shot('3-gradcheck-sweep-en.png');
    await page.getByTestId('sweep-next').click();
  }
  assert(await page.getByTestId('sweep-finished').isVisible(), 'the sweep did not reach its end');
  assert(await page.getByTestId('sweep-next').isDisabled(), '"next step" is still enabled at the end');
  await page.getByTestId('sweep-prev').click();
  assert(!(await page.getByTestId('sweep-finished').isVisible()), '"previous" did not go back');
  // a syntax error: the glue's message
  const bad = native('expr', 'tanh(a*b +', 'a=2 b=-3 c=0.5');
  assert(!bad.ok, 'pg_native accepted tanh(a*b +');
  await page.getByTestId('gc-expr').fill('tanh(a*b +');
  await page.getByTestId('gc-run').click();
  assert(await page.getByTestId('gc-error').isVisible(), 'no error is shown for tanh(a*b +');
  assert((await text('gc-error-msg')) === bad.error, `error shown "${await text('gc-error-msg')}", pg_native "${bad.error}"`);
  await shot('3-gradcheck-error-en.png');
  await page.getByTestId('gc-expr').fill('tanh(a*b + c)');
  await page.getByTestId('gc-run').click();
});

await check('(g) Korean: the panel titles change', async () => {
  const labels = () => page.evaluate(() => [...document.querySelectorAll('[data-i18n], [data-i18n-svg]')].map((e) => e.textContent.trim()));
  const enLabels = await labels();
  const en = [await text('title-net'), await text('title-logreg'), await text('title-grad'), await text('tab-net')];
  await page.getByTestId('lang-ko').click();
  const ko = [await text('title-net'), await text('title-logreg'), await text('title-grad'), await text('tab-net')];
  ko.forEach((s, i) => {
    assert(s !== en[i], `title ${i} did not change: "${s}"`);
    assert(/[\uac00-\ud7a3]/.test(s), `title ${i} has no Hangul: "${s}"`);
  });
  assert((await page.locator('html').getAttribute('lang')) === 'ko', 'html lang is not ko');
  const koLabels = await labels();
  const untranslated = enLabels.filter((s, i) => s === koLabels[i]);
  assert(enLabels.length > 40 && untranslated.length === 0, `labels left in English: ${untranslated.join(' | ')}`);
  await shot('3-gradcheck-ko.png');
  await page.getByTestId('tab-logreg').click();
  await shot('2-logreg-ko.png');
  await page.getByTestId('tab-net').click();
  await page.getByTestId('edge-W1-10').click({ force: true });
  await shot('1-network-ko.png');
  await page.getByTestId('lang-en').click();
  assert((await text('title-net')) === en[0], 'switching back to English did not restore the title');
});

await check('no console errors and no request left 127.0.0.1', async () => {
  assert(consoleErrors.length === 0, 'console errors: ' + consoleErrors.join(' | '));
  assert(outside.length === 0, 'requests outside 127.0.0.1 were attempted: ' + outside.join(', '));
});

await context.close();
server.close();
fs.rmSync(userDataDir, { recursive: true, force: true });
console.log(failed ? `${failed} check(s) failed; screenshots in ${OUT}` : `all checks passed; screenshots in ${OUT}`);
process.exit(failed ? 1 : 0);
