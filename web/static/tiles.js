// @ts-check
// tiles.js arranges the participant tiles: a self-arranging grid or a
// speaker view (the pinned tile, else the active speaker, large), with pages
// when there are more tiles than fit. Tiles carry the test hooks data-kind,
// data-participant and data-speaking.
import { t } from './i18n.js';
import { icons } from './icons.js';

/** @typedef {import('./protocol.js').Participant} Participant */

/** Tiles per page in the grid, and in the speaker view's strip. */
const GRID_PAGE = 12;
const STRIP_PAGE = 6;

/** Tiles owns the #grid element. */
export class Tiles {
  /**
   * @param {HTMLElement} grid
   * @param {HTMLElement} pager with #prev-page, #page-label, #next-page
   */
  constructor(grid, pager) {
    this.grid = grid;
    this.pager = pager;
    /** @type {'grid'|'speaker'} */
    this.view = 'grid';
    this.pinned = '';
    this.active = '';
    this.page = 0;
    /** @type {() => void} called when tiles move, appear, vanish or change size */
    this.onlayout = () => {};
    this.resizes = new ResizeObserver(() => this.onlayout());
    this.resizes.observe(grid);
    /** @type {HTMLElement} */ (pager.querySelector('#prev-page')).addEventListener('click', () => this.turn(-1));
    /** @type {HTMLElement} */ (pager.querySelector('#next-page')).addEventListener('click', () => this.turn(1));
  }

  /** @param {string} id */
  tileOf(id) {
    return /** @type {HTMLElement|null} */ (this.grid.querySelector(`.tile[data-participant="${CSS.escape(id)}"]`));
  }

  /** @returns {HTMLElement[]} */
  all() {
    return /** @type {HTMLElement[]} */ ([...this.grid.querySelectorAll('.tile')]);
  }

  /**
   * make creates an empty tile for a participant.
   * @param {Participant} p
   * @param {string} label the name to show
   */
  make(p, label) {
    const tile = document.createElement('div');
    tile.className = 'tile';
    tile.dataset.participant = p.id;
    tile.dataset.kind = p.kind === 'phone' ? 'phone' : 'web';
    tile.dataset.speaking = String(p.kind === 'phone' && !!p.speaking);
    tile.setAttribute('role', 'group');
    tile.setAttribute('aria-label', label);
    const avatar = document.createElement('div');
    avatar.className = 'avatar';
    const bar = document.createElement('div');
    bar.className = 'label';
    const text = document.createElement('span');
    text.className = 'name';
    text.textContent = label;
    const badges = document.createElement('span');
    badges.className = 'badges';
    if (p.kind === 'phone') {
      avatar.innerHTML = icons.phone;
      bar.innerHTML = icons.phone;
    } else {
      avatar.textContent = label.slice(0, 1).toUpperCase();
    }
    bar.append(text, badges);
    const pin = document.createElement('button');
    pin.type = 'button';
    pin.className = 'pin';
    pin.setAttribute('aria-pressed', 'false');
    pin.addEventListener('click', () => this.pin(this.pinned === p.id ? '' : p.id));
    tile.append(avatar, bar, pin);
    this.grid.append(tile);
    this.resizes.observe(tile);
    this.labelPin(tile);
    this.layout();
    return tile;
  }

  /** relabel translates the tiles' own texts after a language switch. */
  relabel() {
    for (const tile of this.all()) this.labelPin(tile);
    this.layout();
  }

  /** @param {HTMLElement} tile */
  labelPin(tile) {
    const pin = /** @type {HTMLElement} */ (tile.querySelector('.pin'));
    const on = this.pinned === tile.dataset.participant;
    pin.setAttribute('aria-pressed', String(on));
    pin.textContent = t(on ? 'unpin' : 'pin');
    pin.setAttribute('aria-label', `${t(on ? 'unpin' : 'pin')}: ${tile.getAttribute('aria-label')}`);
  }

  /**
   * update shows a participant's name, muted state and raised hand.
   * @param {Participant} p
   * @param {string} label
   */
  update(p, label) {
    const tile = this.tileOf(p.id);
    if (!tile) return;
    /** @type {HTMLElement} */ (tile.querySelector('.name')).textContent = label;
    tile.setAttribute('aria-label', label);
    const badges = /** @type {HTMLElement} */ (tile.querySelector('.badges'));
    badges.innerHTML = (p.hand ? icons.hand : '') + (p.muted ? icons.micOff : '');
    tile.dataset.hand = String(!!p.hand);
    const sharing = !!p.sharing;
    if ((tile.dataset.sharing === 'true') !== sharing) {
      tile.dataset.sharing = String(sharing);
      if (sharing && this.view === 'grid' && tile.dataset.self !== 'true') this.setView('speaker'); // a new screen share is shown large
      this.layout();
    }
    tile.dataset.muted = String(!!p.muted);
    if (p.kind === 'phone') tile.dataset.speaking = String(!!p.speaking);
  }

  /**
   * setSpeaking marks a tile speaking; the latest speaker becomes the active one.
   * @param {string} id
   * @param {boolean} speaking
   */
  setSpeaking(id, speaking) {
    const tile = this.tileOf(id);
    if (!tile) return;
    tile.dataset.speaking = String(speaking);
    if (speaking && tile.dataset.self !== 'true' && this.active !== id) {
      this.active = id;
      this.layout();
    }
  }

  /**
   * setActive makes id the active speaker (the server's dominant speaker).
   * @param {string} id
   */
  setActive(id) {
    const tile = this.tileOf(id);
    if (!tile || tile.dataset.self === 'true' || this.active === id) return;
    this.active = id;
    this.layout();
  }

  /**
   * visible lists the other participants' tiles on screen with their size
   * in device pixels: the server sends video for these only, in the layer
   * that fits.
   * @returns {{id: string, w: number, h: number}[]}
   */
  visible() {
    if (document.hidden) return [];
    const dpr = window.devicePixelRatio || 1;
    const vw = window.innerWidth;
    const vh = window.innerHeight;
    /** @type {{id: string, w: number, h: number}[]} */
    const out = [];
    for (const tile of this.all()) {
      if (tile.hidden || tile.dataset.self === 'true' || tile.dataset.kind !== 'web') continue;
      const r = tile.getBoundingClientRect();
      if (r.width < 1 || r.height < 1 || r.right <= 0 || r.bottom <= 0 || r.left >= vw || r.top >= vh) continue;
      out.push({ id: tile.dataset.participant || '', w: Math.round(r.width * dpr), h: Math.round(r.height * dpr) });
    }
    return out;
  }

  /** @param {string} id */
  remove(id) {
    this.tileOf(id)?.remove();
    if (this.pinned === id) this.pinned = '';
    if (this.active === id) this.active = '';
  }

  /** @param {string} id '' unpins */
  pin(id) {
    this.pinned = id;
    for (const tile of this.all()) this.labelPin(tile);
    this.layout();
  }

  /** @param {'grid'|'speaker'} view */
  setView(view) {
    this.view = view;
    this.page = 0;
    this.grid.dataset.view = view;
    this.layout();
  }

  /** @param {number} d */
  turn(d) {
    this.page += d;
    this.layout();
  }

  /** layout orders the tiles, picks the main tile and shows one page. */
  layout() {
    const tiles = this.all();
    const main = this.view === 'speaker' ? this.mainTile(tiles) : null;
    for (const tile of tiles) {
      const id = tile.dataset.participant || '';
      tile.dataset.active = String(id === this.active);
      tile.classList.toggle('main', tile === main);
      tile.classList.toggle('pinned', id === this.pinned);
    }
    // The pinned tile leads the grid; the main tile is outside the strip.
    const rest = tiles.filter((x) => x !== main);
    rest.sort((a, b) => Number(b.dataset.participant === this.pinned) - Number(a.dataset.participant === this.pinned));
    const size = main ? STRIP_PAGE : GRID_PAGE;
    const pages = Math.max(1, Math.ceil(rest.length / size));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    rest.forEach((tile, i) => {
      tile.style.order = String(i + 1);
      tile.hidden = Math.floor(i / size) !== this.page;
    });
    if (main) {
      main.style.order = '0';
      main.hidden = false;
    }
    const shown = Math.min(size, rest.length - this.page * size);
    const cols = main ? Math.max(1, shown) : Math.max(1, Math.ceil(Math.sqrt(shown)));
    this.grid.style.setProperty('--cols', String(cols));
    this.pager.hidden = pages === 1;
    /** @type {HTMLElement} */ (this.pager.querySelector('#page-label')).textContent = t('pageOf', { page: this.page + 1, pages });
    /** @type {HTMLButtonElement} */ (this.pager.querySelector('#prev-page')).disabled = this.page === 0;
    /** @type {HTMLButtonElement} */ (this.pager.querySelector('#next-page')).disabled = this.page === pages - 1;
    this.onlayout();
  }

  /**
   * mainTile is the pinned tile, else a screen share, else the active
   * speaker, else the first other participant, else oneself.
   * @param {HTMLElement[]} tiles
   */
  mainTile(tiles) {
    const by = (/** @type {string} */ id) => tiles.find((x) => x.dataset.participant === id);
    const share = tiles.find((x) => x.dataset.sharing === 'true' && x.dataset.self !== 'true');
    return by(this.pinned) || share || by(this.active) || tiles.find((x) => x.dataset.self !== 'true') || tiles[0] || null;
  }
}
