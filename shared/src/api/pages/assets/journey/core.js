// The hosted journey: a few screens over the journey API (/j/<secret>/...). No framework, no
// build step; every string comes from the boot data's `strings` (one file per locale).
// assets.rs joins core.js, start.js, capture.js, details.js and finish.js, in that order,
// inside one strict-mode function; this first part holds the boot data, DOM and API helpers
// and the router (`next`).

  const boot = JSON.parse(document.getElementById('boot').textContent);
  applyBrand(boot.brand);
  if (boot.page !== 'app') return;

  const S = boot.strings;
  const main = document.getElementById('main');
  const live = document.getElementById('live');
  const POLL_MS = 800;
  const CAPTURE_WAIT_MS = 30000;
  const MAX_SIDE = 2400;
  let view = boot.view;
  const state = { docType: null, stream: null, thumbs: {}, timers: [] };

  function applyBrand(brand) {
    if (!brand) return;
    const root = document.documentElement.style;
    if (brand.colour) root.setProperty('--brand', brand.colour);
    if (brand.text) root.setProperty('--brand-text', brand.text);
    if (brand.accent) root.setProperty('--accent', brand.accent);
  }

  function t(key, vars) {
    const text = Object.prototype.hasOwnProperty.call(S, key) ? S[key] : key;
    return text.replace(/\{(\w+)\}/g, (_, k) => (vars && k in vars ? String(vars[k]) : k === 'name' ? boot.brand.name : ''));
  }

  // A DOM element: h('p', {class: 'muted'}, 'text', child...). `on*` attributes are listeners.
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c);
    return el;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  let ids = 0;
  const uid = (p) => `${p}-${++ids}`;

  function announce(text) {
    live.textContent = '';
    setTimeout(() => { live.textContent = text; }, 50);
  }

  // Replaces the screen; focus moves to its heading so screen readers hear the change.
  function screen(title, ...content) {
    stopCamera();
    const heading = h('h1', { tabindex: '-1', text: title });
    const stage = stageLabel();
    main.replaceChildren(h('div', { class: 'card' }, stage, heading, ...content));
    document.title = `${title} – ${boot.brand.name}`;
    heading.focus();
    return heading;
  }

  function stageLabel() {
    const stages = plannedStages();
    const i = stages.indexOf(state.stage);
    return i < 0 ? null : h('p', { class: 'progress-label', text: t('step_of', { n: i + 1, total: stages.length }) });
  }

  function plannedStages() {
    const s = ['welcome'];
    if (wants('document')) s.push('document');
    if (wants('liveness')) s.push('liveness');
    if (wants('dvs') || wants('bank')) s.push('details');
    s.push('review');
    return s;
  }

  function alertBox(kind, text) {
    return h('div', { class: `alert ${kind}`, role: kind === 'bad' ? 'alert' : 'status', text });
  }

  async function api(method, path, body) {
    const init = { method, cache: 'no-store', credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(boot.base + path, init);
    let json = null;
    try { json = await res.json(); } catch (_) { json = null; }
    if (!res.ok) {
      const err = new Error((json && json.error && json.error.message) || res.statusText);
      Object.assign(err, { status: res.status, code: json && json.error && json.error.code, field: json && json.error && json.error.field });
      throw err;
    }
    return json;
  }

  async function refresh() {
    view = await api('GET', '/session');
    return view;
  }

  const wants = (name) => view.steps.some((s) => s.name === name);
  const captureOf = (artifact) => view.captures.find((c) => c.artifact === artifact);
  const accepted = (artifact) => (captureOf(artifact) || {}).status === 'accepted';
  const livenessArtifacts = () => ['selfie', ...view.challenge.map((_, i) => `challenge-${i + 1}`)];
  const isOpen = () => view.status === 'created' || view.status === 'in_progress';
  const detailsNeeded = () => Object.values(view.details_provided || {}).some((v) => !v);
  const isDesktop = () => boot.role !== 'phone' && !matchMedia('(pointer: coarse)').matches && innerWidth >= 720;

  // Where the user is, from the session itself: reloads and a second device resume here.
  function next() {
    state.timers.forEach(clearTimeout);
    if (view.status === 'finished') return finished();
    if (view.status === 'processing') return processing();
    if (!isOpen()) return location.reload();
    if (view.handoff && view.handoff.opened && boot.role === 'any' && isDesktop()) return followPhone(null);
    if (!view.consented) return welcome();
    if (wants('document') && !accepted('document-front')) return documentStep();
    if (wants('liveness') && !livenessArtifacts().every(accepted)) return selfieStep();
    if (detailsNeeded()) return detailsStep();
    return review();
  }

  function fail(err) {
    if (err && err.status === 409 && err.code === 'session_closed') return location.reload();
    const retry = h('button', { type: 'button', onclick: () => refresh().then(next, fail), text: t('retry') });
    screen(t('error_title'), alertBox('bad', t('error_generic')), retry);
  }
