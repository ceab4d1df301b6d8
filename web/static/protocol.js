// @ts-check
// protocol.js speaks dialroom's signalling (docs/protocol.md) over a
// WebSocket and drives one RTCPeerConnection. It touches no DOM.

/**
 * @typedef {{id: string, name: string, kind: 'web'|'phone', speaking: boolean, muted?: boolean, muteLocked?: boolean, role?: string, hand?: boolean, sharing?: boolean}} Participant
 * @typedef {{slug: string, name: string}} RoomInfo
 * @typedef {{seq: number, from: string, fromName: string, to?: string, text: string, time: number}} ChatMessage
 */

/** Session is one browser's membership in one room. */
export class Session {
  /**
   * @param {string} url WebSocket URL of /ws
   * @param {MediaStream|null} local the tracks to publish (may be null)
   */
  constructor(url, local) {
    /** @type {(id: string, room: RoomInfo) => void} */
    this.onjoined = () => {};
    /** @type {(participants: Participant[]) => void} */
    this.onroster = () => {};
    /** @type {(id: string, speaking: boolean) => void} */
    this.onspeaking = () => {};
    /** @type {(participantId: string, stream: MediaStream) => void} */
    this.onstream = () => {};
    /** @type {(code: string, message: string) => void} */
    this.onerror = () => {};
    /** @type {() => void} */
    this.onclose = () => {};
    /** @type {(m: ChatMessage) => void} */
    this.onchat = () => {};
    /** @type {(action: string, by: string) => void} what a moderator did to us */
    this.oncontrol = () => {};

    /** @type {string} 'moderator' or 'participant' */
    this.role = 'participant';
    this.locked = false;
    /** @type {ChatMessage[]} recent room chat received with joined */
    this.history = [];
    /** @type {string} set when the server ended our membership (removed, ended, room_locked) */
    this.ended = '';

    /** @type {string} */
    this.id = '';
    /** @type {Map<string, Participant>} */
    this.participants = new Map();
    /** @type {Map<string, MediaStream>} remote streams by participant ID */
    this.streams = new Map();
    this.rev = -1;
    /** @type {Promise<void>} serialises offer handling */
    this.chain = Promise.resolve();
    this.url = url;

    this.pc = new RTCPeerConnection({ iceServers: [] });
    if (local) {
      for (const track of local.getTracks()) this.pc.addTrack(track, local);
    }
    this.pc.ontrack = (e) => {
      const stream = e.streams[0];
      if (!stream) return;
      this.streams.set(stream.id, stream);
      this.onstream(stream.id, stream);
    };
    this.pc.onicecandidate = (e) => {
      if (e.candidate) this.send({ type: 'candidate', candidate: e.candidate.toJSON() });
    };
    /** @type {WebSocket|null} */
    this.ws = null;
  }

  /**
   * join opens the WebSocket and asks to join room under name.
   * @param {string} room room slug
   * @param {string} name display name
   * @param {string} [mod] moderator token from the ?mod= link
   * @returns {Promise<void>} resolves once the socket is open
   */
  join(room, name, mod) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url);
      this.ws = ws;
      ws.onopen = () => {
        this.send(mod ? { type: 'join', room, name, mod } : { type: 'join', room, name });
        resolve();
      };
      ws.onerror = () => reject(new Error('websocket error'));
      ws.onclose = () => this.onclose();
      ws.onmessage = (e) => this.receive(String(e.data));
    });
  }

  /** @param {object} msg */
  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** @param {boolean} muted */
  setMuted(muted) {
    this.send({ type: 'mute', muted });
  }

  /**
   * chat sends text to the room, or privately to participant to.
   * @param {string} text
   * @param {string} [to]
   */
  chat(text, to) {
    this.send(to ? { type: 'chat', to, text } : { type: 'chat', text });
  }

  /** @param {boolean} on whether the video track now carries the screen */
  setSharing(on) {
    this.send({ type: 'share', on });
  }

  /** @param {boolean} raised */
  setHand(raised) {
    this.send({ type: 'hand', raised });
  }

  /**
   * moderate asks for a moderator action (see docs/protocol.md).
   * @param {string} action mute, mute_all, mute_lock, mute_unlock, rename, remove, make_moderator, lower_hand, lock, unlock, end
   * @param {string} [target] participant ID
   * @param {string} [name] new name for rename
   */
  moderate(action, target, name) {
    this.send({ type: 'moderate', action, target, name });
  }

  /** leave tells the server and closes everything. */
  leave() {
    this.send({ type: 'leave' });
    if (this.ws) this.ws.close();
    this.pc.close();
  }

  /** @param {string} data */
  receive(data) {
    /** @type {any} */
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    switch (msg.type) {
      case 'offer':
        this.chain = this.chain.then(() => this.answer(msg.sdp)).catch((err) => this.onerror('negotiation', String(err)));
        break;
      case 'joined':
        this.id = msg.id;
        this.role = msg.role || 'participant';
        this.history = msg.history || [];
        this.onjoined(msg.id, msg.room);
        this.roster(msg.rev, msg.participants, !!msg.locked);
        break;
      case 'roster':
        this.roster(msg.rev, msg.participants, !!msg.locked);
        break;
      case 'chat':
        this.onchat(msg);
        break;
      case 'control':
        if (msg.action !== 'mute') this.ended = msg.action;
        this.oncontrol(msg.action, msg.by || '');
        break;
      case 'speaking': {
        const p = this.participants.get(msg.id);
        if (p) p.speaking = !!msg.speaking;
        this.onspeaking(msg.id, !!msg.speaking);
        break;
      }
      case 'error':
        if (msg.code === 'room_locked') this.ended = msg.code;
        this.onerror(msg.code, msg.message);
        break;
    }
  }

  /**
   * @param {string} sdp the server's offer
   */
  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: 'offer', sdp });
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    this.send({ type: 'answer', sdp: this.pc.localDescription?.sdp ?? answer.sdp });
  }

  /**
   * @param {number} rev
   * @param {Participant[]} list
   * @param {boolean} locked
   */
  roster(rev, list, locked) {
    if (rev < this.rev) return; // an older roster that arrived late
    this.rev = rev;
    this.locked = locked;
    const me = (list || []).find((p) => p.id === this.id);
    if (me && me.role) this.role = me.role;
    this.participants = new Map((list || []).map((p) => [p.id, p]));
    for (const id of this.streams.keys()) {
      if (!this.participants.has(id)) this.streams.delete(id);
    }
    this.onroster([...this.participants.values()]);
  }
}
