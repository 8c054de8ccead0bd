  // The details form. A part of the journey script (see core.js).

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
