// @ts-check
// quality.js shows a network-quality indicator per tile from the
// PeerConnection's statistics: packet loss and jitter of what we receive
// from each participant, and loss and round-trip time of what we send.
import { t } from './i18n.js';

/** @typedef {'good'|'fair'|'poor'} Level */

/**
 * level grades a loss fraction (0..1), jitter and round-trip time (seconds).
 * @param {number} loss
 * @param {number} jitter
 * @param {number} rtt
 * @returns {Level}
 */
export function level(loss, jitter, rtt) {
  if (loss > 0.08 || jitter > 0.1 || rtt > 0.5) return 'poor';
  if (loss > 0.02 || jitter > 0.03 || rtt > 0.25) return 'fair';
  return 'good';
}

/** Quality samples one session's statistics every two seconds. */
export class Quality {
  /** @param {(id: string) => HTMLElement|null} tileOf */
  constructor(tileOf) {
    this.tileOf = tileOf;
    /** @type {Map<string, {recv: number, lost: number}>} totals at the last sample, by participant */
    this.last = new Map();
    /** @type {number|undefined} */
    this.timer = undefined;
  }

  /** @param {import('./protocol.js').Session} s */
  start(s) {
    this.stop();
    this.last.clear();
    this.timer = setInterval(() => this.sample(s).catch(() => {}), 2000);
  }

  stop() {
    clearInterval(this.timer);
  }

  /** @param {import('./protocol.js').Session} s */
  async sample(s) {
    // Audio slots are not among s.streams: whose audio a slot carries is
    // the server's choice, so audio quality is graded only per-participant
    // tracks (video, phone callers, browsers' audio with last-N off).
    const owner = new Map();
    for (const [id, stream] of s.streams) for (const tr of stream.getTracks()) owner.set(tr.id, id);
    /** @type {Map<string, {recv: number, lost: number, jitter: number}>} */
    const now = new Map();
    let sendLoss = 0;
    let rtt = -1;
    const report = await s.pc.getStats();
    report.forEach((/** @type {any} */ r) => {
      if (r.type === 'inbound-rtp' && owner.has(r.trackIdentifier)) {
        const id = owner.get(r.trackIdentifier);
        const v = now.get(id) || { recv: 0, lost: 0, jitter: 0 };
        v.recv += r.packetsReceived || 0;
        v.lost += Math.max(0, r.packetsLost || 0);
        v.jitter = Math.max(v.jitter, r.jitter || 0);
        now.set(id, v);
      } else if (r.type === 'remote-inbound-rtp') {
        sendLoss = Math.max(sendLoss, r.fractionLost || 0);
        if (typeof r.roundTripTime === 'number') rtt = Math.max(rtt, r.roundTripTime);
      }
    });
    for (const [id, v] of now) {
      const prev = this.last.get(id) || { recv: 0, lost: 0 };
      this.last.set(id, { recv: v.recv, lost: v.lost });
      const recv = v.recv - prev.recv;
      const lost = v.lost - prev.lost;
      if (recv <= 0) continue; // silent (a phone caller who does not talk sends nothing)
      this.show(id, level(lost / (recv + lost), v.jitter, 0));
    }
    if (rtt >= 0) this.show(s.id, level(sendLoss, 0, rtt));
  }

  /**
   * show puts the grade on the tile.
   * @param {string} id
   * @param {Level} l
   */
  show(id, l) {
    const tile = this.tileOf(id);
    if (!tile) return;
    let dot = /** @type {HTMLElement|null} */ (tile.querySelector('.quality'));
    if (!dot) {
      dot = document.createElement('span');
      dot.className = 'quality';
      dot.setAttribute('role', 'img');
      tile.append(dot);
    }
    tile.dataset.quality = l;
    const label = t(`quality_${l}`);
    dot.title = label;
    dot.setAttribute('aria-label', label);
  }
}
