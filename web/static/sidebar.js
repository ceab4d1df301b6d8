// @ts-check
// sidebar.js renders the participant list (with moderator controls) and the
// chat (room and private conversations with unread counts). It talks to the
// server only through the Session it is given.
import { t } from './i18n.js';
import { icons } from './icons.js';

/** @typedef {import('./protocol.js').Participant} Participant */
/** @typedef {import('./protocol.js').ChatMessage} ChatMessage */
/** @typedef {import('./protocol.js').Session} Session */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * button makes a small labelled button.
 * @param {string} label
 * @param {() => void} onclick
 * @param {string} [action] data-action for tests and styling
 */
function button(label, onclick, action) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'small';
  b.textContent = label;
  if (action) b.dataset.action = action;
  b.addEventListener('click', onclick);
  return b;
}

/** Sidebar owns the people panel and the chat panel. */
export class Sidebar {
  constructor() {
    /** @type {Session|null} */
    this.session = null;
    /** @type {Participant[]} */
    this.people = [];
    /** @type {Map<string, ChatMessage[]>} conversations: '' is the room, else the other person's ID */
    this.chats = new Map([['', []]]);
    /** @type {Map<string, number>} */
    this.unread = new Map();
    /** @type {Map<string, string>} names of people we chatted with, kept after they leave */
    this.names = new Map();
    this.current = '';
    $('chat-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const input = /** @type {HTMLInputElement} */ ($('chat-input'));
      const text = input.value.trim();
      if (!text || !this.session) return;
      this.session.chat(text, this.current || undefined);
      input.value = '';
    });
    $('chat-to').addEventListener('change', () => {
      this.open(/** @type {HTMLSelectElement} */ ($('chat-to')).value);
    });
  }

  /**
   * attach starts showing a (new) session; the room history is loaded.
   * @param {Session} s
   */
  attach(s) {
    this.session = s;
    const room = this.chats.get('') || [];
    const seen = new Set(room.map((m) => m.seq));
    for (const m of s.history) if (!seen.has(m.seq)) room.push(m);
    this.chats.set('', room);
    this.renderChat();
  }

  /** @returns {boolean} whether this browser is a moderator */
  isModerator() {
    return this.session?.role === 'moderator';
  }

  /**
   * setPeople re-renders the participant list.
   * @param {Participant[]} list
   * @param {boolean} locked
   */
  setPeople(list, locked) {
    this.people = list;
    for (const p of list) this.names.set(p.id, p.name);
    const phones = list.filter((p) => p.kind === 'phone').length;
    $('people-count').textContent = t('counts', { web: list.length - phones, phone: phones });
    $('people-badge').textContent = String(list.length);
    $('locked-note').hidden = !locked;
    const mod = this.isModerator();
    $('mod-tools').hidden = !mod;
    $('lock-room').textContent = t(locked ? 'unlock' : 'lock');
    $('lock-room').dataset.locked = String(locked);
    const ul = $('people-list');
    ul.replaceChildren(...list.map((p) => this.personItem(p, mod)));
    this.renderTargets();
  }

  /**
   * personItem is one row of the participant list.
   * @param {Participant} p
   * @param {boolean} mod
   */
  personItem(p, mod) {
    const s = /** @type {Session} */ (this.session);
    const li = document.createElement('li');
    li.dataset.person = p.id;
    li.dataset.role = p.role || 'participant';
    const name = document.createElement('span');
    name.className = 'person-name';
    const self = p.id === s.id;
    name.textContent = p.name + (self ? ` (${t('you')})` : '');
    // Only moderators ever get a caller's full number, and only when the
    // operator allows it (privacy.show_numbers_to_moderators).
    if (p.number) name.textContent += ` · ${p.number}`;
    const flags = document.createElement('span');
    flags.className = 'flags';
    /** @type {[boolean, string, string][]} */
    const marks = [
      [p.kind === 'phone', icons.phone, 'phoneCaller'],
      [p.role === 'moderator', icons.star, 'moderator'],
      [!!p.hand, icons.hand, 'handRaised'],
      [!!p.muted && !p.muteLocked, icons.micOff, 'muted'],
      [!!p.muteLocked, icons.micOff, 'muteLocked'],
    ];
    for (const [on, icon, label] of marks) {
      if (!on) continue;
      const m = document.createElement('span');
      m.innerHTML = icon;
      m.title = t(label);
      m.setAttribute('role', 'img');
      m.setAttribute('aria-label', t(label));
      flags.append(m);
    }
    const actions = document.createElement('span');
    actions.className = 'actions';
    if (!self && p.kind === 'web') actions.append(button(t('message'), () => this.open(p.id, true), 'message'));
    if (mod && !self) {
      if (!p.muted) actions.append(button(t('mute'), () => s.moderate('mute', p.id), 'mute'));
      const lock = p.muteLocked ? 'mute_unlock' : 'mute_lock';
      actions.append(button(t(p.muteLocked ? 'unlockMute' : 'lockMute'), () => s.moderate(lock, p.id), lock));
      if (p.kind === 'web' && p.role !== 'moderator') {
        actions.append(button(t('makeModerator'), () => s.moderate('make_moderator', p.id), 'make_moderator'));
      }
      actions.append(button(t('rename'), () => this.rename(p), 'rename'));
      actions.append(button(t(p.kind === 'phone' ? 'hangUp' : 'remove'), () => s.moderate('remove', p.id), 'remove'));
    }
    if (self) actions.append(button(t('rename'), () => this.rename(p), 'rename'));
    if (p.hand && (mod || self)) actions.append(button(t('lowerHand'), () => s.moderate('lower_hand', p.id), 'lower_hand'));
    li.append(name, flags, actions);
    return li;
  }

  /** @param {Participant} p */
  rename(p) {
    const name = prompt(t('newName'), p.name);
    if (name && name.trim()) this.session?.moderate('rename', p.id, name.trim());
  }

  /**
   * add stores a received chat message and updates unread counts.
   * @param {ChatMessage} m
   * @param {boolean} visible whether the chat panel is open
   */
  add(m, visible) {
    const s = /** @type {Session} */ (this.session);
    const key = !m.to ? '' : m.from === s.id ? m.to : m.from;
    if (m.from !== s.id) this.names.set(m.from, m.fromName);
    const list = this.chats.get(key) || [];
    list.push(m);
    this.chats.set(key, list);
    if (m.from !== s.id && !(visible && key === this.current)) this.unread.set(key, (this.unread.get(key) || 0) + 1);
    this.renderTargets();
    if (key === this.current) this.renderChat();
    this.renderBadge();
  }

  /**
   * open shows one conversation and marks it read.
   * @param {string} key '' for the room, else a participant ID
   * @param {boolean} [reveal] also open the chat panel
   */
  open(key, reveal) {
    this.current = key;
    if (reveal) document.dispatchEvent(new CustomEvent('dialroom:chat'));
    this.markRead();
    this.renderTargets();
    this.renderChat();
    /** @type {HTMLInputElement} */ ($('chat-input')).focus();
  }

  /** markRead clears the unread count of the shown conversation. */
  markRead() {
    this.unread.delete(this.current);
    this.renderTargets();
    this.renderBadge();
  }

  renderBadge() {
    let n = 0;
    for (const v of this.unread.values()) n += v;
    const badge = $('chat-badge');
    badge.textContent = String(n);
    badge.hidden = n === 0;
    $('chat-toggle').setAttribute('aria-label', `${t('chat')}${n ? ` (${t('newMessages', { n })})` : ''}`);
  }

  /** renderTargets fills the conversation picker: everyone, then each browser participant. */
  renderTargets() {
    const s = this.session;
    const sel = /** @type {HTMLSelectElement} */ ($('chat-to'));
    const keys = new Set(['']);
    for (const p of this.people) if (p.kind === 'web' && p.id !== s?.id) keys.add(p.id);
    for (const k of this.chats.keys()) keys.add(k);
    if (!keys.has(this.current)) this.current = '';
    sel.replaceChildren(
      ...[...keys].map((k) => {
        const o = document.createElement('option');
        o.value = k;
        const n = this.unread.get(k) || 0;
        o.textContent = (k ? this.names.get(k) || k : t('everyone')) + (n ? ` (${n})` : '');
        o.selected = k === this.current;
        return o;
      }),
    );
  }

  renderChat() {
    const s = this.session;
    const log = $('chat-log');
    const items = (this.chats.get(this.current) || []).map((m) => {
      const li = document.createElement('li');
      li.dataset.seq = String(m.seq);
      if (m.from === s?.id) li.className = 'mine';
      const head = document.createElement('div');
      head.className = 'chat-head';
      const who = m.from === s?.id ? t('you') : m.fromName;
      const when = new Date(m.time).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      head.textContent = `${who} · ${when}${m.to ? ` · ${t('privateFrom')}` : ''}`;
      const body = document.createElement('div');
      body.className = 'chat-text';
      body.textContent = m.text;
      li.append(head, body);
      return li;
    });
    log.replaceChildren(...items);
    log.scrollTop = log.scrollHeight;
  }
}
