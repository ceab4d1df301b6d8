// @ts-check
// admin.js is the admin console: rooms, phone numbers, trunks and meetings
// in progress, through the JSON API under /api/v1 (docs/api.md). The admin
// logs in with user name and password (an HttpOnly session cookie plus a
// CSRF token kept in memory) or with an admin token, kept in sessionStorage
// for this tab only.

/**
 * @typedef {{slug: string, name: string, lang: string, hasPin: boolean, hasModeratorPin: boolean, dialCode: string,
 *   numbers: string[], joinPath: string, moderatorPath: string, dialIn: string, createdAt: number, live: number,
 *   locked?: boolean}} Room
 * @typedef {{number: string, room: string, shared?: boolean, lang?: string}} PhoneNumber
 * @typedef {{name: string, sources: string[]|null, auth: boolean, register?: string, state: string,
 *   until?: string, lastError?: string, retryAt?: string, origin: string, username?: string, maxCalls?: number,
 *   maxDurationSeconds?: number, srtp?: string, regUser?: string, regDomain?: string, regTransport?: string,
 *   transport?: string}} Trunk
 * @typedef {{id: string, name: string, kind: string, muted?: boolean, role?: string}} Participant
 * @typedef {{slug: string, locked: boolean, web: number, phone: number, participants: Participant[]}} LiveRoom
 */

const main = /** @type {HTMLElement} */ (document.getElementById('admin'));
const logout = /** @type {HTMLButtonElement} */ (document.getElementById('logout'));
const TOKEN = 'dialroom.adminToken';
/** @type {number|undefined} */
let timer;
/** CSRF token of the password login's session; '' when using a token. */
let csrf = '';

/**
 * el builds an element with attributes and children (text is never parsed as HTML).
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node|string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/**
 * btn makes a button.
 * @param {string} text
 * @param {() => void} onclick
 * @param {Record<string, string>} [attrs]
 */
function btn(text, onclick, attrs = {}) {
  const b = el('button', { type: 'button', class: 'small', ...attrs }, [text]);
  b.addEventListener('click', onclick);
  return b;
}

class APIError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * api calls the admin API and returns the decoded JSON (null for 204).
 * @param {string} method
 * @param {string} path
 * @param {object} [body]
 */
async function api(method, path, body) {
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: authHeaders(),
    body: body ? JSON.stringify(body) : undefined,
  });
  if (res.status === 204) return null;
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new APIError(res.status, data.message || res.statusText);
  return data;
}

/** authHeaders authenticates an API request: the token, else the session's CSRF token. */
function authHeaders() {
  /** @type {Record<string, string>} */
  const h = { 'Content-Type': 'application/json' };
  const token = sessionStorage.getItem(TOKEN);
  if (token) h.Authorization = `Bearer ${token}`;
  else if (csrf) h['X-CSRF-Token'] = csrf;
  return h;
}

/** @param {unknown} err */
function report(err) {
  if (err instanceof APIError && err.status === 401) {
    const hadToken = !!sessionStorage.getItem(TOKEN);
    sessionStorage.removeItem(TOKEN);
    csrf = '';
    showLogin(hadToken ? 'The token was not accepted.' : 'Please log in again.');
    return;
  }
  const box = document.getElementById('message');
  if (box) {
    box.textContent = String(err instanceof Error ? err.message : err);
    box.hidden = false;
  }
}

/** @param {string} [error] */
function showLogin(error) {
  clearInterval(timer);
  logout.hidden = true;
  const user = el('input', { id: 'user', autocomplete: 'username', required: '', value: 'admin' });
  const pass = el('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: '' });
  const pwForm = el('form', { id: 'password-login', class: 'card' }, [
    el('h2', {}, ['Log in']),
    el('label', { for: 'user' }, ['User name']),
    user,
    el('label', { for: 'password' }, ['Password (directory account, or the local admin set with: dialroom admin passwd)']),
    pass,
    el('button', { type: 'submit', class: 'primary' }, ['Log in']),
    el('p', { class: 'error', role: 'alert' }, [error && !error.includes('token') ? error : '']),
  ]);
  pwForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const res = await fetch('/admin/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user: /** @type {HTMLInputElement} */ (user).value.trim(), password: /** @type {HTMLInputElement} */ (pass).value }),
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      /** @type {HTMLElement} */ (pwForm.querySelector('.error')).textContent = data.message || res.statusText;
      return;
    }
    csrf = data.csrf;
    showConsole();
  });
  const input = el('input', { id: 'token', type: 'password', autocomplete: 'off', required: '' });
  const form = el('form', { id: 'login', class: 'card' }, [
    el('h2', {}, ['Or use an admin token']),
    el('label', { for: 'token' }, ['Admin token (create one with: dialroom admin token)']),
    input,
    el('button', { type: 'submit' }, ['Log in with token']),
    el('p', { class: 'error', role: 'alert' }, [error && error.includes('token') ? error : '']),
  ]);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN, /** @type {HTMLInputElement} */ (input).value.trim());
    showConsole();
  });
  main.replaceChildren(pwForm, form);
  user.focus();
  addSingleSignOn(pwForm);
}

/**
 * addSingleSignOn adds the single sign-on button to the login form when the
 * server has an OpenID Connect provider configured.
 * @param {HTMLElement} pwForm
 */
async function addSingleSignOn(pwForm) {
  const res = await fetch('/login/options').catch(() => null);
  if (!res || !res.ok) return;
  const opts = await res.json().catch(() => ({}));
  if (!opts.oidc || document.getElementById('oidc-login')) return;
  const link = el('a', { id: 'oidc-login', class: 'button', href: '/login/oidc?next=%2Fadmin' }, [String(opts.oidc)]);
  pwForm.querySelector('button[type=submit]')?.after(el('p', {}, [link]));
}

async function showConsole() {
  try {
    await api('GET', '/rooms');
  } catch (err) {
    report(err);
    return;
  }
  logout.hidden = false;
  main.replaceChildren(
    el('p', { id: 'message', class: 'error', role: 'alert', hidden: '' }),
    el('section', { id: 'rooms-section', 'aria-labelledby': 'rooms-h' }, [el('h2', { id: 'rooms-h' }, ['Rooms']), roomForm(), el('div', { id: 'rooms' })]),
    el('section', { id: 'numbers-section', 'aria-labelledby': 'numbers-h' }, [el('h2', { id: 'numbers-h' }, ['Phone numbers']), numberForm(), el('div', { id: 'numbers' })]),
    el('section', { id: 'trunks-section', 'aria-labelledby': 'trunks-h' }, [el('h2', { id: 'trunks-h' }, ['Trunks']), trunkForm(), el('div', { id: 'trunks' })]),
    el('section', { id: 'live-section', 'aria-labelledby': 'live-h' }, [el('h2', { id: 'live-h' }, ['Meetings in progress']), el('div', { id: 'live', 'aria-live': 'polite' })]),
    tokensSection(),
  );
  await refresh();
  clearInterval(timer);
  timer = setInterval(() => refreshLive().catch(report), 3000);
}

async function refresh() {
  try {
    await Promise.all([refreshRooms(), refreshNumbers(), refreshTrunks(), refreshLive()]);
  } catch (err) {
    report(err);
  }
}

/**
 * field is a labelled input.
 * @param {string} id
 * @param {string} label
 * @param {Record<string, string>} [attrs]
 */
function field(id, label, attrs = {}) {
  return el('div', { class: 'field' }, [el('label', { for: id }, [label]), el('input', { id, name: id, ...attrs })]);
}

function roomForm() {
  const lang = el('select', { id: 'room-lang' }, [el('option', { value: 'de' }, ['Deutsch']), el('option', { value: 'en' }, ['English'])]);
  const form = el('form', { id: 'room-form', class: 'inline' }, [
    field('room-slug', 'Slug (a-z, 0-9, -)', { required: '', pattern: '[a-z0-9-]{1,64}' }),
    field('room-name', 'Title'),
    field('room-pin', 'PIN for phone callers (optional)', { inputmode: 'numeric', pattern: '[0-9]{4,12}', autocomplete: 'off' }),
    el('div', { class: 'field' }, [el('label', { for: 'room-lang' }, ['Prompt language']), lang]),
    el('button', { type: 'submit', class: 'primary', id: 'room-create' }, ['Create room']),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (document.getElementById(id)).value.trim();
    try {
      await api('POST', '/rooms', { slug: v('room-slug'), name: v('room-name'), pin: v('room-pin'), lang: v('room-lang') });
      /** @type {HTMLFormElement} */ (form).reset();
      await refreshRooms();
    } catch (err) {
      report(err);
    }
  });
  return form;
}

/**
 * copyBox shows a text with a copy button.
 * @param {string} label
 * @param {string} text
 */
function copyBox(label, text) {
  const input = /** @type {HTMLInputElement} */ (el('input', { readonly: '', value: text, 'aria-label': label }));
  return el('div', { class: 'copy' }, [
    input,
    btn(`Copy ${label.toLowerCase()}`, () => {
      input.select();
      navigator.clipboard?.writeText(text).catch(() => document.execCommand('copy'));
    }),
  ]);
}

async function refreshRooms() {
  const rooms = /** @type {Room[]} */ (await api('GET', '/rooms'));
  const rows = rooms.map((r) =>
    el('tr', { 'data-room': r.slug }, [
      el('td', {}, [el('strong', {}, [r.name]), el('div', { class: 'note' }, [r.slug])]),
      el('td', {}, [r.hasPin ? (r.hasModeratorPin ? 'yes, and moderator PIN' : 'yes') : 'no']),
      el('td', {}, [r.numbers.join(', ') || '–']),
      el('td', { class: 'code' }, [r.dialCode || '–']),
      el('td', {}, [String(r.live)]),
      el('td', { class: 'links' }, [
        copyBox('Join link', location.origin + r.joinPath),
        ...(r.moderatorPath ? [copyBox('Moderator link', location.origin + r.moderatorPath)] : []),
        ...(r.dialIn ? [copyBox('Dial-in text', r.dialIn)] : []),
        joinLinks(r),
      ]),
      el('td', {}, [
        btn('Edit', () => toggleEdit(r), { 'data-action': 'edit', 'aria-expanded': 'false' }),
        btn('Delete', async () => {
          if (!confirm(`Delete room ${r.slug} and its phone numbers?`)) return;
          await api('DELETE', `/rooms/${encodeURIComponent(r.slug)}`).catch(report);
          await refresh();
        }, { 'data-action': 'delete' }),
      ]),
    ]),
  );
  const head = el('tr', {}, ['Room', 'PIN', 'Numbers', 'Dial-in code', 'Live', 'Links', ''].map((h) => el('th', { scope: 'col' }, [h])));
  /** @type {HTMLElement} */ (document.getElementById('rooms')).replaceChildren(
    rooms.length ? el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]) : el('p', { class: 'note' }, ['No rooms yet.']),
  );
  const sel = document.getElementById('number-room');
  if (sel) {
    sel.replaceChildren(
      ...rooms.map((r) => el('option', { value: r.slug }, [r.slug])),
      el('option', { value: '' }, ['shared (dial-in code)']),
    );
  }
}

/**
 * toggleEdit opens (or closes) the edit form of room r below its row.
 * @param {Room} r
 */
function toggleEdit(r) {
  const row = document.querySelector(`tr[data-room="${CSS.escape(r.slug)}"]`);
  const open = document.querySelector(`tr[data-edit="${CSS.escape(r.slug)}"]`);
  const toggle = row?.querySelector('[data-action="edit"]');
  if (open) {
    open.remove();
    toggle?.setAttribute('aria-expanded', 'false');
    return;
  }
  if (!row) return;
  toggle?.setAttribute('aria-expanded', 'true');
  const edit = el('tr', { 'data-edit': r.slug }, [el('td', { colspan: '7' }, [editForm(r)])]);
  row.after(edit);
  /** @type {HTMLInputElement|null} */ (edit.querySelector('input'))?.focus();
}

/**
 * editForm changes a room's title, language, PIN, moderator PIN and dial-in
 * code; empty PIN fields keep the PIN, the checkboxes remove it.
 * @param {Room} r
 */
function editForm(r) {
  const id = (/** @type {string} */ f) => `edit-${r.slug}-${f}`;
  const lang = el('select', { id: id('lang') }, [el('option', { value: 'de' }, ['Deutsch']), el('option', { value: 'en' }, ['English'])]);
  /** @type {HTMLSelectElement} */ (lang).value = r.lang;
  const check = (/** @type {string} */ f, /** @type {string} */ label) =>
    el('div', { class: 'field check' }, [el('input', { id: id(f), type: 'checkbox' }), el('label', { for: id(f) }, [label])]);
  const pinAttrs = { inputmode: 'numeric', pattern: '[0-9]{4,12}', autocomplete: 'off' };
  const form = el('form', { class: 'inline edit-room' }, [
    field(id('name'), 'Title', { value: r.name }),
    el('div', { class: 'field' }, [el('label', { for: id('lang') }, ['Prompt language']), lang]),
    field(id('pin'), r.hasPin ? 'New PIN (empty: keep)' : 'PIN (empty: none)', pinAttrs),
    ...(r.hasPin ? [check('nopin', 'Remove PIN')] : []),
    field(id('modpin'), r.hasModeratorPin ? 'New moderator PIN (empty: keep)' : 'Moderator PIN (needs a PIN)', pinAttrs),
    ...(r.hasModeratorPin ? [check('nomodpin', 'Remove moderator PIN')] : []),
    field(id('code'), 'Dial-in code (4-8 digits)', { value: r.dialCode, inputmode: 'numeric', pattern: '[0-9]{4,8}', autocomplete: 'off' }),
    el('button', { type: 'submit', class: 'primary', 'data-action': 'save' }, ['Save']),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const v = (/** @type {string} */ f) => /** @type {HTMLInputElement} */ (document.getElementById(id(f)))?.value.trim() ?? '';
    const on = (/** @type {string} */ f) => !!(/** @type {HTMLInputElement|null} */ (document.getElementById(id(f))))?.checked;
    /** @type {Record<string, string>} */
    const change = {};
    if (v('name') !== r.name) change.name = v('name');
    if (v('lang') !== r.lang) change.lang = v('lang');
    if (on('nopin')) change.pin = '';
    else if (v('pin')) change.pin = v('pin');
    if (on('nomodpin')) change.moderatorPin = '';
    else if (v('modpin')) change.moderatorPin = v('modpin');
    if (v('code') !== r.dialCode) change.dialCode = v('code');
    try {
      await api('PATCH', `/rooms/${encodeURIComponent(r.slug)}`, change);
      await refreshRooms();
    } catch (err) {
      report(err);
    }
  });
  return form;
}

function numberForm() {
  const form = el('form', { id: 'number-form', class: 'inline' }, [
    field('number-e164', 'Number (international, e.g. +4930123456)', { required: '', inputmode: 'tel' }),
    el('div', { class: 'field' }, [el('label', { for: 'number-room' }, ['Room']), el('select', { id: 'number-room' })]),
    el('button', { type: 'submit', class: 'primary' }, ['Assign']),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const number = /** @type {HTMLInputElement} */ (document.getElementById('number-e164')).value.trim();
    const room = /** @type {HTMLSelectElement} */ (document.getElementById('number-room')).value;
    try {
      await api('POST', '/numbers', room ? { number, room } : { number, shared: true });
      /** @type {HTMLInputElement} */ (document.getElementById('number-e164')).value = '';
      await refresh();
    } catch (err) {
      report(err);
    }
  });
  return form;
}

async function refreshNumbers() {
  const nums = /** @type {PhoneNumber[]} */ (await api('GET', '/numbers'));
  const rows = nums.map((n) =>
    el('li', { 'data-number': n.number }, [
      `${n.number} → ${n.shared ? 'shared (callers type a dial-in code)' : n.room} `,
      btn('Unassign', async () => {
        await api('DELETE', `/numbers/${encodeURIComponent(n.number)}`).catch(report);
        await refresh();
      }),
    ]),
  );
  /** @type {HTMLElement} */ (document.getElementById('numbers')).replaceChildren(
    nums.length ? el('ul', { class: 'plain' }, rows) : el('p', { class: 'note' }, ['No numbers assigned.']),
  );
}

async function refreshTrunks() {
  const trunks = /** @type {Trunk[]} */ (await api('GET', '/trunks'));
  const state = (/** @type {Trunk} */ t) => {
    switch (t.state) {
      case 'registered': return `registered until ${new Date(t.until || '').toLocaleString()}`;
      case 'expired': return `registration expired at ${new Date(t.until || '').toLocaleString()}`;
      case 'failed': return `not registered: ${t.lastError || 'unknown error'}` +
        (t.retryAt ? `; next try ${new Date(t.retryAt).toLocaleString()}` : '');
      case 'unknown': return 'not registered yet';
      default: return 'ready';
    }
  };
  const rows = trunks.map((t) =>
    el('tr', { 'data-trunk': t.name, 'data-state': t.state }, [
      el('td', {}, [t.name]),
      el('td', {}, [t.register ? `registrar ${t.register}` : (t.sources || []).join(', ') || 'any (password only)']),
      el('td', {}, [t.auth ? 'digest' : '–']),
      el('td', { 'data-col': 'transport' }, [t.transport || '']),
      el('td', { 'data-col': 'srtp' }, [t.srtp || 'optional']),
      el('td', {}, [state(t)]),
      el('td', {}, [t.origin === 'stored' ? 'console / CLI' : 'configuration file']),
      el('td', {}, t.origin === 'stored' ? trunkActions(t) : []),
    ]),
  );
  const head = el('tr', {}, ['Trunk', 'Calls from', 'Auth', 'Transport', 'SRTP', 'State', 'Defined in', ''].map((h) => el('th', { scope: 'col' }, [h])));
  /** @type {HTMLElement} */ (document.getElementById('trunks')).replaceChildren(
    trunks.length ? el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]) : el('p', { class: 'note' }, ['No trunks yet.']),
  );
}

/**
 * trunkFields are the inputs of a trunk form; ids start with prefix. With
 * t (editing) they are filled in; passwords are never shown: an empty
 * password field keeps the stored one.
 * @param {string} prefix
 * @param {Trunk} [t]
 */
function trunkFields(prefix, t) {
  const keep = t ? ' (empty: keep)' : '';
  const srtp = el('select', { id: `${prefix}-srtp` }, ['optional', 'required', 'off'].map((m) => el('option', { value: m }, [m])));
  /** @type {HTMLSelectElement} */ (srtp).value = t?.srtp || 'optional';
  const regTransport = el('select', { id: `${prefix}-reg-transport` }, ['udp', 'tcp', 'tls'].map((m) => el('option', { value: m }, [m])));
  /** @type {HTMLSelectElement} */ (regTransport).value = t?.regTransport || 'udp';
  /** @type {(x: string|undefined) => Record<string, string>} */
  const v = (x) => (x ? { value: x } : {});
  return [
    field(`${prefix}-sources`, 'Sources (IPs or CIDRs, comma-separated)', v((t?.sources || []).join(','))),
    field(`${prefix}-user`, 'Digest user (optional)', { autocomplete: 'off', ...v(t?.username) }),
    field(`${prefix}-password`, `Digest password${keep}`, { type: 'password', autocomplete: 'new-password' }),
    field(`${prefix}-registrar`, 'Registrar host:port (optional)', v(t?.register)),
    field(`${prefix}-reg-user`, 'Registration user', { autocomplete: 'off', ...v(t?.regUser) }),
    field(`${prefix}-reg-password`, `Registration password${keep}`, { type: 'password', autocomplete: 'new-password' }),
    field(`${prefix}-reg-domain`, 'Registration domain (optional)', v(t?.regDomain)),
    el('div', { class: 'field' }, [el('label', { for: `${prefix}-reg-transport` }, ['Registration transport']), regTransport]),
    field(`${prefix}-max-calls`, 'Max calls (0: no limit)', { type: 'number', min: '0', ...v(String(t?.maxCalls || 0)) }),
    el('div', { class: 'field' }, [el('label', { for: `${prefix}-srtp` }, ['SRTP']), srtp]),
  ];
}

/**
 * trunkBody reads a trunk form into an API body (docs/api.md). For a new
 * trunk absent values are left out; for an edit every field is sent except
 * empty passwords, and an emptied registrar stops the registration.
 * @param {string} prefix
 * @param {Trunk} [t]
 */
function trunkBody(prefix, t) {
  const v = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (document.getElementById(`${prefix}-${id}`)).value.trim();
  const sources = v('sources').split(',').map((x) => x.trim()).filter(Boolean);
  /** @type {Record<string, any>} */
  const body = { sources, username: v('user'), maxCalls: Number(v('max-calls') || 0), srtp: v('srtp') };
  if (v('password')) body.password = v('password');
  if (v('registrar')) {
    body.register = { registrar: v('registrar'), username: v('reg-user'), password: v('reg-password'), domain: v('reg-domain'),
      transport: v('reg-transport') };
  } else if (t?.register) {
    body.noRegister = true;
  }
  return body;
}

/** trunkForm adds a trunk (stored in the database, applied at once). */
function trunkForm() {
  const form = el('form', { id: 'trunk-form', class: 'inline' }, [
    field('trunk-name', 'Name', { required: '', pattern: '[A-Za-z0-9._-]{1,64}' }),
    ...trunkFields('trunk'),
    el('button', { type: 'submit', class: 'primary', id: 'trunk-create' }, ['Add trunk']),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = /** @type {HTMLInputElement} */ (document.getElementById('trunk-name')).value.trim();
    try {
      await api('POST', '/trunks', { name, ...trunkBody('trunk') });
      /** @type {HTMLFormElement} */ (form).reset();
      await refreshTrunks();
    } catch (err) {
      report(err);
    }
  });
  return form;
}

/**
 * trunkActions are the edit and delete buttons of a stored trunk.
 * @param {Trunk} t
 */
function trunkActions(t) {
  return [
    btn('Edit', () => toggleTrunkEdit(t), { 'data-action': 'edit-trunk', 'aria-expanded': 'false' }),
    btn('Delete', async () => {
      if (!confirm(`Delete trunk ${t.name}? Calls in progress go on; new calls from it are refused.`)) return;
      await api('DELETE', `/trunks/${encodeURIComponent(t.name)}`).catch(report);
      await refreshTrunks().catch(report);
    }, { 'data-action': 'delete-trunk' }),
  ];
}

/**
 * toggleTrunkEdit opens (or closes) the edit form of stored trunk t below its row.
 * @param {Trunk} t
 */
function toggleTrunkEdit(t) {
  const row = document.querySelector(`tr[data-trunk="${CSS.escape(t.name)}"]`);
  const open = document.querySelector(`tr[data-trunk-edit="${CSS.escape(t.name)}"]`);
  const toggle = row?.querySelector('[data-action="edit-trunk"]');
  if (open) {
    open.remove();
    toggle?.setAttribute('aria-expanded', 'false');
    return;
  }
  if (!row) return;
  toggle?.setAttribute('aria-expanded', 'true');
  const prefix = `trunk-edit-${t.name}`;
  const form = el('form', { class: 'inline', 'data-trunk-form': t.name }, [
    ...trunkFields(prefix, t),
    el('button', { type: 'submit', class: 'primary' }, ['Save trunk']),
  ]);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('PATCH', `/trunks/${encodeURIComponent(t.name)}`, trunkBody(prefix, t));
      await refreshTrunks();
    } catch (err) {
      report(err);
    }
  });
  const edit = el('tr', { 'data-trunk-edit': t.name }, [el('td', { colspan: '6' }, [form])]);
  row.after(edit);
  /** @type {HTMLInputElement|null} */ (edit.querySelector('input'))?.focus();
}

async function refreshLive() {
  const live = /** @type {LiveRoom[]} */ (await api('GET', '/live'));
  const box = /** @type {HTMLElement} */ (document.getElementById('live'));
  if (!live.length) {
    box.replaceChildren(el('p', { class: 'note' }, ['No meeting in progress.']));
    return;
  }
  const act = (/** @type {string} */ path) => async () => {
    await api('POST', path).catch(report);
    await refreshLive().catch(report);
  };
  box.replaceChildren(
    ...live.map((r) =>
      el('article', { class: 'live', 'data-live': r.slug }, [
        el('h3', {}, [`${r.slug}: ${r.web} in the browser, ${r.phone} by phone${r.locked ? ' (locked)' : ''}`]),
        el('ul', { class: 'plain' }, r.participants.map((p) => {
          const base = `/live/${encodeURIComponent(r.slug)}/participants/${encodeURIComponent(p.id)}`;
          return el('li', { 'data-person': p.id }, [
            `${p.kind === 'phone' ? '☎ ' : ''}${p.name}${p.role === 'moderator' ? ' (moderator)' : ''}${p.muted ? ' (muted)' : ''} `,
            btn('Mute', act(`${base}/mute`)),
            btn(p.kind === 'phone' ? 'Hang up' : 'Remove', act(`${base}/remove`), { 'data-action': 'remove' }),
          ]);
        })),
        btn('End meeting', act(`/live/${encodeURIComponent(r.slug)}/end`), { class: 'small danger' }),
      ]),
    ),
  );
}

// Join links, room access and API tokens (docs/api.md, "Tokens, join links
// and room access").

/** @typedef {{access: string, relinkedAt: number}} Access */
/** @typedef {{name: string, scopes: string[], createdAt: number, expiresAt: number, lastUsed: number,
 *   expired: boolean, file?: boolean, token?: string}} APIToken */

/**
 * when formats Unix seconds for the console; 0 is `zero`.
 * @param {number} t
 * @param {string} zero
 */
function when(t, zero) {
  return t ? new Date(t * 1000).toLocaleString() : zero;
}

/**
 * joinLinks is a room's panel for signed, expiring join links and its access
 * setting. After a relink it hides the room's unversioned moderator link,
 * which the relink revoked.
 * @param {Room} r
 */
function joinLinks(r) {
  const slug = encodeURIComponent(r.slug);
  const id = (/** @type {string} */ f) => `links-${r.slug}-${f}`;
  const access = /** @type {HTMLSelectElement} */ (el('select', { id: id('access'), 'data-action': 'access' }, [
    el('option', { value: 'open' }, ['Anyone with the link']),
    el('option', { value: 'signed-in' }, ['Signed-in users and invitation links']),
    el('option', { value: 'lobby' }, ['Guests wait until a moderator admits them']),
  ]));
  const expires = /** @type {HTMLSelectElement} */ (el('select', { id: id('expires'), 'aria-label': 'Link valid for' }, [
    el('option', { value: '1d' }, ['1 day']),
    el('option', { value: '7d' }, ['7 days']),
    el('option', { value: '30d', selected: '' }, ['30 days']),
    el('option', { value: 'never' }, ['never expires']),
  ]));
  const made = el('div', { class: 'made-links' });
  const note = el('p', { class: 'note' });
  /** @param {Access} a */
  const show = (a) => {
    access.value = a.access;
    note.textContent = a.relinkedAt ? `Links before ${when(a.relinkedAt, '')} were revoked.` : '';
    if (a.relinkedAt) panel.parentElement?.querySelector('input[aria-label="Moderator link"]')?.closest('.copy')?.remove();
  };
  /** @param {string} role */
  const make = (role) => async () => {
    try {
      const l = /** @type {{path: string, expiresAt: number}} */ (await api('POST', `/rooms/${slug}/links`, { role, expires: expires.value }));
      const label = role === 'moderator' ? 'New moderator link' : 'Invitation link';
      made.replaceChildren(copyBox(label, location.origin + l.path), el('p', { class: 'note' }, [`Valid until ${when(l.expiresAt, 'revoked')}.`]));
    } catch (err) {
      report(err);
    }
  };
  access.addEventListener('change', async () => {
    try {
      show(/** @type {Access} */ (await api('PATCH', `/rooms/${slug}/access`, { access: access.value })));
    } catch (err) {
      report(err);
    }
  });
  const panel = el('div', { class: 'join-links', 'data-links': r.slug }, [
    el('div', { class: 'field' }, [el('label', { for: id('access') }, ['Who may join']), access]),
    el('div', { class: 'copy' }, [
      expires,
      btn('Invitation link', make('participant'), { 'data-action': 'participant-link' }),
      btn('Moderator link', make('moderator'), { 'data-action': 'moderator-link' }),
      btn('Revoke links', async () => {
        if (!confirm(`Revoke every invitation and moderator link of ${r.slug}?`)) return;
        try {
          show(/** @type {Access} */ (await api('POST', `/rooms/${slug}/relink`)));
          made.replaceChildren();
        } catch (err) {
          report(err);
        }
      }, { class: 'small danger', 'data-action': 'relink' }),
    ]),
    made,
    note,
  ]);
  api('GET', `/rooms/${slug}/access`).then((a) => show(/** @type {Access} */ (a))).catch(() => {});
  return panel;
}

/** tokensSection lists, creates and revokes admin API tokens (admin scope only). */
function tokensSection() {
  const scopes = ['read', 'rooms:read', 'rooms:write', 'live:read', 'live:write', 'audit:read', 'admin'];
  const scope = el('select', { id: 'token-scopes', multiple: '', size: '3' }, scopes.map((s) => el('option', { value: s }, [s])));
  const expires = el('select', { id: 'token-expires' }, [
    el('option', { value: '30d' }, ['30 days']),
    el('option', { value: '90d', selected: '' }, ['90 days']),
    el('option', { value: '365d' }, ['1 year']),
    el('option', { value: 'never' }, ['never']),
  ]);
  const form = el('form', { id: 'token-form', class: 'inline' }, [
    field('token-name', 'Name', { required: '', pattern: '[A-Za-z0-9][A-Za-z0-9._\\-]{0,63}' }),
    el('div', { class: 'field' }, [el('label', { for: 'token-scopes' }, ['Scopes']), scope]),
    el('div', { class: 'field' }, [el('label', { for: 'token-expires' }, ['Expires after']), expires]),
    el('button', { type: 'submit', class: 'primary' }, ['Create token']),
  ]);
  const shown = el('div', { id: 'token-new' });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = [.../** @type {HTMLSelectElement} */ (scope).selectedOptions].map((o) => o.value);
    const name = /** @type {HTMLInputElement} */ (document.getElementById('token-name')).value.trim();
    try {
      const t = /** @type {APIToken} */ (await api('POST', '/tokens', { name, scopes: chosen, expires: /** @type {HTMLSelectElement} */ (expires).value }));
      shown.replaceChildren(copyBox('New token', t.token || ''), el('p', { class: 'note' }, ['Shown only now: copy it to where it is used.']));
      /** @type {HTMLFormElement} */ (form).reset();
      await refreshTokens();
    } catch (err) {
      report(err);
    }
  });
  const section = el('section', { id: 'tokens-section', 'aria-labelledby': 'tokens-h' }, [
    el('h2', { id: 'tokens-h' }, ['API tokens']), form, shown, el('div', { id: 'tokens' }),
  ]);
  refreshTokens().catch(report);
  return section;
}

async function refreshTokens() {
  /** @type {APIToken[]} */
  let list;
  try {
    list = /** @type {APIToken[]} */ (await api('GET', '/tokens'));
  } catch (err) {
    if (!(err instanceof APIError) || err.status !== 403) throw err;
    document.getElementById('tokens')?.replaceChildren(el('p', { class: 'note' }, ['Managing tokens needs the admin scope.']));
    document.getElementById('token-form')?.remove();
    return;
  }
  const rows = list.map((t) =>
    el('tr', { 'data-token': t.name }, [
      el('td', {}, [t.name, ...(t.file ? [el('div', { class: 'note' }, ['token file'])] : [])]),
      el('td', {}, [t.scopes.join(', ')]),
      el('td', {}, [when(t.createdAt, '–')]),
      el('td', {}, [when(t.lastUsed, t.file ? '–' : 'never')]),
      el('td', {}, [t.expired ? 'expired' : when(t.expiresAt, 'never')]),
      el('td', {}, [btn('Revoke', async () => {
        if (!confirm(`Revoke the token ${t.name}? Whatever uses it stops working.`)) return;
        await api('DELETE', `/tokens/${encodeURIComponent(t.name)}`).catch(report);
        await refreshTokens().catch(report);
      }, { class: 'small danger', 'data-action': 'revoke' })]),
    ]),
  );
  const head = el('tr', {}, ['Name', 'Scopes', 'Created', 'Last used', 'Expires', ''].map((h) => el('th', { scope: 'col' }, [h])));
  document.getElementById('tokens')?.replaceChildren(list.length ? el('table', {}, [el('thead', {}, [head]), el('tbody', {}, rows)]) : el('p', { class: 'note' }, ['No tokens.']));
}

logout.addEventListener('click', async () => {
  if (csrf) await fetch('/admin/logout', { method: 'POST', headers: authHeaders() }).catch(() => {});
  sessionStorage.removeItem(TOKEN);
  csrf = '';
  showLogin();
});

/** start continues a token or a cookie session, else shows the login. */
async function start() {
  if (sessionStorage.getItem(TOKEN)) return showConsole();
  const res = await fetch('/admin/session').catch(() => null);
  if (res && res.ok) {
    csrf = (await res.json()).csrf;
    return showConsole();
  }
  showLogin();
}
start();
