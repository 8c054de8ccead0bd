// The hosted journey: a few screens over the journey API (/j/<secret>/...). No framework, no
// build step; every string comes from the boot data's `strings` (one file per locale).
(() => {
  'use strict';
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

  // 1. Welcome and consent.
  function welcome() {
    state.stage = 'welcome';
    const needs = ['document', 'liveness', 'dvs', 'bank', 'peps'].filter(wants).map((s) => h('li', { text: t(`need_${s}`) }));
    const box = h('input', { type: 'checkbox', id: uid('consent'), 'aria-describedby': 'consent-error' });
    const error = h('p', { class: 'field-error', id: 'consent-error', hidden: true });
    const start = h('button', { type: 'submit', text: t('start') });
    const form = h('form', { novalidate: true },
      h('label', { class: 'check', for: box.id }, box, h('span', { text: t('consent_label') })),
      error, h('div', { class: 'actions' }, start));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!box.checked) {
        error.textContent = t('consent_required');
        error.hidden = false;
        box.setAttribute('aria-invalid', 'true');
        box.focus();
        return;
      }
      start.disabled = true;
      try { view = await api('POST', '/consent'); next(); } catch (err) { start.disabled = false; fail(err); }
    });
    const parts = [h('p', { text: t('welcome_intro') }), h('p', { text: t('welcome_needs') }), h('ul', { class: 'needs' }, needs)];
    if (isDesktop()) {
      parts.push(h('div', { class: 'alert info' },
        h('h2', { text: t('desktop_title') }), h('p', { text: t('desktop_intro') }),
        h('button', { type: 'button', class: 'secondary', onclick: () => handoff(), text: t('use_phone') })));
    }
    screen(t('welcome_title'), ...parts, form);
  }

  // Desktop: a QR code with a single-use link; this page follows the phone's progress.
  async function handoff() {
    state.stage = null;
    let link;
    try { link = await api('POST', '/handoff'); } catch (err) { return fail(err); }
    const qr = h('div', { class: 'qr', role: 'img', 'aria-label': t('handoff_qr_alt') });
    const svg = new DOMParser().parseFromString(link.qr_svg, 'image/svg+xml').documentElement;
    svg.setAttribute('aria-hidden', 'true');
    qr.append(document.importNode(svg, true));
    const time = new Date(link.expires_at * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    screen(t('handoff_title'), h('div', { 'data-qr': true },
      h('p', { text: t('handoff_intro', { time }) }), qr,
      h('p', { class: 'muted', text: t('handoff_link_label') }),
      h('p', { class: 'handoff-link', 'data-testid': 'handoff-link', text: link.url })));
    followPhone(link.expires_at);
  }

  function followPhone(expiresAt) {
    state.stage = null;
    if (!expiresAt) screen(t('handoff_following_title'));
    const status = h('div', {});
    main.querySelector('.card').append(status);
    const here = h('button', { type: 'button', class: 'link', onclick: () => { boot.role = 'here'; stopFollowing(); next(); }, text: t('handoff_here_instead') });
    let stopped = false;
    const stopFollowing = () => { stopped = true; };
    const render = (...nodes) => status.replaceChildren(...nodes, h('div', { class: 'actions' }, here));
    render(h('div', { class: 'spinner', 'aria-hidden': 'true' }), alertBox('info', t('handoff_waiting')));
    const tick = async () => {
      if (stopped) return;
      try { await refresh(); } catch (_) { state.timers.push(setTimeout(tick, POLL_MS * 2)); return; }
      if (view.status === 'finished') return goFinish();
      if (!isOpen() && view.status !== 'processing') return location.reload();
      const opened = view.handoff && view.handoff.opened;
      if (view.status === 'processing') {
        render(h('div', { class: 'spinner', 'aria-hidden': 'true' }), alertBox('info', t('handoff_processing')));
      } else if (opened) {
        // The code is used up: only the phone's progress remains to show.
        const code = main.querySelector('[data-qr]');
        if (code) {
          code.remove();
          main.querySelector('h1').textContent = t('handoff_following_title');
        }
        const required = view.captures.filter((c) => c.required);
        const done = required.filter((c) => c.status === 'accepted').length;
        // A lost phone can be replaced: a new code supersedes the used one.
        const fresh = h('button', { type: 'button', class: 'secondary', onclick: () => { stopped = true; handoff(); }, text: t('handoff_new') });
        render(alertBox('ok', t('handoff_opened')), h('p', { role: 'status', text: t('handoff_progress', { done, total: required.length }) }), fresh);
      } else if (expiresAt && Date.now() / 1000 >= expiresAt) {
        stopped = true;
        return render(alertBox('bad', t('handoff_expired')), h('button', { type: 'button', onclick: () => handoff(), text: t('handoff_new') }));
      }
      state.timers.push(setTimeout(tick, POLL_MS));
    };
    state.timers.push(setTimeout(tick, POLL_MS));
  }

  function goFinish() {
    screen(t('finished_title'), h('p', { role: 'status', text: t('finished_redirecting') }), h('div', { class: 'spinner', 'aria-hidden': 'true' }));
    location.assign(boot.base + '/finish');
  }

  // 2. The document: its type, then front and (for cards) back.
  async function documentStep() {
    state.stage = 'document';
    const type = await chooseDocument();
    state.docType = type;
    const doc = t(`doc_${type}`).toLowerCase();
    const frontTitle = type === 'passport' ? t('doc_passport_front_title') : t('doc_front_title', { doc });
    await captureLoop({ artifact: 'document-front', title: frontTitle, facing: 'environment', guide: 'guide', hint: t('doc_frame_hint') });
    if (type !== 'passport') {
      await captureLoop({ artifact: 'document-back', title: t('doc_back_title', { doc }), facing: 'environment', guide: 'guide', hint: t('doc_frame_hint') });
    }
    next();
  }

  function chooseDocument() {
    return new Promise((resolve) => {
      const name = uid('doctype');
      const options = ['passport', 'driverslicence', 'immicard'].map((type, i) => {
        const id = `${name}-${type}`;
        return h('label', { class: 'choice', for: id },
          h('input', { type: 'radio', name, id, value: type, checked: (state.docType || 'passport') === type || (i === 0 && !state.docType) }),
          h('span', { text: t(`doc_${type}`) }));
      });
      const form = h('form', {},
        h('fieldset', {}, h('legend', { text: t('doc_choose') }), h('div', { class: 'choices' }, options)),
        h('div', { class: 'actions' }, h('button', { type: 'submit', text: t('continue') })));
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        resolve(new FormData(form).get(name) || 'passport');
      });
      screen(t('doc_title'), form);
    });
  }

  // Capture → preview → upload → quality gate, until the capture is accepted.
  async function captureLoop(spec) {
    let problem = null;
    for (;;) {
      const blob = await takePhoto(spec, problem);
      const result = await sendCapture(spec, blob);
      if (result.status === 'accepted') {
        announce(t('photo_ok'));
        return;
      }
      problem = result.message;
    }
  }

  // One photo: the live camera with a framing guide, or the native camera input as a fallback.
  function takePhoto(spec, problem) {
    return new Promise((resolve) => {
      const video = h('video', { autoplay: true, muted: true, playsinline: true, 'aria-hidden': 'true' });
      const frame = h('div', { class: `camera${spec.facing === 'user' ? ' selfie' : ''}` }, video, h('div', { class: spec.guide === 'face' ? 'guide face' : 'guide' }));
      const take = h('button', { type: 'button', disabled: true, text: t('camera_take') });
      const note = h('p', { class: 'muted', role: 'status', text: t('camera_starting') });
      const file = fileInput(spec.facing, t('camera_file_label'), async (f) => resolve(await preview(spec, await fromFile(f), problem)));
      screen(spec.title, problem ? alertBox('bad', problem) : null, h('p', { text: spec.hint || '' }), frame, note,
        h('div', { class: 'actions' }, take), file);
      take.addEventListener('click', async () => {
        take.disabled = true;
        const blob = await grab(video);
        resolve(await preview(spec, blob, problem));
      });
      startCamera(video, spec.facing).then(() => {
        note.textContent = '';
        take.disabled = false;
      }, () => {
        frame.hidden = true;
        take.hidden = true;
        note.textContent = t('camera_unavailable');
      });
    });
  }

  function fileInput(facing, label, onFile) {
    const input = h('input', { type: 'file', accept: 'image/*', capture: facing, id: uid('file'), class: 'visually-hidden' });
    input.addEventListener('change', () => { if (input.files && input.files[0]) onFile(input.files[0]); });
    return h('div', { class: 'actions' }, h('label', { for: input.id, class: 'button secondary', text: label }), input);
  }

  function preview(spec, blob, problem) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(blob);
      const use = h('button', { type: 'button', text: t('preview_use') });
      const again = h('button', { type: 'button', class: 'secondary', text: t('preview_retake') });
      screen(spec.title, h('img', { class: 'preview', src: url, alt: t('preview_alt') }), h('div', { class: 'actions' }, use, again));
      use.addEventListener('click', () => { state.thumbs[spec.artifact] = url; resolve(blob); });
      again.addEventListener('click', () => { URL.revokeObjectURL(url); resolve(takePhoto(spec, problem)); });
    });
  }

  // Uploads one capture with visible progress and waits for the quality gate's verdict.
  async function sendCapture(spec, blob) {
    const bar = h('progress', { max: '100', value: '0', id: uid('up') });
    const label = h('label', { for: bar.id, text: t('uploading', { pct: 0 }) });
    screen(spec.title, label, bar);
    const before = (captureOf(spec.artifact) || {}).at;
    try {
      const slot = await api('POST', '/uploads', { artifact: spec.artifact, content_type: blob.type || 'image/jpeg' });
      await upload(slot, blob, (pct) => { bar.value = pct; label.textContent = t('uploading', { pct }); });
    } catch (err) {
      if (err && err.code === 'session_closed') location.reload();
      return { status: 'rejected', message: t('upload_failed') };
    }
    label.textContent = t('checking_photo');
    bar.removeAttribute('value');
    announce(t('checking_photo'));
    const deadline = Date.now() + CAPTURE_WAIT_MS;
    while (Date.now() < deadline) {
      await sleep(POLL_MS);
      try { await refresh(); } catch (_) { continue; }
      const c = captureOf(spec.artifact);
      if (c && c.status !== 'missing' && c.at !== before) {
        if (c.status === 'accepted') return c;
        return { status: 'rejected', message: t('photo_rejected', { reason: reasonText(c.reason) }) };
      }
    }
    return { status: 'rejected', message: t('photo_slow') };
  }

  function reasonText(reason) {
    return S[`reason_${reason}`] || t('reason_unknown');
  }

  function upload(slot, blob, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(slot.fields)) form.append(k, v);
      form.append('file', blob, blob.type === 'image/png' ? 'capture.png' : 'capture.jpg');
      const xhr = new XMLHttpRequest();
      xhr.open('POST', slot.url);
      xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(Math.round((e.loaded * 100) / e.total)); });
      xhr.addEventListener('load', () => (xhr.status >= 200 && xhr.status < 300 ? (onProgress(100), resolve()) : reject(new Error(`upload ${xhr.status}`))));
      xhr.addEventListener('error', () => reject(new Error('network')));
      xhr.send(form);
    });
  }

  async function startCamera(video, facing) {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) throw new Error('no camera');
    stopCamera();
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { facingMode: { ideal: facing }, width: { ideal: 1920 }, height: { ideal: 1080 } },
    });
    state.stream = stream;
    video.srcObject = stream;
    await video.play().catch(() => {});
    if (!video.videoWidth) await new Promise((r) => video.addEventListener('loadedmetadata', r, { once: true }));
  }

  function stopCamera() {
    if (state.stream) state.stream.getTracks().forEach((tr) => tr.stop());
    state.stream = null;
  }

  function grab(video) {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    return new Promise((r) => canvas.toBlob(r, 'image/jpeg', 0.92));
  }

  // Phone photos can be 12 MP and 10 MB: scaled to a sensible size and sent as JPEG.
  async function fromFile(file) {
    try {
      const bitmap = await createImageBitmap(file);
      const scale = Math.min(1, MAX_SIDE / Math.max(bitmap.width, bitmap.height));
      const canvas = document.createElement('canvas');
      canvas.width = Math.round(bitmap.width * scale);
      canvas.height = Math.round(bitmap.height * scale);
      canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      return await new Promise((r) => canvas.toBlob(r, 'image/jpeg', 0.92));
    } catch (_) {
      return file; // not decodable here: the server's byte check gives the reason
    }
  }

  // 3. Selfie and liveness: a frontal photo, then one frame per challenge pose.
  async function selfieStep() {
    state.stage = 'liveness';
    const frames = livenessArtifacts().map((artifact, i) => ({ artifact, pose: i === 0 ? 'front' : view.challenge[i - 1] }));
    let todo = frames.filter((f) => !accepted(f.artifact));
    let problem = null;
    while (todo.length) {
      const shots = await shootSequence(todo, frames.length, problem);
      const rejected = [];
      for (const shot of shots) {
        const spec = { artifact: shot.artifact, title: t('selfie_title') };
        const result = await sendCapture(spec, shot.blob);
        if (result.status !== 'accepted') rejected.push({ frame: shot, message: result.message });
        else state.thumbs[shot.artifact] = URL.createObjectURL(shot.blob);
      }
      todo = rejected.map((r) => r.frame);
      problem = rejected.length ? rejected.map((r) => `${t(`pose_${r.frame.pose}`)}: ${r.message}`).join(' ') : null;
    }
    next();
  }

  function shootSequence(frames, total, problem) {
    return new Promise((resolve) => {
      const video = h('video', { autoplay: true, muted: true, playsinline: true, 'aria-hidden': 'true' });
      const count = h('div', { class: 'countdown', 'aria-hidden': 'true' });
      const frame = h('div', { class: 'camera selfie' }, video, h('div', { class: 'guide face' }), count);
      const instruction = h('p', { role: 'status', 'aria-live': 'assertive', class: 'state' });
      const start = h('button', { type: 'button', disabled: true, text: t('selfie_start') });
      const fallback = h('div', {});
      screen(t('selfie_title'), problem ? alertBox('bad', problem) : null, h('p', { text: t('selfie_intro', { count: total }) }),
        frame, instruction, h('div', { class: 'actions' }, start), fallback);
      startCamera(video, 'user').then(() => { start.disabled = false; }, () => {
        frame.hidden = true;
        start.hidden = true;
        instruction.textContent = t('camera_unavailable');
        filesFallback(frames, fallback).then(resolve);
      });
      start.addEventListener('click', async () => {
        start.disabled = true;
        const shots = [];
        for (const [i, f] of frames.entries()) {
          instruction.textContent = t('selfie_frame', { n: i + 1, total: frames.length, pose: t(`pose_${f.pose}`) });
          for (let n = 3; n > 0; n--) {
            count.textContent = t('countdown', { n });
            await sleep(700);
          }
          count.textContent = '';
          shots.push({ ...f, blob: await grab(video) });
        }
        stopCamera();
        resolve(shots);
      });
    });
  }

  // Without a live camera: one native capture input per pose.
  function filesFallback(frames, container) {
    return new Promise((resolve) => {
      const shots = [];
      const ask = (i) => {
        if (i >= frames.length) return resolve(shots);
        const f = frames[i];
        container.replaceChildren(fileInput('user', t('selfie_file_label', { pose: t(`pose_${f.pose}`) }), async (file) => {
          shots.push({ ...f, blob: await fromFile(file) });
          ask(i + 1);
        }));
        container.querySelector('label').focus();
      };
      ask(0);
    });
  }

  // 4. Details for the dvs and bank steps, validated here and by the server (its `field`).
  function detailsStep() {
    state.stage = 'details';
    const fields = {};
    const field = (key, label, input, hint) => {
      const id = uid(key.replace('.', '-'));
      input.id = id;
      const errorId = `${id}-error`;
      const hintId = hint ? `${id}-hint` : null;
      input.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
      const error = h('p', { class: 'field-error', id: errorId, hidden: true });
      const wrap = h('div', { class: 'field' }, h('label', { for: id, text: label }), hint ? h('span', { class: 'hint', id: hintId, text: hint }) : null, input, error);
      fields[key] = { input, error, wrap, label };
      return wrap;
    };
    const text = (name, extra) => h('input', { type: 'text', name, autocomplete: 'off', spellcheck: 'false', ...extra });
    const select = (name, values, label) => h('select', { name }, h('option', { value: '', text: t('choose') }), values.map((v) => h('option', { value: v, text: label(v) })));
    const sections = [];
    if (view.details_provided && 'dvs' in view.details_provided) {
      const types = ['driverslicence', 'passport', 'medicare', 'visa', 'birthcertificate', 'citizenship', 'immicard'];
      const type = select('document_type', types, (v) => t(`dvs_${v}`));
      if (state.docType) type.value = state.docType;
      const states = ['ACT', 'NSW', 'NT', 'QLD', 'SA', 'TAS', 'VIC', 'WA'];
      sections.push(h('fieldset', {}, h('legend', { text: t('details_dvs') }),
        field('dvs.document_type', t('field_document_type'), type),
        field('dvs.number', t('field_number'), text('number', { autocapitalize: 'characters' }), t('field_number_hint')),
        field('dvs.state', t('field_state'), select('state', states, (v) => v)),
        field('dvs.card_number', t('field_card_number'), text('card_number', { autocapitalize: 'characters' }), t('field_card_number_hint'))));
      const licenceOnly = () => {
        const licence = type.value === 'driverslicence';
        fields['dvs.state'].wrap.hidden = !licence;
        fields['dvs.card_number'].wrap.hidden = !licence;
      };
      type.addEventListener('change', licenceOnly);
      licenceOnly();
    }
    if (view.details_provided && 'bank' in view.details_provided) {
      sections.push(h('fieldset', {}, h('legend', { text: t('details_bank') }),
        field('bank.bsb', t('field_bsb'), text('bsb', { inputmode: 'numeric', autocomplete: 'off' }), t('field_bsb_hint')),
        field('bank.account_number', t('field_account_number'), text('account_number', { inputmode: 'numeric' }), t('field_account_number_hint'))));
    }
    const summary = h('div', { hidden: true });
    const send = h('button', { type: 'submit', text: t('continue') });
    const form = h('form', { novalidate: true }, summary, ...sections, h('div', { class: 'actions' }, send));
    screen(t('details_title'), h('p', { text: t('details_intro') }), form);

    const showError = (key, message) => {
      const f = fields[key];
      if (!f) return false;
      f.error.textContent = message;
      f.error.hidden = false;
      f.input.setAttribute('aria-invalid', 'true');
      return true;
    };
    const clear = () => Object.values(fields).forEach((f) => { f.error.hidden = true; f.input.removeAttribute('aria-invalid'); });
    const val = (key) => (fields[key] ? fields[key].input.value.trim() : '');
    const lower = (key) => fields[key].label.toLowerCase();

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      clear();
      summary.hidden = true;
      const errors = [];
      const need = (key, choose) => { if (fields[key] && !fields[key].wrap.hidden && !val(key)) errors.push([key, t(choose ? 'err_choose' : 'err_required', { field: lower(key) })]); };
      need('dvs.document_type', true);
      need('dvs.number');
      need('dvs.state', true);
      need('bank.bsb');
      need('bank.account_number');
      if (fields['bank.bsb'] && val('bank.bsb') && !/^\d{3}[- ]?\d{3}$/.test(val('bank.bsb'))) errors.push(['bank.bsb', t('err_format', { field: lower('bank.bsb'), message: t('field_bsb_hint') })]);
      if (fields['bank.account_number'] && val('bank.account_number') && !/^\d{5,10}$/.test(val('bank.account_number'))) errors.push(['bank.account_number', t('err_format', { field: lower('bank.account_number'), message: t('field_account_number_hint') })]);
      if (errors.length) return showErrors(errors);
      const body = {};
      if (fields['dvs.number']) {
        body.dvs = { document_type: val('dvs.document_type'), number: val('dvs.number') };
        if (body.dvs.document_type === 'driverslicence') {
          body.dvs.state = val('dvs.state');
          if (val('dvs.card_number')) body.dvs.card_number = val('dvs.card_number');
        }
      }
      if (fields['bank.bsb']) body.bank = { bsb: val('bank.bsb'), account_number: val('bank.account_number') };
      send.disabled = true;
      try {
        view = await api('PUT', '/details', body);
        next();
      } catch (err) {
        send.disabled = false;
        if (err.status === 400 && err.field && fields[err.field]) return showErrors([[err.field, t('err_format', { field: lower(err.field), message: err.message })]]);
        fail(err);
      }
    });

    function showErrors(errors) {
      errors.forEach(([k, m]) => showError(k, m));
      summary.replaceChildren(alertBox('bad', t('errors_summary')));
      summary.hidden = false;
      fields[errors[0][0]].input.focus();
    }
  }

  // 5. Review and submit.
  function review() {
    state.stage = 'review';
    const item = (label, done, redo) => h('li', {},
      h('span', {}, h('strong', { text: label }), ' ', h('span', { class: done ? 'state completed' : 'state error', text: done ? `✓ ${t('review_done')}` : t('review_missing') })),
      redo ? h('button', { type: 'button', class: 'link', onclick: redo, 'aria-label': `${t('review_edit')}: ${label}`, text: t('review_edit') }) : null);
    const items = [];
    const thumbs = Object.entries(state.thumbs).map(([a, url]) => h('img', { src: url, alt: `${t('preview_alt')} (${a})` }));
    if (wants('document')) items.push(item(t('review_document'), accepted('document-front'), () => documentStep()));
    if (wants('liveness')) items.push(item(t('review_selfie'), livenessArtifacts().every(accepted), () => { retakeSelfie(); }));
    if (wants('dvs') || wants('bank')) items.push(item(t('review_details'), !detailsNeeded(), () => detailsStep()));
    const error = h('div', {});
    const send = h('button', { type: 'button', text: t('submit') });
    send.addEventListener('click', async () => {
      send.disabled = true;
      try {
        view = await api('POST', '/submit');
        next();
      } catch (err) {
        send.disabled = false;
        const known = { captures_missing: 'submit_missing_captures', details_missing: 'submit_missing_details', consent_missing: 'submit_missing_consent' };
        if (err.status === 409 && known[err.code]) error.replaceChildren(alertBox('bad', t(known[err.code])));
        else fail(err);
      }
    });
    screen(t('review_title'), h('p', { text: t('review_intro') }), thumbs.length ? h('div', { class: 'thumbs' }, thumbs) : null,
      h('ul', { class: 'review-list' }, items), error, h('div', { class: 'actions' }, send));
  }

  async function retakeSelfie() {
    // A retake replaces every frame, so the poses stay in order.
    const saved = view.captures;
    view.captures = saved.map((c) => (livenessArtifacts().includes(c.artifact) ? { ...c, status: 'missing' } : c));
    await selfieStep();
  }

  // 6. Processing, with live progress.
  function processing() {
    state.stage = null;
    const list = h('ul', { class: 'steps-list' });
    const render = () => list.replaceChildren(...view.steps.map((s) => h('li', {},
      h('span', { text: t(`step_${s.name}`) }), h('span', { class: `state ${s.status}`, text: t(`status_${s.status}`) }))));
    render();
    screen(t('processing_title'), h('p', { text: t('processing_intro') }), h('div', { class: 'spinner', 'aria-hidden': 'true' }),
      h('div', { role: 'status', 'aria-live': 'polite' }, list));
    const tick = async () => {
      try { await refresh(); } catch (_) { state.timers.push(setTimeout(tick, POLL_MS * 2)); return; }
      if (view.status === 'finished') return finished();
      render();
      state.timers.push(setTimeout(tick, POLL_MS));
    };
    state.timers.push(setTimeout(tick, POLL_MS));
  }

  // 7. Finish: back to the customer with the signed result, or (a handed-off phone) back to
  // the computer, which follows along and finishes there.
  function finished() {
    if (boot.role === 'phone') {
      return screen(t('phone_done_title'), alertBox('ok', t('phone_done_body')));
    }
    goFinish();
  }

  try { next(); } catch (err) { fail(err); }
})();
