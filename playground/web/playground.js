/* The autograd playground: three panels over the engine compiled to
 * WebAssembly (autograd_playground.js, built by scripts/playground.sh).
 * Every number on the page comes from the engine's JSON answers; the page
 * only lays them out and rounds them for display. */
'use strict';

(function () {
  const SVGNS = 'http://www.w3.org/2000/svg';

  /* ---------------------------------------------------------------- text */

  const I18N = {
    en: {
      title: 'autograd playground',
      subtitle: 'The tutorial\'s examples, computed live by the C engine compiled to WebAssembly.',
      tab_net: '1. Network and chain rule',
      tab_logreg: '2. Logistic regression',
      tab_grad: '3. Gradient check',
      net_title: 'The lecture\'s 2-2-2 network: forward pass, chain rule, one step',
      net_intro: 'Tutorial sections 5–9. Edit any input, weight or target; the engine recomputes the forward values, the error E and ∂E/∂w for every weight. Click an edge to explain its gradient by the chain rule.',
      lr: 'learning rate',
      step: 'step',
      reset: 'reset to the lecture\'s values',
      steps_done: 'steps',
      steps: 'steps',
      all_weights: 'All weights',
      weight: 'weight',
      updated: 'updated w − lr·∂E/∂w',
      input_layer: 'input',
      hidden_layer: 'hidden',
      output_layer: 'output',
      target: 'target',
      sel_weight: 'Selected weight {0} ({1} → {2}), w = {3}',
      one_path: 'E depends on this weight through one path, so the chain rule is a product of three local derivatives:',
      two_paths: 'E depends on this weight through both outputs: two paths of five local derivatives each, and the chain rule adds them:',
      via: 'via {0}:',
      sum_paths: 'sum of the paths:',
      rounding_note: 'Factors are shown to two decimals; the product is of the unrounded factors (hover over a factor to see it), which is why 0.37 × 0.25 × 0.54 is shown as 0.049 and not 0.050.',
      engine_total: 'engine (ag_backward): ∂E/∂w = {0}',
      update_line: 'one gradient-descent step with learning rate {0}:',
      plot_E: 'E over the steps',
      lr_title: 'Logistic regression as maximum likelihood',
      lr_intro: 'Tutorial sections 1–4. Click to add points; training minimises the negative log-likelihood by gradient descent, and the line w·x + b = 0 is where σ(w·x + b) = 0.5.',
      lr_hint: 'Click: add a point of the selected class. Shift-click: the other class.',
      class: 'class',
      train: 'train',
      training: 'training…',
      seed: 'example points',
      clear: 'clear',
      nll: 'NLL',
      accuracy: 'accuracy',
      points: 'points',
      nll_curve: 'Negative log-likelihood over the steps',
      need_points: 'Add some points first (click on the plane).',
      train_hint: 'press "train" to see the curve',
      gc_title: 'Gradient check and the backward sweep',
      gc_intro: 'Tutorial sections 8, 10 and 13. The engine\'s gradient of a small expression beside the central finite difference, then the backward sweep one node at a time.',
      expression: 'expression',
      variables: 'variables',
      check: 'check',
      gc_help: 'Functions: tanh sigmoid exp log sqrt sin cos relu abs square softplus, max(x, y) min(x, y); operators + − * / ^.',
      value: 'value',
      variable: 'variable',
      engine_grad: 'engine gradient',
      finite_diff: 'finite difference',
      difference: 'difference',
      pass: 'pass ✓ (ag_gradcheck)',
      tolerance: 'A variable passes when |engine − finite difference| ≤ 1e-7 + 1e-6·|finite difference| (ag_gradcheck\'s defaults).',
      verdict: 'check',
      fail: 'fail ✗ (ag_gradcheck)',
      sweep_title: 'The backward sweep',
      first: '« start',
      prev: '◀ previous',
      next: 'next step ▶',
      sweep_pos: 'step {0} of {1}',
      sweep_done: 'finished ({0} steps)',
      sw_node: 'Node {0}: {1}',
      sw_op: 'operation: {0}',
      sw_upstream: 'upstream gradient ∂f/∂({0}) = {1}',
      sw_seed: 'The sweep starts at the output with ∂f/∂f = 1.',
      sw_sends: 'sends to each input (upstream gradient × local derivative):',
      sw_none: 'nothing (needs no gradient)',
      sw_finished: 'The sweep is over: every variable holds its gradient.',
      grad_so_far: 'g',
      op_leaf: 'leaf',
      op_const: 'const',
      parse_error: 'The engine cannot use this input:',
      footer: 'The numbers come from the autograd C library (docs/tutorial.md), built with Emscripten.',
      no_engine: 'The engine (autograd_playground.js) did not load. Build the page with: bash scripts/playground.sh',
      loading: 'Loading the engine…',
    },
    ko: {
      title: 'autograd 플레이그라운드',
      subtitle: '튜토리얼의 예제를 WebAssembly로 컴파일한 C 엔진이 바로 계산합니다.',
      tab_net: '1. 신경망과 연쇄법칙',
      tab_logreg: '2. 로지스틱 회귀',
      tab_grad: '3. 기울기 검사',
      net_title: '강의의 2-2-2 신경망: 순전파, 연쇄법칙, 한 스텝',
      net_intro: '튜토리얼 5–9절. 입력, 가중치, 목표값을 아무거나 바꾸면 엔진이 순전파 값, 오차 E, 모든 가중치의 ∂E/∂w를 다시 계산합니다. 간선을 클릭하면 그 가중치의 기울기를 연쇄법칙으로 풀어 보여 줍니다.',
      lr: '학습률',
      step: '한 스텝',
      reset: '강의의 값으로 되돌리기',
      steps_done: '스텝 수',
      steps: '스텝 수',
      all_weights: '모든 가중치',
      weight: '가중치',
      updated: '갱신된 w − lr·∂E/∂w',
      input_layer: '입력',
      hidden_layer: '은닉',
      output_layer: '출력',
      target: '목표값',
      sel_weight: '선택한 가중치 {0} ({1} → {2}), w = {3}',
      one_path: 'E는 이 가중치에 경로 하나로만 의존하므로, 연쇄법칙에 따라 국소 미분 세 개의 곱이 됩니다.',
      two_paths: 'E는 이 가중치에 두 출력을 거쳐 의존합니다. 국소 미분 다섯 개로 된 경로가 두 개이고, 연쇄법칙은 두 경로를 더합니다.',
      via: '{0} 경유 경로:',
      sum_paths: '두 경로의 합:',
      rounding_note: '인수는 소수 둘째 자리까지 보여 주지만, 곱은 반올림하지 않은 인수로 계산합니다(인수 위에 마우스를 올리면 보입니다). 그래서 0.37 × 0.25 × 0.54가 0.050이 아니라 0.049로 나옵니다.',
      engine_total: '엔진(ag_backward): ∂E/∂w = {0}',
      update_line: '학습률이 {0}인 경사하강 한 스텝:',
      plot_E: '스텝에 따른 E',
      lr_title: '최대우도로 본 로지스틱 회귀',
      lr_intro: '튜토리얼 1–4절. 평면을 클릭해 점을 추가하세요. 학습은 경사하강법으로 음의 로그우도를 최소화하고, 직선 w·x + b = 0은 σ(w·x + b) = 0.5인 결정 경계입니다.',
      lr_hint: '클릭: 선택한 클래스의 점 추가. Shift+클릭: 다른 클래스의 점 추가.',
      class: '클래스',
      train: '학습',
      training: '학습 중…',
      seed: '예제 점',
      clear: '지우기',
      nll: '음의 로그우도',
      accuracy: '정확도',
      points: '점 개수',
      nll_curve: '스텝에 따른 음의 로그우도',
      need_points: '먼저 점을 추가하세요(평면을 클릭).',
      train_hint: '"학습"을 누르면 곡선이 그려집니다',
      gc_title: '기울기 검사와 역방향 계산',
      gc_intro: '튜토리얼 8절, 10절, 13절. 작은 식에 대해 엔진이 계산한 기울기를 중앙차분과 나란히 보여 주고, 역방향 계산을 노드 하나씩 따라갑니다.',
      expression: '식',
      variables: '변수',
      check: '검사',
      gc_help: '함수: tanh sigmoid exp log sqrt sin cos relu abs square softplus, max(x, y) min(x, y); 연산자 + − * / ^.',
      value: '값',
      variable: '변수',
      engine_grad: '엔진의 기울기',
      finite_diff: '중앙차분',
      difference: '차이',
      pass: '통과 ✓ (ag_gradcheck)',
      tolerance: '|엔진의 기울기 − 중앙차분| ≤ 1e-7 + 1e-6·|중앙차분|이면 통과입니다(ag_gradcheck의 기본값).',
      verdict: '판정',
      fail: '실패 ✗ (ag_gradcheck)',
      sweep_title: '역방향 계산',
      first: '« 처음',
      prev: '◀ 이전',
      next: '다음 단계 ▶',
      sweep_pos: '{1}단계 중 {0}단계',
      sweep_done: '끝({0}단계)',
      sw_node: '노드 {0}: {1}',
      sw_op: '연산: {0}',
      sw_upstream: '상류 기울기 ∂f/∂({0}) = {1}',
      sw_seed: '역방향 계산은 출력에서 ∂f/∂f = 1로 시작합니다.',
      sw_sends: '각 입력에 보내는 값(상류 기울기 × 국소 미분):',
      sw_none: '없음(기울기가 필요 없음)',
      sw_finished: '역방향 계산이 끝났습니다. 모든 변수에 기울기가 쌓였습니다.',
      grad_so_far: 'g',
      op_leaf: '리프',
      op_const: '상수',
      parse_error: '엔진이 이 입력을 쓸 수 없습니다:',
      footer: '숫자는 모두 autograd C 라이브러리(docs/tutorial.ko.md)를 Emscripten으로 빌드한 엔진이 계산합니다.',
      no_engine: '엔진(autograd_playground.js)을 불러오지 못했습니다. 다음 명령으로 페이지를 빌드하세요: bash scripts/playground.sh',
      loading: '엔진을 불러오는 중…',
    },
  };

  let lang = 'en';

  function t(key, ...args) {
    let s = I18N[lang][key];
    if (s === undefined) s = I18N.en[key];
    if (s === undefined) s = key;
    args.forEach((a, i) => { s = s.split('{' + i + '}').join(String(a)); });
    return s;
  }

  function setLang(l) {
    lang = l;
    document.documentElement.lang = l;
    document.title = t('title');
    document.querySelectorAll('[data-i18n]').forEach((el) => { el.textContent = t(el.dataset.i18n); });
    document.querySelectorAll('.lang button').forEach((b) => b.classList.toggle('on', b.dataset.lang === l));
    if (engine) {
      netCompute(); // its error message carries a translated label
      netRender();
      lrRender();
      gcRender();
    }
  }

  /* ---------------------------------------------------------- formatting */

  /* JSON writes NaN and infinities as null. */
  function fmt(v, p) {
    if (v === null || v === undefined || !isFinite(v)) return 'NaN';
    if (v === 0) return '0';
    return Number(v).toPrecision(p || 4);
  }
  /* A weight or input as the user would type it: at most 4 decimals. */
  function fmtW(v) {
    if (v === null || !isFinite(v)) return 'NaN';
    return String(Number(Number(v).toFixed(4)));
  }
  /* The lecture's rounding: factors to two decimals ... */
  function fmtFactor(f) {
    if (f === null || !isFinite(f)) return 'NaN';
    const s = Math.abs(f) >= 0.05 || f === 0 ? f.toFixed(2) : f.toPrecision(2);
    return f < 0 ? '(' + s + ')' : s;
  }
  /* A number written after an operator: negatives in parentheses. */
  function paren(s) { return s.charAt(0) === '-' ? '(' + s + ')' : s; }
  /* ... and the product of the unrounded factors to three decimals
   * (0.049), or two significant digits when it is smaller than 0.01. */
  function fmtProduct(p) {
    if (p === null || !isFinite(p)) return 'NaN';
    return Math.abs(p) >= 0.01 || p === 0 ? p.toFixed(3) : p.toPrecision(2);
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'html') e.innerHTML = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    kids.forEach((c) => e.append(c));
    return e;
  }
  function sv(tag, attrs) {
    const e = document.createElementNS(SVGNS, tag);
    for (const k in attrs || {}) {
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    return e;
  }
  function showError(id, msg) {
    const e = document.getElementById(id);
    e.textContent = msg || '';
    e.hidden = !msg;
  }

  /* A small line plot of ys into an <svg> of 330 × 150. */
  function plotLine(svg, ys, label, empty) {
    svg.replaceChildren();
    const W = 330, H = 150, L = 46, R = 10, T = 12, B = 24;
    svg.append(sv('rect', { x: L, y: T, width: W - L - R, height: H - T - B, class: 'plot-bg' }));
    if (!ys.length) {
      svg.append(sv('text', { x: (L + W - R) / 2, y: (T + H - B) / 2, class: 'tick', 'text-anchor': 'middle', text: empty || '' }));
      return;
    }
    let lo = Math.min(0, ...ys), hi = Math.max(...ys);
    if (!(hi > lo)) hi = lo + 1;
    hi += (hi - lo) * 0.05;
    const n = Math.max(ys.length - 1, 10);
    const X = (i) => L + (W - L - R) * i / n;
    const Y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    svg.append(sv('text', { x: L - 4, y: T + 4, class: 'tick', 'text-anchor': 'end', text: fmt(hi, 2) }));
    svg.append(sv('text', { x: L - 4, y: H - B, class: 'tick', 'text-anchor': 'end', text: fmt(lo, 2) }));
    svg.append(sv('text', { x: L, y: H - 6, class: 'tick', text: '0' }));
    svg.append(sv('text', { x: W - R, y: H - 6, class: 'tick', 'text-anchor': 'end', text: String(n) }));
    svg.append(sv('text', { x: (L + W - R) / 2, y: H - 6, class: 'tick', 'text-anchor': 'middle', text: label }));
    const pts = ys.map((v, i) => X(i).toFixed(1) + ',' + Y(v).toFixed(1)).join(' ');
    svg.append(sv('polyline', { points: pts, class: 'plot-line' }));
    const last = ys.length - 1;
    svg.append(sv('circle', { cx: X(last), cy: Y(ys[last]), r: 3, class: 'plot-dot' }));
  }

  /* -------------------------------------------------------------- engine */

  let engine = null;

  function call(fn, ...args) {
    try {
      return JSON.parse(fn(...args));
    } catch (e) {
      return { ok: false, error: String(e && e.message ? e.message : e) };
    }
  }

  /* ============================================ panel 1: the 2-2-2 network */

  const LECTURE = { x: [0.2, 0.5], t: [0.2, 0.9], W1: [0.1, 0.2, 0.3, 0.1], W2: [0.4, 0.5, 0.1, 0.3], lr: 0.3 };
  const net = { x: [], t: [], W1: [], W2: [], sel: 4, res: null, hist: [], steps: 0 };

  /* Geometry of the drawing (SVG user units = CSS pixels). */
  const G = { xin: 66, xh: 376, xout: 666, xt: 776, y: [115, 355], r: 44, lab: 0.28 };

  function wName(s) { // s = 0..7
    const m = s < 4 ? 1 : 2, k = s % 4, i = k >> 1, j = k & 1;
    return { m, i, j, id: 'W' + m + '-' + i + j, label: 'W' + m + '[' + i + '][' + j + ']',
      html: 'W<sub>' + m + '</sub>[' + i + '][' + j + ']',
      from: m === 1 ? 'x' + i : 'a1' + i, to: m === 1 ? 'a1' + j : 'a2' + j };
  }
  function subName(n) { // a10 -> a<sub>10</sub>
    return n.replace(/^([a-zA-Z])(\d+)$/, '$1<sub>$2</sub>');
  }
  function wValue(s) { return s < 4 ? net.W1[s] : net.W2[s - 4]; }
  function setW(s, v) { if (s < 4) net.W1[s] = v; else net.W2[s - 4] = v; }

  function edgeEnds(s) {
    const w = wName(s);
    const x0 = (w.m === 1 ? G.xin : G.xh) + G.r, x1 = (w.m === 1 ? G.xh : G.xout) - G.r;
    return { x0, y0: G.y[w.i], x1, y1: G.y[w.j] };
  }

  const netEls = {}; // handles to the parts updated on every change

  function netBuild() {
    const svg = document.getElementById('net-svg');
    const wrap = document.getElementById('net-wrap');
    svg.replaceChildren();
    wrap.querySelectorAll('input').forEach((e) => e.remove());
    netEls.edges = []; netEls.gtext = []; netEls.inputs = {}; netEls.neuron = {};

    const layerLabel = (x, key) => {
      const e = sv('text', { x, y: 26, class: 'layer-label', 'text-anchor': 'middle', 'data-i18n-svg': key });
      svg.append(e);
    };
    layerLabel(G.xin, 'input_layer'); layerLabel(G.xh, 'hidden_layer');
    layerLabel(G.xout, 'output_layer'); layerLabel(G.xt, 'target');

    const addInput = (x, y, testid, get, set, w) => {
      const inp = el('input', { type: 'number', step: '0.1', class: 'ov', 'data-testid': testid });
      inp.style.left = (x - (w || 60) / 2) + 'px';
      inp.style.top = (y - 12) + 'px';
      inp.style.width = (w || 60) + 'px';
      inp.value = fmtW(get());
      inp.addEventListener('input', () => {
        const v = inp.value.trim() === '' ? NaN : Number(inp.value);
        set(v);
        netStartOver();
      });
      wrap.append(inp);
      return inp;
    };

    // edges first, so the neurons are drawn over their ends
    for (let s = 0; s < 8; s++) {
      const e = edgeEnds(s), w = wName(s);
      const line = sv('line', { x1: e.x0, y1: e.y0, x2: e.x1, y2: e.y1, class: 'edge' });
      const hit = sv('line', { x1: e.x0, y1: e.y0, x2: e.x1, y2: e.y1, class: 'edge-hit', 'data-testid': 'edge-' + w.id });
      hit.addEventListener('click', () => netSelect(s));
      svg.append(line, hit);
      netEls.edges[s] = line;
    }
    for (let k = 0; k < 2; k++) {
      svg.append(sv('line', { x1: G.xout + G.r, y1: G.y[k], x2: G.xt - 34, y2: G.y[k], class: 'edge target-edge' }));
    }
    // neurons
    const neuron = (x, y, name, kind) => {
      const g = sv('g', { class: 'neuron ' + kind });
      g.append(sv('circle', { cx: x, cy: y, r: G.r }));
      const nm = sv('text', { x, y: kind === 'in' ? y - 18 : y - 14, 'text-anchor': 'middle', class: 'nname' });
      nm.innerHTML = name.replace(/^([a-z])(\d+)$/, '$1<tspan baseline-shift="sub" font-size="70%">$2</tspan>');
      g.append(nm);
      let z = null, a = null;
      if (kind !== 'in') {
        z = sv('text', { x, y: y + 5, 'text-anchor': 'middle', class: 'nval', 'data-testid': 'z-' + name });
        a = sv('text', { x, y: y + 22, 'text-anchor': 'middle', class: 'nval', 'data-testid': 'a-' + name });
        g.append(z, a);
      }
      svg.append(g);
      netEls.neuron[name] = { z, a };
    };
    for (let i = 0; i < 2; i++) {
      neuron(G.xin, G.y[i], 'x' + i, 'in');
      neuron(G.xh, G.y[i], 'a1' + i, 'hid');
      neuron(G.xout, G.y[i], 'a2' + i, 'out');
      const tb = sv('rect', { x: G.xt - 34, y: G.y[i] - 34, width: 68, height: 60, rx: 6, class: 'target-box' });
      const tn = sv('text', { x: G.xt, y: G.y[i] - 17, 'text-anchor': 'middle', class: 'nname' });
      // The lecture numbers its targets from 1: t₁ goes with a₂₀, t₂ with a₂₁.
      tn.innerHTML = 't<tspan baseline-shift="sub" font-size="70%">' + (i + 1) + '</tspan>';
      svg.append(tb, tn);
    }
    const Et = sv('text', { x: G.xt, y: (G.y[0] + G.y[1]) / 2 - 8, 'text-anchor': 'middle', class: 'etext' });
    const Ev = sv('text', { x: G.xt, y: (G.y[0] + G.y[1]) / 2 + 14, 'text-anchor': 'middle', class: 'etext big', 'data-testid': 'E-diagram' });
    Et.textContent = 'E = ½Σ(t−a₂)²';
    svg.append(Et, Ev);
    netEls.Ev = Ev;

    // weight labels: an input on the edge and the gradient under it
    for (let s = 0; s < 8; s++) {
      const e = edgeEnds(s), w = wName(s);
      const lx = e.x0 + (e.x1 - e.x0) * G.lab, ly = e.y0 + (e.y1 - e.y0) * G.lab;
      const gt = sv('text', { x: lx, y: ly + 27, 'text-anchor': 'middle', class: 'gtext', 'data-testid': 'edge-grad-' + w.id });
      gt.addEventListener('click', () => netSelect(s));
      svg.append(gt);
      netEls.gtext[s] = gt;
      const inp = addInput(lx, ly, 'w-' + w.id, () => wValue(s), (v) => setW(s, v));
      inp.addEventListener('focus', () => netSelect(s));
      inp.title = w.label;
      netEls.inputs['w' + s] = inp;
    }
    for (let i = 0; i < 2; i++) {
      netEls.inputs['x' + i] = addInput(G.xin, G.y[i] + 8, 'x-' + i, () => net.x[i], (v) => { net.x[i] = v; }, 62);
      netEls.inputs['t' + i] = addInput(G.xt, G.y[i] + 10, 't-' + i, () => net.t[i], (v) => { net.t[i] = v; }, 58);
    }
  }

  function netArgs() {
    const lr = Number(document.getElementById('lr').value);
    const nums = [...net.x, ...net.t, ...net.W1, ...net.W2, lr];
    return nums.map((v) => (Number.isNaN(v) ? 'nan' : String(v))).join(' ') + ' ' + net.sel;
  }

  function netCompute() {
    const r = call(engine.net, netArgs());
    if (!r.ok) {
      net.res = null;
      showError('net-error', t('parse_error') + ' ' + r.error);
    } else {
      net.res = r;
      showError('net-error', '');
    }
    return r;
  }

  /* A hand edit starts a new descent: the E plot restarts from here. */
  function netStartOver() {
    net.steps = 0;
    const r = netCompute();
    net.hist = r.ok ? [r.E] : [];
    netRender();
  }

  function netReset() {
    net.x = LECTURE.x.slice(); net.t = LECTURE.t.slice();
    net.W1 = LECTURE.W1.slice(); net.W2 = LECTURE.W2.slice();
    net.sel = 4;
    document.getElementById('lr').value = String(LECTURE.lr);
    netBuild();
    netStartOver();
  }

  function netSelect(s) {
    net.sel = s;
    netCompute();
    netRender();
  }

  function netStep() {
    if (!net.res) return;
    net.W1 = net.res.W1_new.slice();
    net.W2 = net.res.W2_new.slice();
    for (let s = 0; s < 8; s++) netEls.inputs['w' + s].value = fmtW(wValue(s));
    net.steps++;
    const r = netCompute();
    if (r.ok) net.hist.push(r.E);
    netRender();
  }

  function netRender() {
    if (!netEls.edges) return;
    const r = net.res;
    document.getElementById('net-steps').textContent = String(net.steps);
    document.querySelectorAll('#net-svg [data-i18n-svg]').forEach((e) => { e.textContent = t(e.dataset.i18nSvg); });
    for (let s = 0; s < 8; s++) {
      netEls.edges[s].classList.toggle('sel', s === net.sel);
      netEls.inputs['w' + s].classList.toggle('sel', s === net.sel);
      const g = r ? (s < 4 ? r.dW1[s] : r.dW2[s - 4]) : null;
      netEls.gtext[s].textContent = r ? '∂E/∂w = ' + fmt(g) : '';
      const ww = Math.min(6, 1 + 4 * Math.abs(wValue(s) || 0));
      netEls.edges[s].style.strokeWidth = (s === net.sel ? ww + 2 : ww).toFixed(1);
    }
    for (let i = 0; i < 2; i++) {
      for (const L of [1, 2]) {
        const n = netEls.neuron['a' + L + i];
        n.z.textContent = r ? 'z = ' + fmt(r['z' + L][i], 3) : '';
        n.a.textContent = r ? 'a = ' + fmt(r['a' + L][i], 3) : '';
      }
    }
    netEls.Ev.textContent = r ? fmt(r.E) : '';
    document.getElementById('E-val').textContent = r ? fmt(r.E) : '–';
    plotLine(document.getElementById('E-plot'), net.hist, t('steps'));
    netRenderTable();
    netRenderExplain();
  }

  function netRenderTable() {
    const tb = document.querySelector('#w-table tbody');
    tb.replaceChildren();
    const r = net.res;
    for (let s = 0; s < 8; s++) {
      const w = wName(s);
      const tr = el('tr', { class: s === net.sel ? 'sel' : '' });
      tr.append(el('td', { html: w.html + ' <span class="muted">(' + subName(w.from) + ' → ' + subName(w.to) + ')</span>' }));
      tr.append(el('td', { text: fmtW(wValue(s)), 'data-testid': 'tw-' + w.id, title: String(wValue(s)) }));
      const g = r ? (s < 4 ? r.dW1[s] : r.dW2[s - 4]) : null;
      const nw = r ? (s < 4 ? r.W1_new[s] : r.W2_new[s - 4]) : null;
      tr.append(el('td', { text: r ? fmt(g) : '–', 'data-testid': 'grad-' + w.id, title: r ? String(g) : '' }));
      tr.append(el('td', { text: r ? fmt(nw) : '–', 'data-testid': 'new-' + w.id, title: r ? String(nw) : '' }));
      tr.addEventListener('click', () => netSelect(s));
      tb.append(tr);
    }
  }

  /* "a2[0,1]" -> a₂₁ in the lecture's notation; the weight itself is w. */
  function lectureName(n, isWeight) {
    if (isWeight) return 'w';
    const m = /^([A-Za-z]+)(\d*)\[(\d+),(\d+)\]$/.exec(n);
    if (m) return m[1] + '<sub>' + m[2] + m[4] + '</sub>';
    return n;
  }
  /* What a local derivative is, by the lecture's formulas: names[k] over
   * names[k+1] for the network's tensors; null for anything else. */
  function factorMeaning(num, den) {
    const sub = (v, s) => v + '<sub>' + s + '</sub>';
    let m, d;
    if (num === 'E' && (m = /^a2\[0,(\d)\]$/.exec(den))) return '(' + sub('a', '2' + m[1]) + ' − ' + sub('t', String(Number(m[1]) + 1)) + ')';
    if ((m = /^a(\d)\[0,(\d)\]$/.exec(num)) && /^z/.test(den)) { const a = sub('a', m[1] + m[2]); return a + '(1 − ' + a + ')'; }
    if ((m = /^z2\[0,(\d)\]$/.exec(num)) && (d = /^a1\[0,(\d)\]$/.exec(den))) return sub('W', '2') + '[' + d[1] + '][' + m[1] + ']';
    if (/^z\d\[0,\d\]$/.test(num) && (d = /^W(\d)\[(\d),\d\]$/.exec(den))) return d[1] === '1' ? sub('x', d[2]) : sub('a', '1' + d[2]);
    return null;
  }
  function partial(num, den) {
    return '<span class="frac">∂' + num + '/∂' + den + '</span>';
  }

  function netRenderExplain() {
    const box = document.getElementById('explain');
    box.replaceChildren();
    const r = net.res;
    if (!r || !r.explain) return;
    const w = wName(net.sel), ex = r.explain;
    box.append(el('h3', { 'data-testid': 'explain-title', html: t('sel_weight', w.html, subName(w.from), subName(w.to), fmtW(wValue(net.sel))) }));
    box.append(el('p', { text: ex.paths.length === 1 ? t('one_path') : t('two_paths') }));
    ex.paths.forEach((p, pi) => {
      const names = p.names.map((n, k) => lectureName(n, k === p.names.length - 1));
      const sym = [];
      for (let k = 0; k + 1 < names.length; k++) sym.push(partial(names[k], names[k + 1]));
      const nums = p.factors.map((f) => '<span class="factor" title="' + fmt(f, 6) + '">' + fmtFactor(f) + '</span>');
      const row = el('div', { class: 'chain', 'data-testid': 'explain-path-' + pi });
      if (ex.paths.length > 1) {
        const out = names.length > 1 ? names[1] : '';
        row.append(el('div', { class: 'via', html: t('via', out) }));
      }
      row.append(el('div', { class: 'eq', html: '∂E/∂w = ' + sym.join(' · ') }));
      const meaning = [];
      for (let k = 0; k + 1 < p.names.length; k++) meaning.push(factorMeaning(p.names[k], p.names[k + 1]));
      if (meaning.every((x) => x !== null)) row.append(el('div', { class: 'eq nums sym', html: '= ' + meaning.join(' · ') }));
      row.append(el('div', { class: 'eq nums', 'data-testid': 'explain-numbers-' + pi,
        html: '= ' + nums.join(' × ') + ' = <b class="factor" title="' + fmt(p.product, 6) + '">' + fmtProduct(p.product) + '</b>' }));
      box.append(row);
    });
    if (ex.paths.length > 1) {
      const terms = ex.paths.map((p, k) => '<span class="factor" title="' + fmt(p.product, 6) + '">' + (k ? paren(fmtProduct(p.product)) : fmtProduct(p.product)) + '</span>');
      box.append(el('div', { class: 'chain', 'data-testid': 'explain-sum',
        html: '<div class="via">' + t('sum_paths') + '</div><div class="eq nums">∂E/∂w = ' + terms.join(' + ') + ' = <b class="factor" title="' + fmt(ex.total, 6) + '">' + fmtProduct(ex.total) + '</b></div>' }));
    }
    box.append(el('p', { class: 'muted small', text: t('rounding_note') }));
    const g = net.sel < 4 ? r.dW1[net.sel] : r.dW2[net.sel - 4];
    const nw = net.sel < 4 ? r.W1_new[net.sel] : r.W2_new[net.sel - 4];
    box.append(el('p', { 'data-testid': 'explain-total', text: t('engine_total', fmt(g)) }));
    const lr = document.getElementById('lr').value;
    box.append(el('p', { 'data-testid': 'explain-update',
      html: t('update_line', lr) + ' <span class="eq">w − lr·∂E/∂w = ' + fmtW(wValue(net.sel)) + ' − ' + lr + ' × ' + paren(fmt(g)) + ' = <b>' + fmt(nw) + '</b></span>' }));
  }

  /* =========================================== panel 2: logistic regression */

  const LR_BOX = 3; // the canvas shows [-3, 3] × [-3, 3]
  const lrs = { pts: [], w: [0, 0], b: 0, hist: [], done: 0, cls: 0, busy: false, res: null };
  const SEED_POINTS = [
    [-1.6, -0.8, 0], [-1.1, -1.7, 0], [-0.4, -1.2, 0], [-2.0, 0.3, 0], [-0.9, 0.2, 0], [0.3, -2.1, 0],
    [1.4, 0.9, 1], [0.6, 1.6, 1], [1.9, -0.2, 1], [0.2, 0.5, 1], [1.1, 2.2, 1], [-0.3, 1.8, 1],
    // one of each class on the other's side: the classes overlap, so the
    // likelihood has a finite maximum and training settles
    [0.9, 0.4, 0], [-1.0, -0.6, 1],
  ];

  function lrArgs(steps) {
    const eta = document.getElementById('lr-eta').value.trim() || 'nan';
    const parts = [steps, eta, lrs.w[0], lrs.w[1], lrs.b, lrs.pts.length];
    lrs.pts.forEach((p) => parts.push(p.x, p.y, p.c));
    return parts.map(String).join(' ');
  }

  /* NLL and accuracy at the current w, b, without training. */
  function lrEvaluate() {
    if (!lrs.pts.length) { lrs.res = null; return; }
    const r = call(engine.logreg, lrArgs(0));
    if (r.ok) { lrs.res = r; showError('lr-error', ''); } else showError('lr-error', t('parse_error') + ' ' + r.error);
  }

  function lrTrain() {
    if (lrs.busy) return;
    if (!lrs.pts.length) { showError('lr-error', t('need_points')); return; }
    let left = Math.max(1, Math.min(100000, Math.floor(Number(document.getElementById('lr-steps').value) || 0)));
    const CHUNK = 20;
    lrs.busy = true;
    lrSetBusy(true);
    const frame = () => {
      const k = Math.min(CHUNK, left);
      const r = call(engine.logreg, lrArgs(k));
      if (!r.ok) {
        showError('lr-error', t('parse_error') + ' ' + r.error);
        lrs.busy = false; lrSetBusy(false);
        return;
      }
      showError('lr-error', '');
      if (!lrs.hist.length) lrs.hist.push(r.nll[0]);
      lrs.hist.push(...r.nll.slice(1));
      lrs.w = r.w.slice(); lrs.b = r.b; lrs.done += k; left -= k;
      lrs.res = r;
      lrRender();
      if (left > 0) requestAnimationFrame(frame);
      else { lrs.busy = false; lrSetBusy(false); }
    };
    requestAnimationFrame(frame);
  }

  function lrSetBusy(b) {
    const btn = document.getElementById('lr-train');
    btn.disabled = b;
    btn.textContent = t(b ? 'training' : 'train');
    btn.dataset.i18n = b ? 'training' : 'train';
    document.getElementById('panel-logreg').dataset.state = b ? 'training' : 'idle';
  }

  function lrToCanvas(c, x, y) {
    return [(x + LR_BOX) / (2 * LR_BOX) * c.width, (LR_BOX - y) / (2 * LR_BOX) * c.height];
  }

  function lrRender() {
    const c = document.getElementById('lr-canvas');
    const ctx = c.getContext('2d');
    const Wd = c.width, Ht = c.height;
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, Wd, Ht);
    const trained = lrs.w[0] !== 0 || lrs.w[1] !== 0 || lrs.b !== 0;
    // σ(w·x + b) as shading: blue (class 0) to orange (class 1)
    if (trained) {
      const cell = 5;
      for (let py = 0; py < Ht; py += cell) {
        for (let px = 0; px < Wd; px += cell) {
          const x = -LR_BOX + 2 * LR_BOX * (px + cell / 2) / Wd, y = LR_BOX - 2 * LR_BOX * (py + cell / 2) / Ht;
          const p = 1 / (1 + Math.exp(-(lrs.w[0] * x + lrs.w[1] * y + lrs.b)));
          const r = Math.round(66 + (235 - 66) * p), g = Math.round(133 + (140 - 133) * p), b = Math.round(244 + (52 - 244) * p);
          ctx.fillStyle = 'rgba(' + r + ',' + g + ',' + b + ',' + (0.06 + 0.42 * Math.abs(p - 0.5) * 2).toFixed(3) + ')';
          ctx.fillRect(px, py, cell, cell);
        }
      }
    }
    // grid and axes
    ctx.lineWidth = 1;
    for (let v = -LR_BOX; v <= LR_BOX; v++) {
      const [gx, gy] = lrToCanvas(c, v, v);
      ctx.strokeStyle = v === 0 ? '#9aa3ad' : '#e3e7eb';
      ctx.beginPath(); ctx.moveTo(gx + 0.5, 0); ctx.lineTo(gx + 0.5, Ht); ctx.stroke();
      ctx.beginPath(); ctx.moveTo(0, gy + 0.5); ctx.lineTo(Wd, gy + 0.5); ctx.stroke();
    }
    ctx.fillStyle = '#6b7580';
    ctx.font = '11px system-ui, sans-serif';
    for (let v = -LR_BOX + 1; v < LR_BOX; v++) {
      if (v === 0) continue;
      const [gx, gy] = lrToCanvas(c, v, v);
      ctx.fillText(String(v), gx + 3, Ht / 2 + 13);
      ctx.fillText(String(v), Wd / 2 + 4, gy - 3);
    }
    ctx.fillText('x', Wd - 12, Ht / 2 - 6);
    ctx.fillText('y', Wd / 2 + 6, 12);
    // the decision boundary w1 x + w2 y + b = 0, clipped to the box
    if (trained && (lrs.w[0] !== 0 || lrs.w[1] !== 0)) {
      const [w1, w2] = lrs.w, b = lrs.b, B = LR_BOX, hits = [];
      if (w2 !== 0) for (const x of [-B, B]) { const y = -(w1 * x + b) / w2; if (Math.abs(y) <= B) hits.push([x, y]); }
      if (w1 !== 0) for (const y of [-B, B]) { const x = -(w2 * y + b) / w1; if (Math.abs(x) <= B) hits.push([x, y]); }
      if (hits.length >= 2) {
        const [p0, p1] = [hits[0], hits[hits.length - 1]];
        const a = lrToCanvas(c, p0[0], p0[1]), d = lrToCanvas(c, p1[0], p1[1]);
        ctx.strokeStyle = '#1f2933'; ctx.lineWidth = 2.5;
        ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(d[0], d[1]); ctx.stroke();
        // an arrow along w shows the side of class 1
        const mx = (p0[0] + p1[0]) / 2, my = (p0[1] + p1[1]) / 2, nrm = Math.hypot(w1, w2);
        const m0 = lrToCanvas(c, mx, my), m1 = lrToCanvas(c, mx + 0.5 * w1 / nrm, my + 0.5 * w2 / nrm);
        ctx.lineWidth = 1.5;
        ctx.beginPath(); ctx.moveTo(m0[0], m0[1]); ctx.lineTo(m1[0], m1[1]); ctx.stroke();
        ctx.beginPath(); ctx.arc(m1[0], m1[1], 3, 0, 2 * Math.PI); ctx.fillStyle = '#1f2933'; ctx.fill();
      }
    }
    // the points: class 0 blue circles, class 1 orange squares
    for (const p of lrs.pts) {
      const [px, py] = lrToCanvas(c, p.x, p.y);
      ctx.lineWidth = 1.5; ctx.strokeStyle = '#fff';
      ctx.beginPath();
      if (p.c === 1) { ctx.fillStyle = '#e8710a'; ctx.rect(px - 6, py - 6, 12, 12); }
      else { ctx.fillStyle = '#1967d2'; ctx.arc(px, py, 6.5, 0, 2 * Math.PI); }
      ctx.fill(); ctx.stroke();
    }
    c.dataset.points = lrs.pts.map((p) => p.x + ' ' + p.y + ' ' + p.c).join(' ');
    const r = lrs.res;
    document.getElementById('lr-w').textContent = lrs.pts.length || trained ? '(' + fmt(lrs.w[0]) + ', ' + fmt(lrs.w[1]) + ')' : '–';
    document.getElementById('lr-b').textContent = lrs.pts.length || trained ? fmt(lrs.b) : '–';
    document.getElementById('lr-nll').textContent = r ? fmt(r.nll[r.nll.length - 1]) : '–';
    document.getElementById('lr-acc').textContent = r && r.accuracy !== null ? (100 * r.accuracy).toFixed(1) + ' %' : '–';
    document.getElementById('lr-n').textContent = lrs.pts.length + '  (' + lrs.pts.filter((p) => p.c === 0).length + ' / ' + lrs.pts.filter((p) => p.c === 1).length + ')';
    document.getElementById('lr-done').textContent = String(lrs.done);
    plotLine(document.getElementById('nll-plot'), lrs.hist, t('steps'), t('train_hint'));
    document.querySelectorAll('#panel-logreg .cls').forEach((b) => b.classList.toggle('on', Number(b.dataset.class) === lrs.cls));
  }

  function lrClick(ev) {
    if (lrs.busy) return;
    const c = ev.currentTarget, rect = c.getBoundingClientRect();
    const px = (ev.clientX - rect.left) * c.width / rect.width, py = (ev.clientY - rect.top) * c.height / rect.height;
    const round2 = (v) => Math.round(v * 100) / 100;
    const x = round2(-LR_BOX + 2 * LR_BOX * px / c.width), y = round2(LR_BOX - 2 * LR_BOX * py / c.height);
    const cls = ev.shiftKey ? 1 - lrs.cls : lrs.cls;
    lrs.pts.push({ x, y, c: cls });
    lrs.hist = []; // a new data set: the NLL curve starts over from the current w, b
    lrs.done = 0;
    lrEvaluate();
    lrRender();
  }

  function lrClear() {
    if (lrs.busy) return;
    lrs.pts = []; lrs.w = [0, 0]; lrs.b = 0; lrs.hist = []; lrs.done = 0; lrs.res = null;
    showError('lr-error', '');
    lrRender();
  }

  function lrSeed() {
    if (lrs.busy) return;
    lrClear();
    lrs.pts = SEED_POINTS.map(([x, y, c]) => ({ x, y, c }));
    lrEvaluate();
    lrRender();
  }

  /* ============================== panel 3: gradient check and the sweep */

  const gcs = { res: null, pos: 0, error: '' };

  function gcRun() {
    const expr = document.getElementById('gc-expr').value;
    const vars = document.getElementById('gc-vars').value;
    const r = call(engine.expr, expr, vars);
    gcs.error = r.ok ? '' : r.error;
    if (r.ok) { gcs.res = r; gcs.pos = 0; } else gcs.res = null;
    gcRender();
  }

  function gcRender() {
    const r = gcs.res;
    const eb = document.getElementById('gc-error');
    eb.hidden = !gcs.error;
    eb.replaceChildren();
    if (gcs.error) eb.append(el('span', { text: t('parse_error') + ' ' }), el('span', { 'data-testid': 'gc-error-msg', text: gcs.error }));
    document.getElementById('gc-result').hidden = !r;
    if (!r) return;
    document.getElementById('gc-value').textContent = fmt(r.value, 6);
    const v = document.getElementById('gc-verdict');
    v.textContent = t(r.pass ? 'pass' : 'fail');
    v.className = 'badge ' + (r.pass ? 'ok' : 'bad');
    const tb = document.querySelector('#gc-table tbody');
    tb.replaceChildren();
    r.grads.forEach((g) => {
      const tr = el('tr', { 'data-testid': 'gc-row-' + g.name });
      tr.append(el('td', { text: g.name, class: 'mono' }));
      tr.append(el('td', { text: fmtC(g.value, 6) }));
      tr.append(el('td', { text: fmt(g.grad, 8), 'data-testid': 'gc-grad-' + g.name, title: String(g.grad) }));
      tr.append(el('td', { text: fmt(g.numeric, 8), 'data-testid': 'gc-num-' + g.name, title: String(g.numeric) }));
      tr.append(el('td', { text: g.abs_err === null ? 'NaN' : Number(g.abs_err).toExponential(1), 'data-testid': 'gc-err-' + g.name }));
      // the glue's per-variable verdict when it gives one, else ag_gradcheck's
      // default tolerance |grad - numeric| <= 1e-7 + 1e-6 |numeric|
      const ok = typeof g.pass === 'boolean' ? g.pass
        : g.abs_err !== null && g.numeric !== null && g.abs_err <= 1e-7 + 1e-6 * Math.abs(g.numeric);
      tr.append(el('td', {}, el('span', { class: 'badge ' + (ok ? 'ok' : 'bad'), 'data-testid': 'gc-pass-' + g.name, text: ok ? '✓' : '✗' })));
      tb.append(tr);
    });
    gcRenderSweep();
  }

  /* The gradient each node holds after sweep steps 0..pos-1 have run
   * (the output's seed 1 is there from the start). */
  function gcAccumulated(pos) {
    const r = gcs.res, acc = {};
    if (r.sweep.length) acc[r.sweep[0].node] = r.sweep[0].grad_out;
    for (let k = 0; k < pos && k < r.sweep.length; k++) {
      for (const gi of r.sweep[k].grad_in) {
        if (gi.grad === null) continue;
        acc[gi.input] = (acc[gi.input] || 0) + gi.grad;
      }
    }
    return acc;
  }

  function gcRenderSweep() {
    const r = gcs.res, n = r.sweep.length;
    const pos = gcs.pos; // 0..n-1: step pos is shown; n: finished
    const cur = pos < n ? r.sweep[pos] : null;
    document.getElementById('sw-prev').disabled = pos === 0;
    document.getElementById('sw-first').disabled = pos === 0;
    document.getElementById('sw-next').disabled = pos >= n;
    document.getElementById('sw-pos').textContent = cur ? t('sweep_pos', pos + 1, n) : t('sweep_done', n);
    const acc = gcAccumulated(cur ? pos + 1 : n);
    const receiving = new Set(cur ? cur.grad_in.filter((g) => g.grad !== null).map((g) => g.input) : []);

    // the graph: leaves on the left, the output on the right
    const byId = {};
    r.nodes.forEach((nd) => { byId[nd.id] = nd; });
    const depth = {};
    r.nodes.forEach((nd) => { depth[nd.id] = nd.inputs.length ? 1 + Math.max(...nd.inputs.map((i) => depth[i] || 0)) : 0; });
    const cols = [];
    r.nodes.forEach((nd) => { (cols[depth[nd.id]] = cols[depth[nd.id]] || []).push(nd); });
    const BH = 58, GAPY = 14, GAPX = 46, CH = 8.1;
    const boxW = (nd) => Math.max(132, Math.min(280, nd.text.length * CH + 18));
    const colW = cols.map((c) => Math.max(...c.map(boxW)));
    const pos2 = {};
    let x = 10, maxH = 0;
    cols.forEach((c, ci) => {
      c.forEach((nd, k) => { pos2[nd.id] = { x, y: 10 + k * (BH + GAPY), w: boxW(nd) }; });
      maxH = Math.max(maxH, c.length * (BH + GAPY));
      x += colW[ci] + GAPX;
    });
    const svg = document.getElementById('gc-graph');
    svg.replaceChildren();
    const W = x - GAPX + 10, H = maxH + 10;
    svg.setAttribute('width', W); svg.setAttribute('height', H);
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    const defs = sv('defs');
    const mk = sv('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' });
    mk.append(sv('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrowhead' }));
    defs.append(mk);
    svg.append(defs);
    r.nodes.forEach((nd) => {
      const p = pos2[nd.id];
      nd.inputs.forEach((i) => {
        const q = pos2[i];
        const hot = cur && cur.node === nd.id && receiving.has(i);
        svg.append(sv('line', { x1: q.x + q.w, y1: q.y + BH / 2, x2: p.x, y2: p.y + BH / 2,
          class: 'gedge' + (hot ? ' hot' : ''), 'marker-end': 'url(#arrow)' }));
      });
    });
    r.nodes.forEach((nd) => {
      const p = pos2[nd.id];
      let cls = 'gnode ' + nd.op;
      if (cur && cur.node === nd.id) cls += ' current';
      else if (receiving.has(nd.id)) cls += ' receiving';
      const g = sv('g', { class: cls, 'data-testid': 'gc-node-' + nd.id });
      g.append(sv('rect', { x: p.x, y: p.y, width: p.w, height: BH, rx: 6 }));
      g.append(sv('text', { x: p.x + 8, y: p.y + 17, class: 'mono gtitle', text: nd.text.length > 32 ? nd.text.slice(0, 31) + '…' : nd.text }));
      g.append(sv('text', { x: p.x + 8, y: p.y + 33, class: 'gsmall', text: opName(nd.op) + '   v = ' + fmtC(nd.value, 4) }));
      const gval = acc[nd.id];
      g.append(sv('text', { x: p.x + 8, y: p.y + 49, class: 'gsmall ggrad', 'data-testid': 'gc-node-grad-' + nd.id,
        text: t('grad_so_far') + ' = ' + (gval === undefined ? '·' : fmt(gval)) }));
      const title = sv('title', { text: nd.text + '\nvalue = ' + nd.value + '\ngrad = ' + nd.grad });
      g.append(title);
      svg.append(g);
    });

    // the words beside it
    const d = document.getElementById('sw-detail');
    d.replaceChildren();
    if (cur) {
      const nd = byId[cur.node];
      d.append(el('div', { class: 'sw-node mono', text: t('sw_node', cur.node, cur.text) }));
      d.append(el('div', { text: t('sw_op', opName(cur.op)) }));
      if (pos === 0) d.append(el('div', { class: 'muted', text: t('sw_seed') }));
      d.append(el('div', { 'data-testid': 'sweep-upstream', html: t('sw_upstream', '<span class="mono">' + escapeHtml(cur.text) + '</span>', '<b>' + fmt(cur.grad_out, 6) + '</b>') }));
      d.append(el('div', { text: t('sw_sends') }));
      const ul = el('ul', { 'data-testid': 'sweep-sends' });
      cur.grad_in.forEach((gi) => {
        const tgt = byId[gi.input];
        ul.append(el('li', { html: '→ <span class="mono">' + escapeHtml(tgt ? tgt.text : '#' + gi.input) + '</span>: ' +
          (gi.grad === null ? '<span class="muted">' + t('sw_none') + '</span>' : '<b title="' + gi.grad + '">' + fmt(gi.grad, 6) + '</b>') }));
      });
      d.append(ul);
      void nd;
    } else {
      d.append(el('div', { class: 'sw-node', 'data-testid': 'sweep-finished', text: t('sw_finished') }));
      const ul = el('ul');
      r.grads.forEach((g) => ul.append(el('li', { html: '∂f/∂<span class="mono">' + escapeHtml(g.name) + '</span> = <b>' + fmt(g.grad, 6) + '</b>' })));
      d.append(ul);
    }
  }

  function opName(op) { return op === 'leaf' || op === 'const' ? t('op_' + op) : op; }
  /* A value without trailing zeros (2 rather than 2.00000). */
  function fmtC(v, p) {
    if (v === null || !isFinite(v)) return 'NaN';
    return String(Number(Number(v).toPrecision(p)));
  }

  function escapeHtml(s) {
    return String(s).replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[ch]));
  }

  function gcMove(d) {
    if (!gcs.res) return;
    const n = gcs.res.sweep.length;
    gcs.pos = d === 'first' ? 0 : Math.max(0, Math.min(n, gcs.pos + d));
    gcRenderSweep();
  }

  /* ---------------------------------------------------------------- tabs */

  function showTab(name) {
    document.querySelectorAll('.tabs button').forEach((b) => {
      const on = b.dataset.tab === name;
      b.classList.toggle('on', on);
      b.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    document.querySelectorAll('.panel').forEach((p) => { p.hidden = p.id !== 'panel-' + name; });
  }

  /* ---------------------------------------------------------------- init */

  async function init() {
    document.querySelectorAll('.lang button').forEach((b) => b.addEventListener('click', () => setLang(b.dataset.lang)));
    document.querySelectorAll('.tabs button').forEach((b) => b.addEventListener('click', () => showTab(b.dataset.tab)));
    const banner = document.getElementById('engine-error');
    if (typeof createAutograd !== 'function') {
      banner.textContent = t('no_engine');
      banner.hidden = false;
      return;
    }
    const M = await createAutograd();
    const wrap = (name, n) => M.cwrap(name, 'string', new Array(n).fill('string'));
    engine = { net: wrap('pg_net', 1), logreg: wrap('pg_logreg', 1), expr: wrap('pg_expr', 2), version: wrap('pg_version', 0) };
    const ver = call(engine.version);
    document.getElementById('version').textContent = ver.ok ? 'autograd ' + ver.version : '';

    document.getElementById('lr').addEventListener('input', () => { netCompute(); netRender(); });
    document.getElementById('step').addEventListener('click', netStep);
    document.getElementById('net-reset').addEventListener('click', netReset);
    netReset();

    const c = document.getElementById('lr-canvas');
    c.addEventListener('click', lrClick);
    document.querySelectorAll('#panel-logreg .cls').forEach((b) => b.addEventListener('click', () => { lrs.cls = Number(b.dataset.class); lrRender(); }));
    document.getElementById('lr-train').addEventListener('click', lrTrain);
    document.getElementById('lr-clear').addEventListener('click', lrClear);
    document.getElementById('lr-seed').addEventListener('click', lrSeed);
    document.getElementById('lr-eta').addEventListener('input', () => { lrEvaluate(); lrRender(); });
    lrSetBusy(false);
    lrSeed();

    document.getElementById('gc-form').addEventListener('submit', (ev) => { ev.preventDefault(); gcRun(); });
    document.getElementById('sw-first').addEventListener('click', () => gcMove('first'));
    document.getElementById('sw-prev').addEventListener('click', () => gcMove(-1));
    document.getElementById('sw-next').addEventListener('click', () => gcMove(1));
    gcRun();

    setLang(lang);
    document.body.dataset.ready = 'true';
  }

  init().catch((e) => {
    const banner = document.getElementById('engine-error');
    banner.textContent = String(e && e.message ? e.message : e);
    banner.hidden = false;
  });
})();
