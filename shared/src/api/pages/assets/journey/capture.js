  // Document and selfie captures: camera, preview, upload. A part of the journey script (see core.js).

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
