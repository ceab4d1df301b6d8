// @ts-check
// lobby.js shows a guest's wait in a room's lobby and, for moderators, the
// guests waiting with Admit and Deny (docs/protocol.md, "Lobby"). It reads
// the Session's lobby and lobby_list messages and owns only the elements it
// makes: the waiting screen and the moderators' lobby panel.
import { t } from './i18n.js';

/** @typedef {import('./protocol.js').Session} Session */
/** @typedef {{id: string, name: string}} Guest */
/** @typedef {{rejoin: () => void, end: (text: string) => void}} LobbyHooks */

/**
 * make creates an element with a class, an id and text.
 * @param {string} tag
 * @param {string} [id]
 * @param {string} [cls]
 * @param {string} [text]
 */
function make(tag, id, cls, text) {
  const e = document.createElement(tag);
  if (id) e.id = id;
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  return e;
}

/** Lobby owns the waiting screen and the lobby panel. */
export class Lobby {
  constructor() {
    this.screen = make('section', 'lobby-screen', 'card');
    this.screen.hidden = true;
    this.title = make('h1', '', '', document.body.dataset.roomName || '');
    this.text = make('p', 'lobby-text', '');
    this.text.setAttribute('role', 'status');
    this.text.setAttribute('aria-live', 'polite');
    this.leaveButton = /** @type {HTMLButtonElement} */ (make('button', 'lobby-leave', ''));
    this.leaveButton.type = 'button';
    this.screen.append(this.title, this.text, this.leaveButton);
    document.getElementById('join-screen')?.after(this.screen);

    this.panel = make('section', 'lobby-panel', 'card');
    this.panel.hidden = true;
    this.panel.setAttribute('aria-labelledby', 'lobby-count');
    Object.assign(this.panel.style, { position: 'fixed', top: '4rem', right: '1rem', zIndex: '5', maxWidth: '20rem', maxHeight: '60vh', overflow: 'auto' });
    this.count = make('h2', 'lobby-count', '');
    Object.assign(this.count.style, { margin: '0 0 .5rem', fontSize: '1.1rem' });
    this.list = make('ul', 'lobby-list', 'people-list');
    this.admitAll = /** @type {HTMLButtonElement} */ (make('button', 'lobby-admit-all', 'small primary'));
    this.admitAll.type = 'button';
    this.admitAll.dataset.action = 'admit-all';
    this.panel.append(this.count, this.list, this.admitAll);
    document.getElementById('room-screen')?.append(this.panel);

    /** @type {Session|null} */
    this.session = null;
    /** @type {string} the guest's last lobby state ('' = not in the lobby) */
    this.state = '';
    this.moderator = false;
    /** @type {Guest[]} */
    this.waiting = [];
    this.rev = -1;
    this.admitAll.addEventListener('click', () => this.session?.send({ type: 'admit', all: true }));
    this.leaveButton.addEventListener('click', () => {
      const s = this.session;
      if (!s) return;
      s.ended = 'lobby_left';
      s.leave();
      this.end(t('lobbyLeft'));
    });
    /** @type {(text: string) => void} */
    this.end = () => {};
    this.relabel();
  }

  /**
   * attach follows the lobby messages of s.
   * @param {Session} s
   * @param {LobbyHooks} hooks rejoin sends the join again once admitted; end shows why the wait ended
   */
  attach(s, hooks) {
    this.session = s;
    this.state = '';
    this.rev = -1;
    this.waiting = [];
    this.end = (text) => {
      this.screen.hidden = true;
      hooks.end(text);
    };
    this.render();
    const receive = s.receive.bind(s);
    s.receive = (/** @type {string} */ data) => {
      this.receive(s, data, hooks);
      receive(data);
    };
  }

  /**
   * @param {Session} s
   * @param {string} data
   * @param {LobbyHooks} hooks
   */
  receive(s, data, hooks) {
    if (s !== this.session) return;
    /** @type {any} */
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'lobby':
        this.status(s, String(msg.state), !!msg.moderator, hooks);
        break;
      case 'lobby_list':
        if (msg.rev < this.rev) return; // an older list that arrived late
        this.rev = msg.rev;
        this.waiting = Array.isArray(msg.waiting) ? msg.waiting : [];
        this.render();
        break;
      case 'joined':
        this.state = '';
        this.screen.hidden = true;
        break;
    }
  }

  /**
   * status shows the guest's wait.
   * @param {Session} s
   * @param {string} state waiting, admitted, denied or timeout
   * @param {boolean} moderator a moderator is in the room
   * @param {LobbyHooks} hooks
   */
  status(s, state, moderator, hooks) {
    this.state = state;
    this.moderator = moderator;
    if (state === 'denied' || state === 'timeout') {
      s.ended = `lobby_${state}`;
      this.end(t(state === 'denied' ? 'lobbyDenied' : 'lobbyTimeout'));
      return;
    }
    for (const id of ['join-screen', 'room-screen']) document.getElementById(id)?.setAttribute('hidden', '');
    this.screen.hidden = false;
    this.relabel();
    if (state === 'admitted') hooks.rejoin();
  }

  /** render shows the moderators' list of waiting guests. */
  render() {
    this.panel.hidden = this.waiting.length === 0;
    this.count.textContent = t('lobbyCount', { n: this.waiting.length });
    this.list.replaceChildren(...this.waiting.map((g) => {
      const li = make('li', '', 'person');
      li.dataset.guest = g.id;
      const name = make('span', '', 'name', g.name);
      const admit = make('button', '', 'small primary', t('admit'));
      admit.dataset.action = 'admit';
      admit.addEventListener('click', () => this.session?.send({ type: 'admit', id: g.id }));
      const deny = make('button', '', 'small danger', t('deny'));
      deny.dataset.action = 'deny';
      deny.addEventListener('click', () => this.session?.send({ type: 'deny', id: g.id }));
      li.append(name, admit, deny);
      return li;
    }));
  }

  /** relabel translates the lobby's texts after a language change. */
  relabel() {
    this.text.textContent = t(this.state === 'admitted' ? 'lobbyAdmitted' : this.moderator ? 'lobbyWaiting' : 'lobbyNoModerator');
    this.leaveButton.textContent = t('leave');
    this.admitAll.textContent = t('admitAll');
    this.render();
  }
}
