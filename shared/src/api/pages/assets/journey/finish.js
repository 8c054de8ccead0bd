  // Review, processing and finish. A part of the journey script (see core.js).

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
