  // Welcome, consent and the desktop handoff. A part of the journey script (see core.js).

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
